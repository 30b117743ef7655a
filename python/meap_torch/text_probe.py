"""Port of src/data/textProbe.ts: zero-shot needle prompts in the generated corpus's language (the
pretrain-then-probe study), and their greedy scoring: right when every answer character is the argmax."""
import math

import torch

from .corpus import ADJECTIVES, DAYS, FOODS, JOBS, PETS, PLACES, TOWN_ENDINGS, article, invent_name, pick
from .needle import AFTER, ANSWER, BEFORE, NEEDLE, QUERY_SEGMENT
from .rng import Rng
from .tasks import EvalSet
from .text_task import UNK, CharTokenizer


def js_round(x: float) -> int:
    """Math.round: halves round up (Python's round() rounds them to even)."""
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


def _unique(make, taken: set) -> str:
    while True:
        name = make()
        if name not in taken:
            taken.add(name)
            return name


def _person(rng, taken: set) -> dict:
    p = {"name": _unique(lambda: invent_name(rng, 2 + rng.int(2)), taken)}
    p["town"] = _unique(lambda: invent_name(rng, 1 + rng.int(2)) + pick(rng, TOWN_ENDINGS), taken)
    p["job"] = pick(rng, JOBS)
    p["age"] = 8 + rng.int(82)
    p["food"] = pick(rng, FOODS)
    p["pet"] = pick(rng, PETS)
    p["petName"] = _unique(lambda: invent_name(rng, 1 + rng.int(2)), taken)
    return p


def _filler_sentence(rng, cast: list) -> str:
    p = pick(rng, cast)
    q = pick(rng, [o for o in cast if o is not p]) if len(cast) > 1 else p
    k = rng.int(10)
    n = p["name"]
    return [
        lambda: f"{n} lives in {p['town']}.",
        lambda: f"{n} is {article(p['job'])}.",
        lambda: f"{n} is {p['age']} years old.",
        lambda: f"{n} likes {p['food']}.",
        lambda: f"{n} has {article(p['pet'])} called {p['petName']}.",
        lambda: f"What does {n} do? {n} is {article(p['job'])}.",
        lambda: f"On {pick(rng, DAYS)}, {n} and {q['name']} went to {q['town']}.",
        lambda: f"{n} met {q['name']} at the {pick(rng, PLACES)}.",
        lambda: f"It was {article(pick(rng, ADJECTIVES))} day in {p['town']}.",
        lambda: f"{n} gave {p['petName']} some {p['food']}.",
    ][min(k, 9)]()


def _make_prompt(rng, T: int, bucket: int, buckets: int, max_answer: int):
    taken = set()
    target = _person(rng, taken)
    cast = [_person(rng, taken) for _ in range(2 + rng.int(3))]
    needle = f"{target['name']} lives in {target['town']}. "
    query = f"Where does {target['name']} live? {target['name']} lives in "
    answer = target["town"]
    if len(answer) > max_answer:
        return None
    filler_total = T + 1 - len(needle) - len(query) - len(answer)
    if filler_total < 0:
        return None
    target_before = js_round(((bucket + rng.next()) / buckets) * filler_total)
    after = ""
    tries = 0
    while tries < 40 and len(after) < filler_total - target_before:
        sentence = f"{_filler_sentence(rng, cast)} "
        if len(after) + len(sentence) <= filler_total - target_before:
            after += sentence
        tries += 1
    before_length = filler_total - len(after)
    depth = 0 if filler_total == 0 else before_length / filler_total
    if min(buckets - 1, math.floor(depth * buckets)) != bucket:
        return None
    before = ""
    while len(before) < before_length:
        before += f"{_filler_sentence(rng, cast)} "
    before = before[len(before) - before_length:]
    text = before + needle + after + query + answer
    segments = ([BEFORE] * len(before) + [NEEDLE] * (len(needle) - 1) + [AFTER] + [AFTER] * len(after)
                + [QUERY_SEGMENT] * len(query) + [ANSWER] * len(answer))
    return text, segments, len(answer)


def text_probe_set(alphabet: str, count: int, T: int, buckets: int, seed: int, max_answer: int) -> EvalSet:
    """The probe prompts as an EvalSet: answer_positions = the row predicting the answer's first character
    (answer_start - 1), answers = the answer's length in characters (scored by probe_correct)."""
    tokenizer = CharTokenizer(alphabet)
    rng = Rng(seed)
    tokens, segments, starts, lengths, bucket_of = [], [], [], [], []
    for i in range(count):
        bucket = i % buckets
        made = None
        attempt = 0
        while attempt < 2000 and made is None:
            made = _make_prompt(rng, T, bucket, buckets, max_answer)
            attempt += 1
        if made is None:
            raise ValueError(f"text probe: cannot fit a prompt at depth bucket {bucket} of {buckets} into T + 1 = {T + 1} characters")
        text, segs, answer_length = made
        ids = tokenizer.encode(text)
        if UNK in ids:
            raise ValueError("text probe: the tokenizer's alphabet lacks a character of the corpus language")
        tokens += ids
        segments += segs
        starts.append(T + 1 - answer_length)
        lengths.append(answer_length)
        bucket_of.append(bucket)
    return EvalSet(count, T, tokens, segments, [s - 1 for s in starts], lengths, bucket_of, buckets, True)


@torch.no_grad()
def zero_shot_retrieval(model, probe: EvalSet, device) -> tuple:
    """(accuracy, accuracy by depth bucket): prompts whose every answer character is the greedy argmax."""
    T = probe.T
    correct = [0] * probe.bucket_count
    total = [0] * probe.bucket_count
    for i in range(probe.count):
        block = torch.tensor(probe.tokens[i * (T + 1):(i + 1) * (T + 1)], dtype=torch.long, device=device)
        logits = model(block[:-1].view(1, T))[0]
        first = probe.answer_positions[i]
        right = bool((logits[first:T].argmax(-1) == block[first + 1:T + 1]).all())
        total[probe.buckets[i]] += 1
        correct[probe.buckets[i]] += int(right)
    return sum(correct) / probe.count, [c / t if t > 0 else 0 for c, t in zip(correct, total)]

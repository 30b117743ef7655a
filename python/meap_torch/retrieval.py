"""Ports of src/data/recallTask.ts, src/data/multidocTask.ts and src/data/qaTask.ts (with src/data/retrievalLayout.ts)."""
import math

from .needle import AFTER, ANSWER, BEFORE, NEEDLE, QUERY_SEGMENT
from .vocab import COLON, DOC, QUERY


def draw_distinct(rng, n: int, k: int) -> list:
    pool = list(range(n))
    for i in range(k):
        j = i + rng.int(n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def draw_facts(rng, vocab, k: int) -> tuple:
    keys = [vocab.key_start + i for i in draw_distinct(rng, vocab.key_count, k)]
    values = [vocab.value_start + i for i in draw_distinct(rng, vocab.value_count, k)]
    return keys, values


def _filler(rng, vocab) -> int:
    return vocab.filler_start + rng.int(vocab.filler_count)


def ordinal_bucket(o: int, n: int, buckets: int) -> int:
    return (o * buckets) // n


def ordinal_for_bucket(rng, bucket: int, n: int, buckets: int) -> int:
    lo = math.ceil((bucket * n) / buckets)
    hi = math.ceil(((bucket + 1) * n) / buckets)
    return lo + rng.int(hi - lo)


def min_recall_context(pairs: int) -> int:
    return 3 * pairs + 3 - 1


def min_multidoc_context(documents: int) -> int:
    return 4 * documents + 3 - 1


def write_recall(tokens: list, segments: list, vocab, pairs: int, rng, T: int, q: int) -> None:
    filler_total = T + 1 - (3 * pairs + 3)
    items = filler_total + pairs
    is_pair = [False] * items
    for slot in draw_distinct(rng, items, pairs):
        is_pair[slot] = True
    keys, values = draw_facts(rng, vocab, pairs)
    ordinal = 0
    for item in range(items):
        segment = BEFORE if ordinal <= q else AFTER
        if not is_pair[item]:
            tokens.append(_filler(rng, vocab))
            segments.append(segment)
            continue
        tokens += [keys[ordinal], COLON, values[ordinal]]
        segments += [NEEDLE if ordinal == q else segment] * 3
        ordinal += 1
    tokens += [QUERY, keys[q], values[q]]
    segments += [QUERY_SEGMENT, QUERY_SEGMENT, ANSWER]


def write_multidoc(tokens: list, segments: list, vocab, documents: int, rng, T: int, answer_doc: int) -> None:
    filler_total = T + 1 - (4 * documents + 3)
    keys, values = draw_facts(rng, vocab, documents)
    for d in range(documents):
        words = ((d + 1) * filler_total) // documents - (d * filler_total) // documents
        lead = rng.int(words + 1)
        early = BEFORE if d <= answer_doc else AFTER
        late = BEFORE if d < answer_doc else AFTER
        tokens.append(DOC)
        for _ in range(lead):
            tokens.append(_filler(rng, vocab))
        tokens += [keys[d], COLON, values[d]]
        for _ in range(lead, words):
            tokens.append(_filler(rng, vocab))
        segments += [early] * (1 + lead) + [NEEDLE if d == answer_doc else late] * 3 + [late] * (words - lead)
    tokens += [QUERY, keys[answer_doc], values[answer_doc]]
    segments += [QUERY_SEGMENT, QUERY_SEGMENT, ANSWER]


def min_qa_context(documents: int, answer_max: int) -> int:
    return documents * (3 + answer_max) + 2 + answer_max - 1


def write_qa(tokens: list, segments: list, vocab, shape: tuple, rng, T: int, answer_doc: int) -> None:
    """One qa block (src/data/qaTask.ts): documents with `K : phrase` facts, then `? K_i` and phrase i ending at T.

    shape = (documents, answer_min, answer_max). Draw order as the engine's drawQaFacts: keys, first words,
    then per document its length and its other words (distinct, skipping its first word), then the layout.
    """
    documents, answer_min, answer_max = shape
    if T < min_qa_context(documents, answer_max):
        raise ValueError(f"qa task needs a context T >= {min_qa_context(documents, answer_max)}, got {T}")
    keys = [vocab.key_start + i for i in draw_distinct(rng, vocab.key_count, documents)]
    phrases = []
    for first in draw_distinct(rng, vocab.value_count, documents):
        length = answer_min + rng.int(answer_max - answer_min + 1)
        rest = [i + 1 if i >= first else i for i in draw_distinct(rng, vocab.value_count - 1, length - 1)]
        phrases.append([vocab.value_start + i for i in [first] + rest])
    answer = phrases[answer_doc]
    filler_total = T + 1 - (sum(3 + len(p) for p in phrases) + 2 + len(answer))
    for d in range(documents):
        words = ((d + 1) * filler_total) // documents - (d * filler_total) // documents
        lead = rng.int(words + 1)
        early = BEFORE if d <= answer_doc else AFTER
        late = BEFORE if d < answer_doc else AFTER
        tokens.append(DOC)
        for _ in range(lead):
            tokens.append(_filler(rng, vocab))
        tokens += [keys[d], COLON] + phrases[d]
        for _ in range(lead, words):
            tokens.append(_filler(rng, vocab))
        fact = NEEDLE if d == answer_doc else late
        segments += [early] * (1 + lead) + [fact] * (2 + len(phrases[d])) + [late] * (words - lead)
    tokens += [QUERY, keys[answer_doc]] + answer
    segments += [QUERY_SEGMENT, QUERY_SEGMENT] + [ANSWER] * len(answer)


def qa_answer_span(block, T: int) -> tuple:
    """(start, length) of a qa block's answer: after the key that follows the last `?`, ending at T."""
    for p in range(T, -1, -1):
        if block[p] == QUERY:
            if p + 2 > T:
                raise ValueError(f"qa answer span: the last query (? at {p}) leaves no answer before {T}")
            return p + 2, T - p - 1
    raise ValueError("qa answer span: the block has no query (no ? token), so it has no answer")


def retrieval_training_batch(write, vocab, n: int, B: int, T: int, rng) -> list:
    tokens = []
    for _ in range(B):
        q = rng.int(n)  # drawn before the example, as the engine's argument order does
        write(tokens, [], vocab, n, rng, T, q)
    return tokens


def retrieval_eval_set(write, vocab, n: int, count: int, T: int, buckets: int, rng) -> tuple:
    if not (1 <= buckets <= n):
        raise ValueError(f"evaluation buckets must be in 1..{n}, got {buckets}")
    tokens, segments, bucket_of = [], [], []
    for b in range(count):
        q = ordinal_for_bucket(rng, b % buckets, n, buckets)
        write(tokens, segments, vocab, n, rng, T, q)
        bucket_of.append(ordinal_bucket(q, n, buckets))
    return tokens, segments, bucket_of

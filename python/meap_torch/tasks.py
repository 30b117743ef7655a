"""Port of src/data/task.ts createTask: needle, recall, multidoc, qa and text."""
from dataclasses import dataclass, field
from typing import Callable, List, Optional

from . import needle, retrieval, text_task
from .protected_segments import protected_input_positions
from .rng import Rng
from .vocab import needle_vocab


@dataclass
class EvalSet:
    count: int
    T: int
    tokens: List[int]            # [count * (T + 1)]
    segments: List[int]          # [count * (T + 1)] segment labels (needle.py); all 0 for text
    answer_positions: List[int]  # input position whose prediction is the answer
    answers: List[int]
    buckets: List[int]
    bucket_count: int
    has_retrieval: bool
    answer_lengths: Optional[List[int]] = None  # qa: the phrase length of each example; None = 1 token each


@dataclass
class Task:
    name: str
    vocab_size: int
    mask_id: int
    query_length: int
    training_batch: Callable  # (rng, B, T) -> [B * (T + 1)] token ids
    eval_set: Callable        # (count, T, buckets, seed) -> EvalSet
    ordinary_ids: List[int] = field(default_factory=list)  # replace: random draws from these (all but specials)
    filler_ids: Optional[List[int]] = None                 # replace: random-filler draws from these; None for text
    # Retrieval tasks: (block, T, segments) -> the input positions (< T, increasing) the `protect` control keeps.
    protected_inputs: Optional[Callable] = None
    key_ids: Optional[List[int]] = None  # retrieval tasks: the key ids in order (the analyses' key-swap probe)


def _retrieval_controls(task: Task, vocab, answer_start=lambda block, T: T) -> Task:
    """What every task on the synthetic retrieval vocabulary shares (task.ts retrievalControls)."""
    task.ordinary_ids = list(range(vocab.filler_start, vocab.size))
    task.filler_ids = list(range(vocab.filler_start, vocab.filler_start + vocab.filler_count))
    task.key_ids = list(range(vocab.key_start, vocab.key_start + vocab.key_count))
    task.protected_inputs = lambda block, T, segments: protected_input_positions(block, T, answer_start(block, T), segments)
    return task


def _retrieval_eval(make, count: int, T: int, buckets: int, seed: int) -> EvalSet:
    tokens, segments, bucket_of = make(count, T, buckets, Rng(seed))
    answers = [tokens[i * (T + 1) + T] for i in range(count)]
    return EvalSet(count, T, tokens, segments, [T - 1] * count, answers, bucket_of, buckets, True)


def create_task(name: str, options: dict) -> Task:
    if name == "text":
        return _text_task(options)
    if name == "qa":
        return _qa_task(options)
    if name not in ("needle", "recall", "multidoc"):
        raise ValueError(f"unknown task {name!r}")
    vocab = needle_vocab(options["fillerWords"], options["keys"], options["values"])
    if name == "needle":
        return _retrieval_controls(Task(
            "needle", vocab.size, vocab.mask_id, 2,
            lambda rng, B, T: needle.needle_training_batch(vocab, B, T, rng),
            lambda count, T, buckets, seed: _retrieval_eval(
                lambda c, t, k, rng: needle.needle_eval_set(vocab, c, t, k, rng), count, T, buckets, seed)), vocab)
    write = retrieval.write_recall if name == "recall" else retrieval.write_multidoc
    n = options["pairs"] if name == "recall" else options["documents"]
    return _retrieval_controls(Task(
        name, vocab.size, vocab.mask_id, 2,
        lambda rng, B, T: retrieval.retrieval_training_batch(write, vocab, n, B, T, rng),
        lambda count, T, buckets, seed: _retrieval_eval(
            lambda c, t, k, rng: retrieval.retrieval_eval_set(write, vocab, n, c, t, k, rng),
            count, T, buckets, seed)), vocab)


def _qa_task(options: dict) -> Task:
    vocab = needle_vocab(options["fillerWords"], options["keys"], options["values"])
    shape = (options["documents"], options["answerMin"], options["answerMax"])
    documents = shape[0]

    def write(tokens, segments, vocab_, _n, rng, T, answer_doc):
        retrieval.write_qa(tokens, segments, vocab_, shape, rng, T, answer_doc)

    def eval_set(count: int, T: int, buckets: int, seed: int) -> EvalSet:
        tokens, segments, bucket_of = retrieval.retrieval_eval_set(write, vocab, documents, count, T, buckets, Rng(seed))
        spans = [retrieval.qa_answer_span(tokens[i * (T + 1):(i + 1) * (T + 1)], T) for i in range(count)]
        return EvalSet(count, T, tokens, segments, [start - 1 for start, _ in spans],
                       [tokens[i * (T + 1) + start] for i, (start, _) in enumerate(spans)], bucket_of, buckets, True,
                       [length for _, length in spans])

    return _retrieval_controls(Task(
        "qa", vocab.size, vocab.mask_id, 2,
        lambda rng, B, T: retrieval.retrieval_training_batch(write, vocab, documents, B, T, rng), eval_set),
        vocab, lambda block, T: retrieval.qa_answer_span(block, T)[0])


def _text_task(options: dict) -> Task:
    tokenizer = text_task.CharTokenizer(options["alphabet"])
    train, held_out = text_task.text_streams(options, tokenizer)

    def eval_set(count: int, T: int, _buckets: int, seed: int) -> EvalSet:
        tokens = text_task.text_eval_windows(held_out, count, T, seed)
        answers = [tokens[i * (T + 1) + T] for i in range(count)]
        return EvalSet(count, T, tokens, [0] * len(tokens), [T - 1] * count, answers, [0] * count, 1, False)

    return Task("text", tokenizer.size, text_task.MASK, 0,
                lambda rng, B, T: text_task.text_training_batch(train, B, T, rng), eval_set,
                ordinary_ids=list(range(text_task.SPECIAL_COUNT, tokenizer.size)))

"""Port of src/data/task.ts createTask for the retrieval tasks (needle, recall, multidoc).

The text task (character corpus) is not ported yet: create_task names it and refuses.
"""
from dataclasses import dataclass
from typing import Callable, List

from . import needle, retrieval
from .rng import Rng
from .vocab import needle_vocab


@dataclass
class EvalSet:
    count: int
    T: int
    tokens: List[int]            # [count * (T + 1)]
    answer_positions: List[int]  # input position whose prediction is the answer
    answers: List[int]
    buckets: List[int]
    bucket_count: int
    has_retrieval: bool


@dataclass
class Task:
    name: str
    vocab_size: int
    mask_id: int
    query_length: int
    training_batch: Callable  # (rng, B, T) -> [B * (T + 1)] token ids
    eval_set: Callable        # (count, T, buckets, seed) -> EvalSet


def _retrieval_eval(make, count: int, T: int, buckets: int, seed: int) -> EvalSet:
    tokens, bucket_of = make(count, T, buckets, Rng(seed))
    answers = [tokens[i * (T + 1) + T] for i in range(count)]
    return EvalSet(count, T, tokens, [T - 1] * count, answers, bucket_of, buckets, True)


def create_task(name: str, options: dict) -> Task:
    if name not in ("needle", "recall", "multidoc"):
        raise NotImplementedError(f"the {name} task is not ported to meap_torch yet (needle, recall, multidoc are)")
    vocab = needle_vocab(options["fillerWords"], options["keys"], options["values"])
    if name == "needle":
        return Task("needle", vocab.size, vocab.mask_id, 2,
                    lambda rng, B, T: needle.needle_training_batch(vocab, B, T, rng),
                    lambda count, T, buckets, seed: _retrieval_eval(
                        lambda c, t, k, rng: needle.needle_eval_set(vocab, c, t, k, rng), count, T, buckets, seed))
    write = retrieval.write_recall if name == "recall" else retrieval.write_multidoc
    n = options["pairs"] if name == "recall" else options["documents"]
    return Task(name, vocab.size, vocab.mask_id, 2,
                lambda rng, B, T: retrieval.retrieval_training_batch(write, vocab, n, B, T, rng),
                lambda count, T, buckets, seed: _retrieval_eval(
                    lambda c, t, k, rng: retrieval.retrieval_eval_set(write, vocab, n, c, t, k, rng),
                    count, T, buckets, seed))

"""Port of src/data/needleTask.ts: filler x d . K : V . filler x a . ? K V, each block T + 1 tokens."""
import math

from .f32 import f32
from .vocab import COLON, QUERY

# Segment labels of src/data/needleTask.ts (the attention analyses read them).
BEFORE, NEEDLE, AFTER, QUERY_SEGMENT, ANSWER = range(5)

NEEDLE_OVERHEAD = 6


def min_needle_context() -> int:
    return NEEDLE_OVERHEAD - 1


def _check(T: int) -> None:
    if T < min_needle_context():
        raise ValueError(f"needle task needs a context T >= {min_needle_context()}, got {T}")


def _write_example(tokens: list, segments: list, vocab, rng, T: int, d: int) -> float:
    """Appends one example (tokens and segment labels) with its needle at filler depth d; returns its depth as
    the engine's float32."""
    filler_total = T + 1 - NEEDLE_OVERHEAD
    key = vocab.key_start + rng.int(vocab.key_count)
    value = vocab.value_start + rng.int(vocab.value_count)
    for _ in range(d):
        tokens.append(vocab.filler_start + rng.int(vocab.filler_count))
    tokens += [key, COLON, value]
    for _ in range(d, filler_total):
        tokens.append(vocab.filler_start + rng.int(vocab.filler_count))
    tokens += [QUERY, key, value]
    segments += [BEFORE] * d + [NEEDLE] * 3 + [AFTER] * (filler_total - d) + [QUERY_SEGMENT] * 2 + [ANSWER]
    return 0.0 if filler_total == 0 else f32(d / filler_total)


def needle_training_batch(vocab, B: int, T: int, rng) -> list:
    _check(T)
    filler_total = T + 1 - NEEDLE_OVERHEAD
    tokens = []
    for _ in range(B):
        d = rng.int(filler_total + 1)  # drawn before the example, as the engine's argument order does
        _write_example(tokens, [], vocab, rng, T, d)
    return tokens


def depth_bucket(depth: float, buckets: int) -> int:
    return min(buckets - 1, math.floor(depth * buckets))


def needle_eval_set(vocab, count: int, T: int, buckets: int, rng) -> tuple:
    """(tokens, segments [count*(T+1)], buckets [count]): example i's depth is drawn within bucket i mod buckets."""
    _check(T)
    filler_total = T + 1 - NEEDLE_OVERHEAD
    tokens, segments, bucket_of = [], [], []
    for b in range(count):
        bucket = b % buckets
        lo = math.ceil((bucket * (filler_total + 1)) / buckets)
        hi = math.ceil(((bucket + 1) * (filler_total + 1)) / buckets)
        depth = _write_example(tokens, segments, vocab, rng, T, lo + rng.int(max(1, hi - lo)))
        bucket_of.append(depth_bucket(depth, buckets))
    return tokens, segments, bucket_of

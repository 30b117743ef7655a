"""Port of src/data/needleVocab.ts: the retrieval tasks' synthetic vocabulary."""
from dataclasses import dataclass

PAD, BOS, MASK, COLON, QUERY, SEP, DOC, EOS = range(8)
SPECIAL_COUNT = 8


@dataclass(frozen=True)
class NeedleVocab:
    size: int
    mask_id: int
    filler_start: int
    filler_count: int
    key_start: int
    key_count: int
    value_start: int
    value_count: int


def needle_vocab(filler_count: int = 128, key_count: int = 64, value_count: int = 64) -> NeedleVocab:
    filler_start = SPECIAL_COUNT
    key_start = filler_start + filler_count
    value_start = key_start + key_count
    return NeedleVocab(value_start + value_count, MASK, filler_start, filler_count, key_start, key_count,
                       value_start, value_count)

"""Port of src/data/protectedSegments.ts: the parts of a retrieval block the `protect` control keeps unmasked (the
needle's key and value, the query's marker and key), found in one clean block from its tokens alone. Layout shared by
needle, recall, multidoc and qa:  ... K : V ... ? K V   (qa: ... K : v1 ... vL ... ? K v1 ... vL)."""

PROTECTED_SEGMENTS = ("needle-key", "needle-value", "query-marker", "query-key")


def segment_positions(block, T: int, answer_start: int) -> dict:
    """Block positions of each segment in one block of T + 1 tokens whose answer starts at `answer_start`
    (needle, recall, multidoc: T; qa: the answer span's start)."""
    query_key = answer_start - 1
    marker = answer_start - 2
    if marker < 0:
        raise ValueError(f"a retrieval block needs its query before the answer at {answer_start}")
    key = block[query_key]
    needle = -1
    for p in range(marker - 1, -1, -1):
        if block[p] == key:
            needle = p
            break
    if needle < 0:
        raise ValueError("a retrieval block holds its queried key earlier, in the needle")
    length = T + 1 - answer_start
    return {
        "needle-key": [needle],
        "needle-value": [needle + 2 + i for i in range(length)],
        "query-marker": [marker],
        "query-key": [query_key],
    }


def protected_input_positions(block, T: int, answer_start: int, segments) -> list:
    """The input positions (< T) of the listed segments in one block, increasing, without repeats."""
    every = segment_positions(block, T, answer_start)
    for s in segments:
        if s not in every:
            raise ValueError(f"a protected segment must be one of {', '.join(PROTECTED_SEGMENTS)}, got {s!r}")
    return sorted({p for s in segments for p in every[s] if p < T})

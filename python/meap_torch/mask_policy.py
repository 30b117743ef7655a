"""Port of src/data/maskPolicy.ts: which input positions MEAP replaces, and by what, drawn from the run's Rng.
A mask entry ([B*T]) is 0 = clean input, 1 = [MASK], m >= 2 = token id m - 2 (the replace controls)."""
import math

MASK_REPLACEMENTS = ("mask", "random", "random-filler")
CLEAN, MASKED = 0, 1


def replacement_entry(token_id: int) -> int:
    return token_id + 2


def mask_count(ratio: float, T: int, protected_tail: int = 1) -> int:
    if not (0 <= ratio < 1):
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    maskable = T - protected_tail
    if ratio == 0 or maskable < 1:
        return 0
    return min(maskable, max(1, math.floor(ratio * T)))


def sample_positions(rng, n: int, k: int) -> list:
    """k distinct positions of 0..n-1 by partial Fisher-Yates (the engine's draw order), sorted."""
    pool = list(range(n))
    for i in range(k):
        j = i + rng.int(n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return sorted(pool[:k])


def fill_mask(B: int, T: int, ratio: float, shared_across_batch: bool, protected_tail: int, rng,
              replace: str = "mask", replacement_ids=None, protected_positions=None) -> list:
    """[B*T] mask entries; the last `protected_tail` inputs are never chosen, nor `protected_positions(b)` (a
    callable, sequence b -> increasing positions). For sequence b its positions are drawn first, then (replace !=
    'mask') one replacement id per position in increasing order, uniformly from `replacement_ids`."""
    if not (isinstance(protected_tail, int) and protected_tail >= 1):
        raise ValueError(f"protectedTail must be an integer >= 1, got {protected_tail}")
    if replace not in MASK_REPLACEMENTS:
        raise ValueError(f"replace must be one of {', '.join(MASK_REPLACEMENTS)}, got {replace!r}")
    mask = [CLEAN] * (B * T)
    k = mask_count(ratio, T, protected_tail)
    if k == 0:
        return mask
    ids = list(replacement_ids or [])
    if replace != "mask" and not ids:
        raise ValueError(f"replace: {replace} needs the ids to draw replacements from")
    if protected_positions is not None and shared_across_batch:
        raise ValueError("protected positions need masks drawn per sequence, not one mask per batch")
    shared = None
    for b in range(B):
        if protected_positions is not None:
            excluded = set(protected_positions(b))
            allowed = [t for t in range(T - protected_tail) if t not in excluded]
            positions = [allowed[i] for i in sample_positions(rng, len(allowed), min(k, len(allowed)))]
        elif shared_across_batch:
            if shared is None:
                shared = sample_positions(rng, T - protected_tail, k)
            positions = shared
        else:
            positions = sample_positions(rng, T - protected_tail, k)
        for t in positions:
            mask[b * T + t] = MASKED if replace == "mask" else replacement_entry(ids[rng.int(len(ids))])
    return mask

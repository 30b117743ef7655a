"""Port of src/data/maskPolicy.ts: which input positions MEAP replaces by [MASK], drawn from the run's Rng."""
import math


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


def fill_mask(B: int, T: int, ratio: float, shared_across_batch: bool, protected_tail: int, rng) -> list:
    """[B*T] 0/1 list, 1 = masked input; the last `protected_tail` inputs are never masked."""
    if not (isinstance(protected_tail, int) and protected_tail >= 1):
        raise ValueError(f"protectedTail must be an integer >= 1, got {protected_tail}")
    mask = [0] * (B * T)
    k = mask_count(ratio, T, protected_tail)
    if k == 0:
        return mask
    shared = None
    for b in range(B):
        if shared_across_batch:
            if shared is None:
                shared = sample_positions(rng, T - protected_tail, k)
            positions = shared
        else:
            positions = sample_positions(rng, T - protected_tail, k)
        for t in positions:
            mask[b * T + t] = 1
    return mask

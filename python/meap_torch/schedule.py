"""Port of src/engine/schedule.ts: linear warm-up, then cosine decay to min_ratio * peak; step counts from 1."""
import math


def learning_rate(peak: float, warmup_steps: int, total_steps: int, min_ratio: float, step: int) -> float:
    if step <= warmup_steps:
        return (peak * step) / max(1, warmup_steps)
    span = max(1, total_steps - warmup_steps)
    progress = min(1, (step - warmup_steps) / span)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return peak * (min_ratio + (1 - min_ratio) * cosine)

"""Evaluation as src/engine/evaluationTally.ts scores it: clean (unmasked) validation loss over every token of
the evaluation set, greedy answers at the answer positions, accuracy overall and by bucket."""
import math

import torch

from .model import next_token_loss


@torch.no_grad()
def evaluate_run(model, eval_set, batch: int, device) -> dict:
    T = eval_set.T
    tokens = torch.tensor(eval_set.tokens, dtype=torch.long, device=device).view(eval_set.count, T + 1)
    loss_sum, correct = 0.0, 0
    bucket_total = [0] * eval_set.bucket_count
    bucket_correct = [0] * eval_set.bucket_count
    for start in range(0, eval_set.count, batch):
        block = tokens[start:start + batch]
        logits = model(block[:, :-1])
        loss_sum += float(next_token_loss(logits, block)) * block.shape[0] * T
        for b in range(block.shape[0]):
            i = start + b
            bucket_total[eval_set.buckets[i]] += 1
            right = int(torch.argmax(logits[b, eval_set.answer_positions[i]])) == eval_set.answers[i]
            if right:
                correct += 1
                bucket_correct[eval_set.buckets[i]] += 1
    has = eval_set.has_retrieval
    return {
        "valLoss": loss_sum / (eval_set.count * T),
        "retrievalAcc": correct / eval_set.count if has else math.nan,
        "accByDepth": [c / t if t > 0 else 0 for c, t in zip(bucket_correct, bucket_total)] if has else [],
    }

"""The report's attention analyses (src/engine/modelAnalysis.ts analyseAttention with src/analysis/attention*.ts):
from the answer-generating position, the attention mass by segment; on clean vs paired-masked input, the mean
attention on the masked keys ("score decay") and the variance over the unmasked keys; head entropy. Computed in
float64 from the model's attention probabilities of one example at a time, as the engine's probe gives them."""
import math

import torch

from .mask_policy import mask_count, sample_positions
from .needle import NEEDLE, QUERY_SEGMENT
from .rng import Rng, derive_seed

PAIRED_MASK_RATIO = 0.15
ATTENTION_SEGMENTS = ["context before", "needle", "context after", "query"]
RETRIEVAL_TOKEN_NAMES = ["needle key", "needle :", "needle value", "query ?", "query key (itself)"]


def retrieval_token_positions(segments, answer_position: int):
    """Positions of RETRIEVAL_TOKEN_NAMES (src/data/retrievalTokens.ts), or None when the example is not a
    `K : V ... ? K` block: a two-position query run ending at the answer position, one needle run of three before."""
    a = answer_position
    if not (1 <= a < len(segments)):
        return None
    if segments[a] != QUERY_SEGMENT or segments[a - 1] != QUERY_SEGMENT or (a >= 2 and segments[a - 2] == QUERY_SEGMENT):
        return None
    needle = [t for t in range(a - 1) if segments[t] == NEEDLE]
    if len(needle) != 3 or needle[2] - needle[0] != 2:
        return None
    return needle + [a - 1, a]


def key_swapped_prompt(tokens, positions, key_ids):
    """The prompt with its query key replaced by a key absent from the inputs (src/data/retrievalTokens.ts
    keySwappedPrompt): the needle key's next key in key_ids, cyclically, skipping keys the inputs hold; or None."""
    if positions is None or len(positions) != len(RETRIEVAL_TOKEN_NAMES) or not key_ids:
        return None
    query = positions[4]
    present = set(tokens[:query + 1])
    if tokens[positions[0]] not in key_ids:
        return None
    at = key_ids.index(tokens[positions[0]])
    for j in range(1, len(key_ids)):
        key = key_ids[(at + j) % len(key_ids)]
        if key not in present:
            swapped = list(tokens)
            swapped[query] = key
            return swapped
    return None


@torch.no_grad()
def answer_argmax(model, tokens, answer: int, device) -> int:
    """The greedy answer at input position `answer` of a prompt (its T + 1 tokens), unmasked."""
    ids = torch.tensor(tokens[:-1], dtype=torch.long, device=device).view(1, -1)
    return int(torch.argmax(model(ids)[0, answer]))


def query_positions(segments, answer_position: int, T: int) -> set:
    query = {answer_position}
    if answer_position < 0 or answer_position >= T:
        return query
    run, t = [], answer_position
    while t >= 0 and segments[t] == segments[answer_position]:
        run.append(t)
        t -= 1
    if len(run) < T / 2:
        query.update(run)
    return query


def paired_mask_positions(segments, answer_position: int, T: int, seed: int) -> list:
    query = query_positions(segments, answer_position, T)
    candidates = [t for t in range(min(T - 2, answer_position) + 1) if t not in query]
    k = min(len(candidates), mask_count(PAIRED_MASK_RATIO, T))
    return [candidates[i] for i in sample_positions(Rng(seed), len(candidates), k)]


@torch.no_grad()
def attention_stack(model, tokens, masked: list, mask_id: int, device) -> tuple:
    """([L, H, T, T] attention, [T, V] logits) of one example with `masked` inputs replaced by [MASK]; the attention
    rounded to float32 as both engines' probes return it, then analysed in float64."""
    ids = torch.tensor(tokens[:-1], dtype=torch.long, device=device).view(1, -1)
    if masked:
        ids[0, masked] = mask_id
    logits = model(ids)[0]
    return torch.stack([layer.self_attn.last_probs[0] for layer in model.model.layers]).float().double().cpu(), logits


def _on_keys(layer, keys: list) -> float:
    H, T = layer.shape[0], layer.shape[1]
    total = sum(float(layer[:, j:, j].sum()) for j in keys)
    count = H * sum(T - j for j in keys)
    return math.nan if count == 0 else total / count


def _unmasked_variance(layer, masked: list) -> float:
    H, T = layer.shape[0], layer.shape[1]
    keep = torch.ones(T, dtype=torch.bool)
    keep[[p for p in masked if 0 <= p < T]] = False
    causal = torch.ones(T, T, dtype=torch.bool).tril() & keep.view(1, T)
    n = causal.sum(1).double()                          # unmasked keys per row
    weights = causal.double()
    mean = (layer * weights).sum(-1) / n.clamp(min=1)
    var = (((layer - mean.unsqueeze(-1)) ** 2) * weights).sum(-1) / n.clamp(min=1)  # population variance, [H, T]
    rows = (n >= 2).expand(H, T)
    return math.nan if int(rows.sum()) == 0 else float(var[rows].sum()) / int(rows.sum())


def _entropy(layer) -> list:
    p = layer
    terms = torch.where(p > 0, -p * torch.log(p.clamp(min=1e-300)), torch.zeros_like(p))
    return (terms.sum(-1).mean(-1)).tolist()  # per head: mean over rows


def _mean_rows(rows: list) -> list:
    return [sum(r[k] for r in rows) / len(rows) for k in range(len(rows[0]))]


def relative_change(before: float, after: float) -> float:
    return (after - before) / before if before != 0 else math.nan


def analyse_attention(model, eval_set, count: int, evaluation_seed: int, mask_id: int, device, key_ids=None) -> dict:
    """One run's AttentionRecord (src/engine/modelAnalysis.ts) on the first `count` evaluation examples; `key_ids`
    (the task's keys) enables the key-swap probe."""
    T = eval_set.T
    examples = list(range(min(count, eval_set.count)))
    mass, on_clean, on_masked, var_clean, var_masked, entropy, token_mass = [], [], [], [], [], [], []
    token_positions = [retrieval_token_positions(
        eval_set.segments[i * (T + 1):i * (T + 1) + T], eval_set.answer_positions[i]) for i in examples]
    retrieval = len(examples) > 0 and all(p is not None for p in token_positions)
    swapped_prompts = [key_swapped_prompt(eval_set.tokens[i * (T + 1):(i + 1) * (T + 1)], token_positions[e], key_ids or [])
                       for e, i in enumerate(examples)]
    key_swap = retrieval and all(p is not None for p in swapped_prompts)
    clean_value = swapped_value = 0
    for e, index in enumerate(examples):
        tokens = eval_set.tokens[index * (T + 1):(index + 1) * (T + 1)]
        segments = eval_set.segments[index * (T + 1):index * (T + 1) + T]
        answer = eval_set.answer_positions[index]
        masked = paired_mask_positions(segments, answer, T, derive_seed(evaluation_seed, index, "report-mask"))
        clean, clean_logits = attention_stack(model, tokens, [], mask_id, device)
        with_mask, _ = attention_stack(model, tokens, masked, mask_id, device)
        seg = torch.tensor(segments)
        by_layer = []
        for layer in clean:
            row = layer[:, answer, :answer + 1]               # [H, keys]
            per_head = [[float(row[h][seg[:answer + 1] == s].sum()) for s in range(len(ATTENTION_SEGMENTS))]
                        for h in range(row.shape[0])]
            by_layer.append(_mean_rows(per_head))
        mass.append(by_layer)
        if retrieval:
            # Summed head by head and divided once: as positionMassByLayer (src/analysis/attentionStack.ts).
            token_mass.append([[float(layer[:, answer, j].sum()) / layer.shape[0] for j in token_positions[e]]
                               for layer in clean])
        if key_swap:
            value = tokens[token_positions[e][2]]
            clean_value += int(torch.argmax(clean_logits[answer])) == value
            swapped_value += answer_argmax(model, swapped_prompts[e], answer, device) == value
        L = clean.shape[0]
        on_clean.append(sum(_on_keys(clean[l], masked) for l in range(L)) / L)
        on_masked.append(sum(_on_keys(with_mask[l], masked) for l in range(L)) / L)
        var_clean.append(sum(_unmasked_variance(clean[l], masked) for l in range(L)) / L)
        var_masked.append(sum(_unmasked_variance(with_mask[l], masked) for l in range(L)) / L)
        entropy.append([_entropy(clean[l]) for l in range(L)])
    avg = lambda xs: sum(xs) / len(xs)
    L = len(mass[0])
    by_layer = [_mean_rows([m[l] for m in mass]) for l in range(L)]
    oc, om, vc, vm = avg(on_clean), avg(on_masked), avg(var_clean), avg(var_masked)
    return {
        "examples": examples, "segmentNames": list(ATTENTION_SEGMENTS),
        "segmentMassByLayer": by_layer, "segmentMass": _mean_rows(by_layer),
        "onMaskedClean": oc, "onMaskedMasked": om, "scoreDecay": relative_change(oc, om),
        "varianceClean": vc, "varianceMasked": vm, "varianceIncrease": relative_change(vc, vm),
        "headEntropy": [_mean_rows([e[l] for e in entropy]) for l in range(L)],
        "uniformEntropy": sum(math.log(i + 1) for i in range(T)) / T,
        **({"tokenNames": list(RETRIEVAL_TOKEN_NAMES),
            "tokenMassByLayer": [_mean_rows([m[l] for m in token_mass]) for l in range(L)]} if retrieval else {}),
        **({"keySwap": {"clean": clean_value / len(examples), "swapped": swapped_value / len(examples)}} if key_swap else {}),
    }

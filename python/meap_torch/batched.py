"""A study unit's runs trained together as one batched computation: every owned run's parameters stacked along a
leading run dimension R, forward, loss and backward of all runs in one autograd graph (bmm over the run dimension;
each run reads its own seed's batch and its own masks), then each run's own clipping and AdamW, vectorised over R.
For tiny models (the studies' 23 k parameters) StudyTrainer's loop pays every op's overhead once per run; here
the op count no longer grows with the number of runs. The graph's loss is the SUM over runs of each run's mean loss,
so each run's gradient is its own; in float64 the numbers equal StudyTrainer's up to summation order
(test/torchTwinBatched). In float32 on CPU the projections' matmuls go through oneDNN (Debian torch's own gemm is
reference BLAS, about 10x slower at these sizes), which rounds differently from the per-run trainer.
  python -m meap_torch.batched CONFIG.json STEPS DTYPE  -> per-step losses, final weights, evaluation (as parity train)"""
import json
import math
import sys
from contextlib import nullcontext

import torch
from torch.nn import functional as F

from .attention import analyse_attention
from .evaluation import evaluate_run
from .layout import parameter_layout
from .model import MeapLlama, apply_rope, masked_inputs
from .text_probe import zero_shot_retrieval
from .training import setup_trainer


def _onednn_linear(x, w):
    """x [N, in] @ w[out, in]^T by oneDNN (float32, CPU): torch's own gemm here is Debian's reference BLAS, 10x slower."""
    return torch._C._nn.mkldnn_linear(x.contiguous().to_mkldnn(), w.contiguous().to_mkldnn(), None).to_dense()


class _RunLinear(torch.autograd.Function):
    """Each run's linear map, x [R, N, in] -> x[r] @ w[r]^T [R, N, out], forward and backward through oneDNN."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return torch.stack([_onednn_linear(x[r], w[r]) for r in range(x.shape[0])])

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        R = x.shape[0]
        dx = torch.stack([_onednn_linear(dy[r], w[r].t()) for r in range(R)]) if ctx.needs_input_grad[0] else None
        dw = torch.stack([_onednn_linear(dy[r].t(), x[r].t()) for r in range(R)]) if ctx.needs_input_grad[1] else None
        return dx, dw


def onednn_usable(dtype, device, bf16: bool) -> bool:
    """oneDNN's float32 CPU matmul (much faster than a reference-BLAS torch's; float32 rounding differs from it)."""
    return dtype == torch.float32 and torch.device(device).type == "cpu" and not bf16 and torch.backends.mkldnn.is_available()


class BatchedStudyTrainer:
    """StudyTrainer's interface (step, evaluate, analyse_attention, weights) with the owned runs stacked."""

    def __init__(self, config: dict, runs=None, dtype=torch.float32, device="cpu", bf16=False, initial=None,
                 data_parallel=None, onednn=None):
        """As StudyTrainer; `onednn`: the projections' matmuls through oneDNN (default: where usable, float32 on CPU)."""
        if data_parallel is not None:
            raise ValueError("the batched trainer trains all owned runs in one graph; it does not combine with data parallelism")
        setup_trainer(self, config, runs, device, bf16)
        # One scratch model: the template of the parameters, and each run's model for evaluation and analysis.
        self.scratch = MeapLlama(config["model"]).to(dtype)
        self.names = [name for name, _ in self.scratch.named_parameters()]
        by_seed = {}
        per_run = []
        for r in self.owned:
            seed = self.plan.runs[r].seed
            if seed not in by_seed:
                self.scratch.load_flat(initial[seed] if initial is not None else self.plan.initial_parameters(seed))
                by_seed[seed] = {n: p.detach().clone() for n, p in self.scratch.named_parameters()}
            per_run.append(by_seed[seed])
        self.scratch = self.scratch.to(self.device)
        self.params = {n: torch.stack([w[n] for w in per_run]).to(self.device).requires_grad_() for n in self.names}
        decays = {t.name: t.decay for t in parameter_layout(config["model"])}
        self.decay = {n: decays[n] for n in self.names}
        self.m = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.max_grad_norm = config["optimizer"]["maxGradNorm"]
        self.onednn = onednn_usable(dtype, device, bf16) if onednn is None else onednn

    def _autocast(self):
        if not self.bf16:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _forward(self, ids):
        """ids [R, B, T] (masked inputs already replaced) -> logits [R, B*T, V], each run with its own weights."""
        m, P = self.config["model"], self.params
        R, B, T = ids.shape
        D, H, V, eps = m["dModel"], m["heads"], m["vocabSize"], m["normEps"]
        hd = D // H
        dtype = P["lm_head.weight"].dtype
        cos, sin = self.scratch.rope_cos[:T].to(dtype), self.scratch.rope_sin[:T].to(dtype)
        causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()
        if self.onednn:
            linear = lambda x, name: _RunLinear.apply(x, P[name])  # x [R, N, in] -> [R, N, out]
        else:
            linear = lambda x, name: torch.bmm(x, P[name].transpose(1, 2))
        norm = lambda x, name: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * P[name].unsqueeze(1)
        split = lambda y: y.view(R, B, T, H, hd).transpose(2, 3)
        # Run r's token v is row r * V + v of the runs' stacked embeddings.
        offset = (torch.arange(R, device=ids.device) * V).view(R, 1, 1)
        x = F.embedding(ids + offset, P["model.embed_tokens.weight"].reshape(R * V, D)).view(R, B * T, D)
        for l in range(m["layers"]):
            pre = f"model.layers.{l}."
            h = norm(x, pre + "input_layernorm.weight")
            q = apply_rope(split(linear(h, pre + "self_attn.q_proj.weight")), cos, sin)
            k = apply_rope(split(linear(h, pre + "self_attn.k_proj.weight")), cos, sin)
            v = split(linear(h, pre + "self_attn.v_proj.weight"))
            scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(hd))
            probs = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
            x = x + linear((probs @ v).transpose(2, 3).reshape(R, B * T, D), pre + "self_attn.o_proj.weight")
            h = norm(x, pre + "post_attention_layernorm.weight")
            gated = F.silu(linear(h, pre + "mlp.gate_proj.weight")) * linear(h, pre + "mlp.up_proj.weight")
            x = x + linear(gated, pre + "mlp.down_proj.weight")
        return linear(norm(x, "model.norm.weight"), "lm_head.weight")

    def step(self) -> dict:
        """One training step of every owned run: run index -> loss (NaN when the run's step was skipped)."""
        B, T = self.config["batch"], self.config["model"]["context"]
        R = len(self.owned)
        by_seed, masks, hyper = self.plan.next_step()
        tokens = torch.tensor([by_seed[self.plan.runs[r].seed] for r in self.owned], dtype=torch.long,
                              device=self.device).view(R * B, T + 1)
        mask = torch.tensor([masks[r] for r in self.owned], dtype=torch.long, device=self.device).view(R * B, T)
        inputs = masked_inputs(tokens, mask, self.plan.task.mask_id).view(R, B, T)
        for p in self.params.values():
            p.grad = None
        with self._autocast():
            logits = self._forward(inputs)
        if self.bf16:
            logits = logits.float()
        per_token = F.cross_entropy(logits.reshape(R * B * T, -1), tokens[:, 1:].reshape(-1), reduction="none")
        losses = per_token.view(R, B * T).mean(1)  # each run's mean loss
        losses.sum().backward()  # d(sum)/d(run r's weights) = run r's own gradient
        norms = self._update(hyper)
        values = losses.detach().tolist()
        return {r: value if math.isfinite(value) and math.isfinite(norm) else float("nan")
                for r, value, norm in zip(self.owned, values, norms)}

    @torch.no_grad()
    def _update(self, hyper) -> list:
        """EngineAdamW.step for each run on its own slice: its own global gradient norm and clip; a run whose norm
        is not finite skips its update (the engine's rule). Returns the runs' gradient norms."""
        R = len(self.owned)
        total = torch.zeros(R, dtype=torch.float64, device=self.device)
        for n in self.names:
            total += self.params[n].grad.double().pow(2).reshape(R, -1).sum(1)
        norms = total.sqrt().tolist()
        ok = [i for i, norm in enumerate(norms) if math.isfinite(norm)]
        if not ok:
            return norms
        clips = [min(1.0, self.max_grad_norm / (norms[i] + 1e-6)) if self.max_grad_norm > 0 else 1.0 for i in ok]
        index = None if len(ok) == R else torch.tensor(ok, dtype=torch.long, device=self.device)
        h = hyper
        step_size = h.lr / h.bias_correction1
        sqrt_bc2 = math.sqrt(h.bias_correction2)
        for n in self.names:
            p, m, v = self.params[n], self.m[n], self.v[n]
            if index is not None:
                p, m, v = p[index], m[index], v[index]  # copies, written back below
                grad = self.params[n].grad[index]
            else:
                grad = p.grad
            clip = torch.tensor(clips, dtype=p.dtype, device=p.device).view(-1, *[1] * (p.dim() - 1))
            g = grad * clip
            m.mul_(h.beta1).add_(g, alpha=1 - h.beta1)
            v.mul_(h.beta2).add_(g * g, alpha=1 - h.beta2)
            if self.decay[n]:
                p.mul_(1 - h.lr * h.weight_decay)
            p.sub_(step_size * (m / (v.sqrt() / sqrt_bc2 + h.eps)))
            if index is not None:
                self.params[n][index], self.m[n][index], self.v[n][index] = p, m, v
        return norms

    def _model(self, r: int):
        """The scratch MeapLlama holding run r's current weights."""
        i = self.owned.index(r)
        with torch.no_grad():
            for name, p in self.scratch.named_parameters():
                p.copy_(self.params[name][i])
        return self.scratch

    def evaluate(self) -> dict:
        """run index -> {valLoss, retrievalAcc, accByDepth}, each run's model evaluated as StudyTrainer does."""
        out = {}
        for r in self.owned:
            model = self._model(r)
            out[r] = evaluate_run(model, self.plan.eval_set, self.config["batch"], self.device)
            if self.probe_set is not None:
                out[r]["retrievalAcc"], out[r]["accByDepth"] = zero_shot_retrieval(model, self.probe_set, self.device)
        return out

    def analyse_attention(self, count: int) -> dict:
        """run index -> AttentionRecord on the first `count` evaluation examples (clean and paired-masked)."""
        seed = self.config["evaluation"]["seed"]
        examples = self.probe_set if self.probe_set is not None else self.plan.eval_set
        return {r: analyse_attention(self._model(r), examples, count, seed, self.plan.task.mask_id, self.device,
                                  self.plan.task.key_ids)
                for r in self.owned}

    def weights(self, r: int) -> dict:
        i = self.owned.index(r)
        return {name: self.params[name][i].detach().cpu().clone() for name in self.names}


def main(argv) -> None:
    from .study_record import json_safe
    path, steps, dtype_name = argv[0], int(argv[1]), argv[2]
    with open(path) as f:
        config = json.load(f)
    bf16 = dtype_name == "bf16"  # float32 weights, bf16 autocast (--bf16)
    trainer = BatchedStudyTrainer(config, dtype=torch.float32 if bf16 else getattr(torch, dtype_name), bf16=bf16)
    losses = [[] for _ in trainer.owned]
    for _ in range(steps):
        for r, loss in trainer.step().items():
            losses[r].append(loss)
    weights = {r: {n: t.double().flatten().tolist() for n, t in trainer.weights(r).items()} for r in trainer.owned}
    json.dump(json_safe({"losses": losses, "weights": weights, "evaluation": trainer.evaluate()}), sys.stdout,
              allow_nan=False)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The engine's clipping and AdamW (shaders/grad_norm.wgsl, shaders/adamw.wgsl), elementwise in the parameters'
dtype with the step's float32-rounded hyperparameters, so the twin updates exactly as the engine does:
  g = grad * clipScale;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
  p = p (1 - lr wd decay);  p = p - (lr/bc1) m / (sqrt(v)/sqrt(bc2) + eps)
Decay applies to the matrices the layout marks (projections and lm_head), not to norms or embeddings."""
import math

import torch

from .layout import parameter_layout


class EngineAdamW:
    def __init__(self, model, max_grad_norm: float):
        decays = {t.name: t.decay for t in parameter_layout(model.config)}
        self.params = [(p, decays[name]) for name, p in model.named_parameters()]
        self.m = [torch.zeros_like(p) for p, _ in self.params]
        self.v = [torch.zeros_like(p) for p, _ in self.params]
        self.max_grad_norm = max_grad_norm

    def grad_norm(self) -> float:
        total = sum(float(p.grad.double().pow(2).sum()) for p, _ in self.params)
        return math.sqrt(total)

    @torch.no_grad()
    def step(self, hyper) -> float:
        """One update; returns the gradient norm. A non-finite norm skips the step (the engine's rule)."""
        norm = self.grad_norm()
        if not math.isfinite(norm):
            return norm
        clip = min(1.0, self.max_grad_norm / (norm + 1e-6)) if self.max_grad_norm > 0 else 1.0
        h = hyper
        step_size = h.lr / h.bias_correction1
        sqrt_bc2 = math.sqrt(h.bias_correction2)
        for (p, decay), m, v in zip(self.params, self.m, self.v):
            g = p.grad * clip
            m.mul_(h.beta1).add_(g, alpha=1 - h.beta1)
            v.mul_(h.beta2).add_(g * g, alpha=1 - h.beta2)
            if decay:
                p.mul_(1 - h.lr * h.weight_decay)
            p.sub_(step_size * (m / (v.sqrt() / sqrt_bc2 + h.eps)))
        return norm

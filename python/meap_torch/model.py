"""The playground's LLaMA-style decoder in plain PyTorch, as src/reference/model.ts computes it:
embedding (masked inputs read the [MASK] row, or a replacement token's) -> layers x [RMSNorm -> causal MHA with rotate-half RoPE ->
residual -> RMSNorm -> SwiGLU -> residual] -> RMSNorm -> untied LM head. Module names give the HF LLaMA
tensor names of src/export/safetensors.ts, so state_dict() keys are the export's names."""
import math

import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(T: int, head_dim: int, base: float):
    """cos, sin [T, head_dim/2] in float64, as src/kernels/ropeTables.ts (angles t * base^(-2i/headDim))."""
    half = head_dim // 2
    inv = [math.pow(base, (-2 * i) / head_dim) for i in range(half)]
    cos = torch.tensor([[math.cos(t * f) for f in inv] for t in range(T)], dtype=torch.float64)
    sin = torch.tensor([[math.sin(t * f) for f in inv] for t in range(T)], dtype=torch.float64)
    return cos, sin


def apply_rope(x, cos, sin):
    """x [B, H, T, hd]: (a, b) halves -> (a cos - b sin, b cos + a sin)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin, causal):
        B, T, D = x.shape
        hd = D // self.heads
        split = lambda y: y.view(B, T, self.heads, hd).transpose(1, 2)
        q = apply_rope(split(self.q_proj(x)), cos, sin)
        k = apply_rope(split(self.k_proj(x)), cos, sin)
        v = split(self.v_proj(x))
        scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(hd))
        probs = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        self.last_probs = probs.detach()  # [B, H, T, T], for the attention analyses
        return self.o_proj((probs @ v).transpose(1, 2).reshape(B, T, D))


class Mlp(nn.Module):
    def __init__(self, d: int, f: int):
        super().__init__()
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, m: dict):
        super().__init__()
        self.input_layernorm = RMSNorm(m["dModel"], m["normEps"])
        self.self_attn = Attention(m["dModel"], m["heads"])
        self.post_attention_layernorm = RMSNorm(m["dModel"], m["normEps"])
        self.mlp = Mlp(m["dModel"], m["dFF"])

    def forward(self, x, cos, sin, causal):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, causal)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, m: dict):
        super().__init__()
        self.embed_tokens = nn.Embedding(m["vocabSize"], m["dModel"])
        self.layers = nn.ModuleList(Layer(m) for _ in range(m["layers"]))
        self.norm = RMSNorm(m["dModel"], m["normEps"])


class MeapLlama(nn.Module):
    def __init__(self, m: dict):
        super().__init__()
        self.config = m
        self.model = Decoder(m)
        self.lm_head = nn.Linear(m["dModel"], m["vocabSize"], bias=False)
        cos, sin = rope_tables(m["context"], m["dModel"] // m["heads"], m["ropeBase"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, ids):
        """ids [B, T] (masked inputs already replaced: masked_inputs) -> logits [B, T, V]."""
        T = ids.shape[1]
        dtype = self.lm_head.weight.dtype
        cos, sin = self.rope_cos[:T].to(dtype), self.rope_sin[:T].to(dtype)
        causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril()
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, causal)
        return self.lm_head(self.model.norm(x))

    def load_flat(self, weights: dict) -> None:
        """Copies name -> flat values (the engine's init or a safetensors file) into the parameters."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                p.copy_(torch.as_tensor(weights[name], dtype=p.dtype).view_as(p))


def masked_inputs(tokens, mask, mask_id: int):
    """tokens [B, T+1], mask [B, T] -> input ids [B, T]: mask entry 0 keeps the token, 1 gives the [MASK] id,
    m >= 2 gives token id m - 2 (the replace controls; src/reference/embedding.ts maskedInputIds)."""
    inputs = tokens[:, :-1]
    mask = mask.to(inputs.dtype)
    return torch.where(mask == 0, inputs, torch.where(mask == 1, torch.full_like(inputs, mask_id), mask - 2))


def next_token_loss(logits, tokens):
    """Mean cross-entropy over all B*T positions against the clean next tokens."""
    V = logits.shape[-1]
    return nn.functional.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))

"""Port of src/model/layout.ts and src/model/init.ts: HF LLaMA tensor names, shapes, decay flags, seeded init."""
import math
import re
from dataclasses import dataclass
from typing import List

from .rng import Rng

INIT_STD = 0.02
_ALIGN = 64  # the engine pads each tensor to 64 floats in its flat buffer; the twin keeps tensors separate


@dataclass(frozen=True)
class TensorSlot:
    name: str
    shape: tuple
    decay: bool
    init: str  # 'normal' | 'ones'

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def layer_tensor_name(layer: int, part: str) -> str:
    return f"model.layers.{layer}.{part}.weight"


def parameter_layout(model: dict) -> List[TensorSlot]:
    """Tensors in the engine's order (init draws them in this order)."""
    D, F, V = model["dModel"], model["dFF"], model["vocabSize"]
    out = [TensorSlot("model.embed_tokens.weight", (V, D), False, "normal")]
    for l in range(model["layers"]):
        out += [
            TensorSlot(layer_tensor_name(l, "input_layernorm"), (D,), False, "ones"),
            TensorSlot(layer_tensor_name(l, "self_attn.q_proj"), (D, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "self_attn.k_proj"), (D, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "self_attn.v_proj"), (D, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "self_attn.o_proj"), (D, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "post_attention_layernorm"), (D,), False, "ones"),
            TensorSlot(layer_tensor_name(l, "mlp.gate_proj"), (F, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "mlp.up_proj"), (F, D), True, "normal"),
            TensorSlot(layer_tensor_name(l, "mlp.down_proj"), (D, F), True, "normal"),
        ]
    out += [TensorSlot("model.norm.weight", (D,), False, "ones"),
            TensorSlot("lm_head.weight", (V, D), True, "normal")]
    return out


def init_parameters(model: dict, seed: int) -> dict:
    """name -> flat list of float32-rounded values: N(0, 0.02^2), o_proj/down_proj scaled by 1/sqrt(2 layers)."""
    import struct
    rng = Rng(seed)
    residual_scale = 1 / math.sqrt(2 * model["layers"])
    out = {}
    for t in parameter_layout(model):
        if t.init == "ones":
            out[t.name] = [1.0] * t.size
            continue
        std = INIT_STD * residual_scale if re.search(r"o_proj|down_proj", t.name) else INIT_STD
        values = [rng.normal() * std for _ in range(t.size)]
        # The engine stores init in a Float32Array.
        out[t.name] = list(struct.unpack(f"<{t.size}f", struct.pack(f"<{t.size}f", *values)))
    return out

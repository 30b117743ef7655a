import type { ModelConfig } from './config';

/**
 * Where each parameter tensor lives in the model's flat parameter buffer. One run's parameters are
 * P contiguous floats; R runs are stored [R, P]. Gradients and AdamW moments share the layout.
 * Names and shapes follow Hugging Face LLaMA (weights [out, in]) so checkpoints map 1:1.
 */
export interface TensorSlot {
  name: string;
  shape: readonly number[];
  size: number;
  /** Element offset inside one run's block (a multiple of ALIGN, so vec4 loads and 256-byte binding offsets work). */
  offset: number;
  /** Weight decay applies to matrices only (not to norms; embeddings are matrices but excluded, as in common practice). */
  decay: boolean;
  init: 'normal' | 'ones';
}

export interface ParameterLayout {
  tensors: TensorSlot[];
  /** Floats per run (padded). */
  P: number;
  byName: ReadonlyMap<string, TensorSlot>;
}

const ALIGN = 64;

export function layerTensorName(layer: number, part: string): string {
  return `model.layers.${layer}.${part}.weight`;
}

export function parameterLayout(c: ModelConfig): ParameterLayout {
  const tensors: TensorSlot[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean, init: TensorSlot['init']) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, size, offset, decay, init });
    offset += Math.ceil(size / ALIGN) * ALIGN;
  };
  const D = c.dModel, F = c.dFF;
  add('model.embed_tokens.weight', [c.vocabSize, D], false, 'normal');
  for (let l = 0; l < c.layers; l++) {
    add(layerTensorName(l, 'input_layernorm'), [D], false, 'ones');
    add(layerTensorName(l, 'self_attn.q_proj'), [D, D], true, 'normal');
    add(layerTensorName(l, 'self_attn.k_proj'), [D, D], true, 'normal');
    add(layerTensorName(l, 'self_attn.v_proj'), [D, D], true, 'normal');
    add(layerTensorName(l, 'self_attn.o_proj'), [D, D], true, 'normal');
    add(layerTensorName(l, 'post_attention_layernorm'), [D], false, 'ones');
    add(layerTensorName(l, 'mlp.gate_proj'), [F, D], true, 'normal');
    add(layerTensorName(l, 'mlp.up_proj'), [F, D], true, 'normal');
    add(layerTensorName(l, 'mlp.down_proj'), [D, F], true, 'normal');
  }
  add('model.norm.weight', [D], false, 'ones');
  add('lm_head.weight', [c.vocabSize, D], true, 'normal');
  return { tensors, P: offset, byName: new Map(tensors.map((t) => [t.name, t])) };
}

/** Unpadded parameter count of one model (what a user would call its size). */
export function parameterCount(layout: ParameterLayout): number {
  return layout.tensors.reduce((sum, t) => sum + t.size, 0);
}

/** The per-element weight-decay multiplier AdamW reads (1 = decayed, 0 = not), shared by all runs. */
export function decayMask(layout: ParameterLayout): Float32Array {
  const mask = new Float32Array(layout.P);
  for (const t of layout.tensors) if (t.decay) mask.fill(1, t.offset, t.offset + t.size);
  return mask;
}

/**
 * CPU reference of the whole model for ONE run, forward and backward, in float64, composed from the
 * kernel references in the same order as the GPU model. The oracle for the whole-model gradient check
 * and the no-WebGPU fallback.
 */
import { headDim, type ModelConfig } from '../model/config';
import { layerTensorName, type ParameterLayout } from '../model/layout';
import { embeddingBackwardReference, embeddingForwardReference } from './embedding';
import { rmsnormBackwardReference, rmsnormForwardReference } from './rmsnorm';
import { matmulReference } from './matmul';
import { ropeBackwardReference, ropeForwardReference } from './rope';
import { ropeTablesFloat64 } from '../kernels/ropeTables';
import { attentionBackwardReference, attentionForwardReference } from './attention';
import { swigluBackwardReference, swigluForwardReference } from './swiglu';
import { crossEntropyReference } from './crossEntropy';

export interface ReferenceBatch {
  B: number;
  /** [B, T+1] clean tokens. */
  tokens: ArrayLike<number>;
  /** [B, T] 1 = masked input. */
  mask: ArrayLike<number>;
  /** [B, T] loss weights (0 or 1; fine-tuning): the loss is the mean over weighted rows. Absent: every row. */
  weights?: ArrayLike<number>;
}

interface LayerCache {
  x: Float64Array; h1: Float64Array; rstd1: Float64Array;
  q: Float64Array; k: Float64Array; v: Float64Array; probs: Float64Array; att: Float64Array;
  xMid: Float64Array; h2: Float64Array; rstd2: Float64Array;
  gate: Float64Array; up: Float64Array; act: Float64Array;
}

export interface ReferenceForward {
  loss: number;
  /** Per-row loss [B·T] (row b·T + t predicts the clean token t + 1 of sequence b). */
  rowLoss: Float64Array;
  logits: Float64Array;
  /** Attention probabilities per layer, [B, H, T, T]. */
  probs: Float64Array[];
  cache: { layers: LayerCache[]; xFinal: Float64Array; hFinal: Float64Array; rstdFinal: Float64Array; dLogits: Float64Array };
}

function slice(params: ArrayLike<number>, layout: ParameterLayout, name: string): Float64Array {
  const t = layout.byName.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  const out = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) out[i] = params[t.offset + i];
  return out;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Y = X · Wᵀ for X [N, in], W [out, in]. */
function linear(x: Float64Array, w: Float64Array, N: number, inDim: number, outDim: number): Float64Array {
  return matmulReference(x, w, { R: 1, M: N, N: outDim, K: inDim, transA: false, transB: true });
}

export function referenceForward(config: ModelConfig, layout: ParameterLayout, params: ArrayLike<number>, batch: ReferenceBatch): ReferenceForward {
  const { B } = batch;
  const T = config.context, D = config.dModel, F = config.dFF, V = config.vocabSize, H = config.heads;
  const N = B * T, hd = headDim(config);
  const rope = ropeTablesFloat64(T, hd, config.ropeBase);
  const ropeShape = { R: 1, B, T, H, headDim: hd };
  const p = (name: string) => slice(params, layout, name);

  let x = embeddingForwardReference(batch.tokens, batch.mask, p('model.embed_tokens.weight'), { R: 1, B, T, V, C: D }, config.maskId);
  const layers: LayerCache[] = [];
  const probsPerLayer: Float64Array[] = [];
  for (let l = 0; l < config.layers; l++) {
    const w = (part: string) => p(layerTensorName(l, part));
    const n1 = rmsnormForwardReference(x, w('input_layernorm'), { R: 1, N, C: D }, config.normEps);
    const q = ropeForwardReference(linear(n1.y, w('self_attn.q_proj'), N, D, D), rope.cos, rope.sin, ropeShape);
    const k = ropeForwardReference(linear(n1.y, w('self_attn.k_proj'), N, D, D), rope.cos, rope.sin, ropeShape);
    const v = linear(n1.y, w('self_attn.v_proj'), N, D, D);
    const attention = attentionForwardReference(q, k, v, ropeShape);
    const xMid = add(x, linear(attention.out, w('self_attn.o_proj'), N, D, D));
    const n2 = rmsnormForwardReference(xMid, w('post_attention_layernorm'), { R: 1, N, C: D }, config.normEps);
    const gate = linear(n2.y, w('mlp.gate_proj'), N, D, F);
    const up = linear(n2.y, w('mlp.up_proj'), N, D, F);
    const act = swigluForwardReference(gate, up);
    layers.push({ x, h1: n1.y, rstd1: n1.rstd, q, k, v, probs: attention.probs, att: attention.out,
      xMid, h2: n2.y, rstd2: n2.rstd, gate, up, act });
    probsPerLayer.push(attention.probs);
    x = add(xMid, linear(act, w('mlp.down_proj'), N, F, D));
  }
  const nf = rmsnormForwardReference(x, p('model.norm.weight'), { R: 1, N, C: D }, config.normEps);
  const logits = linear(nf.y, p('lm_head.weight'), N, D, V);
  const ce = crossEntropyReference(logits, batch.tokens, { R: 1, B, T, V }, undefined, batch.weights);
  return {
    loss: ce.lossMean[0], rowLoss: ce.rowLoss, logits, probs: probsPerLayer,
    cache: { layers, xFinal: x, hFinal: nf.y, rstdFinal: nf.rstd, dLogits: ce.dLogits },
  };
}

/** Gradient of the (weighted) mean next-token loss with respect to every parameter, in the layout's flat order. */
export function referenceBackward(
  config: ModelConfig, layout: ParameterLayout, params: ArrayLike<number>, batch: ReferenceBatch, forward: ReferenceForward,
): Float64Array {
  const { B } = batch;
  const T = config.context, D = config.dModel, F = config.dFF, V = config.vocabSize, H = config.heads;
  const N = B * T, hd = headDim(config);
  const rope = ropeTablesFloat64(T, hd, config.ropeBase);
  const ropeShape = { R: 1, B, T, H, headDim: hd };
  const p = (name: string) => slice(params, layout, name);
  const grads = new Float64Array(layout.P);
  const put = (name: string, g: Float64Array) => grads.set(g, layout.byName.get(name)!.offset);
  // dW = dYᵀ · X for Y = X · Wᵀ; dX = dY · W.
  const weightGrad = (dy: Float64Array, xIn: Float64Array, outDim: number, inDim: number) =>
    matmulReference(dy, xIn, { R: 1, M: outDim, N: inDim, K: N, transA: true, transB: false });
  const inputGrad = (dy: Float64Array, w: Float64Array, outDim: number, inDim: number) =>
    matmulReference(dy, w, { R: 1, M: N, N: inDim, K: outDim, transA: false, transB: false });

  const { cache } = forward;
  const dLogits = cache.dLogits;
  put('lm_head.weight', weightGrad(dLogits, cache.hFinal, V, D));
  const dhFinal = inputGrad(dLogits, p('lm_head.weight'), V, D);
  const nf = rmsnormBackwardReference(dhFinal, cache.xFinal, p('model.norm.weight'), cache.rstdFinal, { R: 1, N, C: D });
  put('model.norm.weight', nf.dWeight);
  let dx = nf.dx;
  for (let l = config.layers - 1; l >= 0; l--) {
    const c = cache.layers[l];
    const name = (part: string) => layerTensorName(l, part);
    const w = (part: string) => p(name(part));
    // MLP branch: x = xMid + down(swiglu(gate(h2), up(h2))).
    put(name('mlp.down_proj'), weightGrad(dx, c.act, D, F));
    const dAct = inputGrad(dx, w('mlp.down_proj'), D, F);
    const sw = swigluBackwardReference(dAct, c.gate, c.up);
    put(name('mlp.gate_proj'), weightGrad(sw.dGate, c.h2, F, D));
    put(name('mlp.up_proj'), weightGrad(sw.dUp, c.h2, F, D));
    const dh2 = add(inputGrad(sw.dGate, w('mlp.gate_proj'), F, D), inputGrad(sw.dUp, w('mlp.up_proj'), F, D));
    const n2 = rmsnormBackwardReference(dh2, c.xMid, w('post_attention_layernorm'), c.rstd2, { R: 1, N, C: D });
    put(name('post_attention_layernorm'), n2.dWeight);
    const dxMid = add(dx, n2.dx);
    // Attention branch: xMid = x + o(attention(rope(q(h1)), rope(k(h1)), v(h1))).
    put(name('self_attn.o_proj'), weightGrad(dxMid, c.att, D, D));
    const dAtt = inputGrad(dxMid, w('self_attn.o_proj'), D, D);
    const ab = attentionBackwardReference(dAtt, c.q, c.k, c.v, c.probs, ropeShape);
    const dqPre = ropeBackwardReference(ab.dq, rope.cos, rope.sin, ropeShape);
    const dkPre = ropeBackwardReference(ab.dk, rope.cos, rope.sin, ropeShape);
    put(name('self_attn.q_proj'), weightGrad(dqPre, c.h1, D, D));
    put(name('self_attn.k_proj'), weightGrad(dkPre, c.h1, D, D));
    put(name('self_attn.v_proj'), weightGrad(ab.dv, c.h1, D, D));
    const dh1 = add(add(inputGrad(dqPre, w('self_attn.q_proj'), D, D), inputGrad(dkPre, w('self_attn.k_proj'), D, D)),
      inputGrad(ab.dv, w('self_attn.v_proj'), D, D));
    const n1 = rmsnormBackwardReference(dh1, c.x, w('input_layernorm'), c.rstd1, { R: 1, N, C: D });
    put(name('input_layernorm'), n1.dWeight);
    dx = add(dxMid, n1.dx);
  }
  put('model.embed_tokens.weight',
    embeddingBackwardReference(batch.tokens, batch.mask, dx, { R: 1, B, T, V, C: D }, config.maskId));
  return grads;
}

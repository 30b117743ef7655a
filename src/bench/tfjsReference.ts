/**
 * The tfjs-webgpu reference (benchmark only): the same matmuls, the same causal attention and the same
 * model as our engine, written with @tensorflow/tfjs-core ops on @tensorflow/tfjs-backend-webgpu and
 * differentiated by its autograd (tf.grads / tf.variableGrads). Same shapes, same weights, same batch.
 *
 * Model (one run, as src/reference/model.ts): embedding of the masked input (masked positions read the
 * [MASK] row), per layer RMSNorm → q/k/v (X·Wᵀ) → rotate-half RoPE on q, k → causal softmax attention →
 * o + residual → RMSNorm → SwiGLU MLP + residual; final RMSNorm, LM head, mean next-token cross-entropy
 * over all B·T positions; then global-norm clipping and AdamW (decoupled decay on matrices only) written
 * with tf ops as well (tfjs has no AdamW).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { headDim, type ModelConfig } from '../model/config';
import { layerTensorName, parameterLayout } from '../model/layout';
import { ropeTables } from '../kernels/ropeTables';
import { randomFloats } from '../util/random';
import type { Contender, MatmulShape, ModelStepSetup } from './ours';

/** The parts of tfjs-webgpu's WebGPUBackend the benchmark uses (4.22; public members of the class). */
interface WebGpuBackendLike {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** GPU errors on tfjs's device (an invalid pipeline silently drops whole submissions: the timing would lie). */
export const tfjsDeviceErrors: string[] = [];

export async function initTfjs(): Promise<{ version: string; adapter: string }> {
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new Error('tfjs: the webgpu backend did not initialise');
  await tf.ready();
  const backend = tf.backend() as unknown as WebGpuBackendLike & { adapterInfo?: { vendor?: string; architecture?: string } };
  backend.device.addEventListener('uncapturederror', (event) => {
    if (tfjsDeviceErrors.length < 20) tfjsDeviceErrors.push((event as GPUUncapturedErrorEvent).error.message.split('\n')[0]);
  });
  const info = backend.adapterInfo;
  return { version: tf.version_core, adapter: `${info?.vendor ?? ''}/${info?.architecture ?? ''}` };
}

/**
 * Submits tfjs's pending commands (it batches up to 15 dispatches per submission) the way its own
 * readback does — end the open compute pass, submit the encoder — and waits until its device is idle.
 */
export async function tfjsFinish(): Promise<void> {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

export function tfjsMatmul(shape: MatmulShape, seed = 1): Contender {
  const { M, N, K, transB } = shape;
  const a = tf.tensor2d(randomFloats(seed, M * K), [M, K]);
  const b = tf.tensor2d(randomFloats(seed + 1, K * N), transB ? [N, K] : [K, N]);
  return {
    async run(iterations) {
      for (let i = 0; i < iterations; i++) tf.matMul(a, b, false, transB).dispose();
      await tfjsFinish();
    },
    dispose: () => tf.dispose([a, b]),
  };
}

/** Causal attention on q, k, v [B·T, H·hd] → out [B·T, H·hd] (same layout as our kernels, R = 1). */
function attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, causal: tf.Tensor, B: number, T: number, H: number, hd: number): tf.Tensor2D {
  const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [B, T, H, hd]), [0, 2, 1, 3]);
  const scores = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(hd)), causal);
  const out = tf.matMul(tf.softmax(scores), heads(v));
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * T, H * hd]);
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above. */
function causalMask(T: number): tf.Tensor2D {
  const values = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) values[i * T + j] = -1e9;
  return tf.tensor2d(values, [T, T]);
}

/** Forward + backward (tf.grads with dOut as the upstream gradient) of causal attention. */
export function tfjsAttention(B: number, T: number, H: number, hd: number, seed = 1): Contender {
  const n = B * T * H * hd;
  const make = (s: number) => tf.tensor2d(randomFloats(seed + s, n), [B * T, H * hd]);
  const q = make(0), k = make(1), v = make(2), dOut = make(3);
  const causal = causalMask(T);
  const gradients = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attention(a, b, c, causal, B, T, H, hd));
  return {
    async run(iterations) {
      for (let i = 0; i < iterations; i++) tf.dispose(gradients([q, k, v], dOut));
      await tfjsFinish();
    },
    dispose: () => tf.dispose([q, k, v, dOut, causal]),
  };
}

/** The model and its AdamW training step in tfjs ops (see the file comment). */
export function tfjsModelStep(setup: ModelStepSetup): Contender & { step(): Promise<number> } {
  const { config, B, optimizer } = setup;
  const c: ModelConfig = config;
  const T = c.context, D = c.dModel, H = c.heads, hd = headDim(c), V = c.vocabSize, N = B * T;
  const layout = parameterLayout(c);
  const variables = new Map<string, tf.Variable>();
  const moments: { m: tf.Variable; v: tf.Variable; decay: boolean }[] = [];
  const prefix = `bench${Math.random().toString(36).slice(2, 8)}.`;
  for (const t of layout.tensors) {
    const value = tf.tensor(setup.params.subarray(t.offset, t.offset + t.size), [...t.shape]);
    variables.set(t.name, tf.variable(value, true, prefix + t.name));
    value.dispose();
    moments.push({ m: tf.variable(tf.zeros([...t.shape]), false), v: tf.variable(tf.zeros([...t.shape]), false), decay: t.decay });
  }
  const varList = layout.tensors.map((t) => variables.get(t.name)!);
  const w = (name: string) => variables.get(name)!;

  // The batch: masked input ids (mask → [MASK]) and one-hot next-token targets, made once.
  const ids = new Int32Array(N);
  const targets = new Int32Array(N);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = setup.mask[b * T + t] ? c.maskId : setup.tokens[b * (T + 1) + t];
      targets[b * T + t] = setup.tokens[b * (T + 1) + t + 1];
    }
  }
  const idsTensor = tf.tensor1d(ids, 'int32');
  const oneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32'));
  const causal = causalMask(T);
  const rope = ropeTables(T, hd, c.ropeBase);
  const cos = tf.tensor4d(rope.cos, [1, T, 1, hd / 2]);
  const sin = tf.tensor4d(rope.sin, [1, T, 1, hd / 2]);

  const rmsnorm = (x: tf.Tensor, weight: tf.Tensor) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), c.normEps))), weight);
  const linear = (x: tf.Tensor, weight: tf.Tensor) => tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D, false, true);
  const applyRope = (x: tf.Tensor) => {
    const x4 = tf.reshape(x, [B, T, H, hd]);
    const x1 = tf.slice(x4, [0, 0, 0, 0], [B, T, H, hd / 2]);
    const x2 = tf.slice(x4, [0, 0, 0, hd / 2], [B, T, H, hd / 2]);
    const rotated = tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], 3);
    return tf.reshape(rotated, [N, D]);
  };
  const loss = (): tf.Scalar => {
    let x: tf.Tensor = tf.gather(w('model.embed_tokens.weight'), idsTensor);
    for (let l = 0; l < c.layers; l++) {
      const p = (part: string) => w(layerTensorName(l, part));
      const h1 = rmsnorm(x, p('input_layernorm'));
      const q = applyRope(linear(h1, p('self_attn.q_proj')));
      const k = applyRope(linear(h1, p('self_attn.k_proj')));
      const v = linear(h1, p('self_attn.v_proj'));
      const xMid = tf.add(x, linear(attention(q, k, v, causal, B, T, H, hd), p('self_attn.o_proj')));
      const h2 = rmsnorm(xMid, p('post_attention_layernorm'));
      const gate = linear(h2, p('mlp.gate_proj'));
      const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(h2, p('mlp.up_proj')));
      x = tf.add(xMid, linear(act, p('mlp.down_proj')));
    }
    const logits = linear(rmsnorm(x, w('model.norm.weight')), w('lm_head.weight'));
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  };

  let t = 0;
  /** One step; returns the loss tensor (the caller disposes it). */
  const submitStep = (): tf.Scalar => {
    t++;
    const { lr, beta1, beta2, eps, weightDecay } = optimizer;
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, varList);
      const gs = varList.map((v) => grads[v.name]);
      // A chain of adds, not tf.addN: addN binds every input at once and exceeds the 8 storage buffers
      // per stage that tfjs asks its device for (the pipeline is then invalid and its submissions dropped).
      const norm = tf.sqrt(gs.reduce<tf.Tensor>((sum, g) => tf.add(sum, tf.sum(tf.square(g))), tf.scalar(0)));
      const clip = optimizer.maxGradNorm > 0 ? tf.minimum(1, tf.div(optimizer.maxGradNorm, tf.add(norm, 1e-6))) : tf.scalar(1);
      varList.forEach((param, i) => {
        const { m, v, decay } = moments[i];
        const g = tf.mul(gs[i], clip);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const decayed = decay ? tf.mul(param, 1 - lr * weightDecay) : param;
        param.assign(tf.sub(decayed, tf.mul(lr / bc1, tf.div(m, tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps)))));
      });
      return value;
    });
  };
  return {
    async run(iterations) {
      for (let i = 0; i < iterations; i++) submitStep().dispose();
      await tfjsFinish();
    },
    async step() {
      const value = submitStep();
      const data = await value.data();
      value.dispose();
      return data[0];
    },
    dispose() {
      tf.dispose([...varList, ...moments.flatMap((x) => [x.m, x.v]), idsTensor, oneHot, causal, cos, sin]);
    },
  };
}

/**
 * The model on the GPU: R runs of one LLaMA-style config trained by the same dispatches. Everything is
 * allocated once from the config (memory checked first); a training step encodes prebuilt dispatches
 * into one command buffer and creates nothing. Read it next to src/reference/model.ts: same order.
 */
import type { GpuContext } from '../gpu/context';
import { encodeDispatches, type Dispatch } from '../gpu/dispatch';
import { withErrorScopes } from '../gpu/errorScopes';
import { readFloats } from '../gpu/arena';
import { headDim, validateModelConfig, type ModelConfig } from './config';
import { decayMask, layerTensorName, parameterLayout, type ParameterLayout } from './layout';
import { bufferPlan, checkMemory } from './memory';
import { matmul, type MatmulVariant } from '../kernels/matmul';
import { embeddingBackward, embeddingForward } from '../kernels/embedding';
import { rmsnormBackwardInput, rmsnormBackwardWeight, rmsnormForward } from '../kernels/rmsnorm';
import { ropeBackward, ropeForward, uploadRopeTables } from '../kernels/rope';
import { attentionBackward, attentionForward } from '../kernels/attention';
import { accumulate, residualAdd } from '../kernels/residual';
import { swigluBackward, swigluForward } from '../kernels/swiglu';
import { crossEntropyMean, crossEntropyRows } from '../kernels/crossEntropy';
import { gradNorm } from '../kernels/gradNorm';
import { adamwUpdate } from '../kernels/adamw';

export interface GpuModelOptions {
  /** Independent runs trained together. */
  R: number;
  /** Sequences per run per step. */
  B: number;
  maxGradNorm: number;
  matmulVariant?: MatmulVariant;
  /** GPU memory the model may use; default: half of the largest buffer size the device allows × 4. */
  memoryBudgetBytes?: number;
  /**
   * Train on weighted rows (supervised fine-tuning): the loss is the mean over rows whose weight is 1, set
   * with each batch by writeLossWeights. Evaluation is unweighted either way.
   */
  lossWeights?: boolean;
}

const OPTIMIZER_STATE = ['params', 'm', 'v'] as const;

export class GpuModel {
  /** Forward to the mean loss and the logits gradient (the training forward). */
  readonly forward: Dispatch[] = [];
  /** Forward to the per-row loss without gradients (evaluation on clean inputs). */
  readonly evaluate: Dispatch[] = [];
  readonly backward: Dispatch[] = [];
  readonly optimizer: Dispatch[] = [];
  private readonly buffers = new Map<string, GPUBuffer>();
  readonly layout: ParameterLayout;
  readonly bytes: number;
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext, readonly config: ModelConfig, readonly options: GpuModelOptions, bytes: number,
  ) {
    this.layout = parameterLayout(config);
    this.bytes = bytes;
  }

  static async build(ctx: GpuContext, config: ModelConfig, options: GpuModelOptions): Promise<GpuModel> {
    validateModelConfig(config);
    const { R, B } = options;
    if (!Number.isInteger(R) || R < 1) throw new RangeError(`runs must be a positive integer, got ${R}`);
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`batch must be a positive integer, got ${B}`);
    const plan = bufferPlan(config, R, B, { lossWeights: options.lossWeights });
    const limits = ctx.device.limits;
    const budget = options.memoryBudgetBytes ?? 4 * Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    const { totalBytes } = checkMemory(plan, limits, budget);
    const model = new GpuModel(ctx, config, options, totalBytes);
    await withErrorScopes(ctx.device, 'allocating the model', () => {
      for (const entry of plan) model.buffers.set(entry.name, ctx.arena.buffer(entry.name, entry.floats * 4));
    });
    ctx.device.queue.writeBuffer(model.buffer('decay'), 0, decayMask(model.layout));
    await model.buildDispatches();
    return model;
  }

  private buffer(name: string): GPUBuffer {
    const buffer = this.buffers.get(name);
    if (!buffer) throw new Error(`GpuModel has no buffer ${name}`);
    return buffer;
  }

  /** Parameters of every run [R, P] (padded past R·P). */
  get paramsBuffer(): GPUBuffer {
    return this.buffer('params');
  }

  /** Mean training loss of each run at the last forward [R]. */
  get lossMeanBuffer(): GPUBuffer {
    return this.buffer('lossMean');
  }

  /** Per-run gradient (global norm, clip scale) of the last step [R, 2]. */
  get gradStatsBuffer(): GPUBuffer {
    return this.buffer('stats');
  }

  /** Per-token loss of the last forward [R, B·T]. */
  get rowLossBuffer(): GPUBuffer {
    return this.buffer('rowLoss');
  }

  /** Logits of the last forward [R, B·T, V]. */
  get logitsBuffer(): GPUBuffer {
    return this.buffer('logits');
  }

  /** Attention probabilities of layer `layer` at the last forward [R, B, H, T, T]. */
  attentionProbsBuffer(layer: number): GPUBuffer {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.config.layers)) throw new RangeError(`layer ${layer} is outside 0..${this.config.layers - 1}`);
    return this.buffer(`probs.${layer}`);
  }

  /** Parameters of run r (e.g. the seeded init); the other runs are untouched. */
  writeRunParameters(r: number, params: Float32Array): void {
    if (params.length !== this.layout.P) throw new RangeError(`expected ${this.layout.P} parameters, got ${params.length}`);
    this.ctx.device.queue.writeBuffer(this.buffer('params'), r * this.layout.P * 4, params);
  }

  /** Clean tokens [R, B, T+1] and mask [R, B, T] of the next step. */
  writeBatch(tokens: Uint32Array, mask: Uint32Array): void {
    this.ctx.device.queue.writeBuffer(this.buffer('tokens'), 0, tokens);
    this.ctx.device.queue.writeBuffer(this.buffer('mask'), 0, mask);
  }

  /** The next step's loss weights [R, B·T] (0 or 1) and per-run scales [R] (see lossScales); lossWeights models only. */
  writeLossWeights(weights: Float32Array, scales: Float32Array): void {
    if (!this.options.lossWeights) throw new Error('this model was built without loss weights (GpuModelOptions.lossWeights)');
    this.ctx.device.queue.writeBuffer(this.buffer('lossWeights'), 0, weights as Float32Array<ArrayBuffer>);
    this.ctx.device.queue.writeBuffer(this.buffer('lossScale'), 0, scales as Float32Array<ArrayBuffer>);
  }

  /** AdamW's [R, 8] per-run hyperparameters for the next step (see adamwHyper). */
  writeHyper(hyper: Float32Array): void {
    this.ctx.device.queue.writeBuffer(this.buffer('hyper'), 0, hyper);
  }

  /** Encodes one full training step (forward, backward, clip, AdamW) into `encoder`. */
  encodeTrainingStep(encoder: GPUCommandEncoder): void {
    encodeDispatches(this.ctx, encoder, [...this.forward, ...this.backward, ...this.optimizer], 'train-step');
  }

  /** Submits one training step as one command buffer. */
  trainStep(): void {
    const encoder = this.ctx.device.createCommandEncoder({ label: 'train-step' });
    this.encodeTrainingStep(encoder);
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  readParams(): Promise<Float32Array> {
    return this.read('params');
  }

  readGradients(): Promise<Float32Array> {
    return this.read('grads');
  }

  readGradStats(): Promise<Float32Array> {
    return this.read('stats');
  }

  readLossMean(): Promise<Float32Array> {
    return this.read('lossMean');
  }

  readLogits(): Promise<Float32Array> {
    return this.read('logits');
  }

  /** Parameters and AdamW moments of every run, each [R, P] (the buffers' padding cut off). */
  async readOptimizerState(): Promise<{ params: Float32Array; m: Float32Array; v: Float32Array }> {
    const values = this.options.R * this.layout.P;
    const [params, m, v] = await Promise.all(OPTIMIZER_STATE.map((name) => this.read(name)));
    return { params: params.slice(0, values), m: m.slice(0, values), v: v.slice(0, values) };
  }

  /** Replaces the parameters and AdamW moments of every run (each [R, P], as readOptimizerState returns them). */
  writeOptimizerState(state: { params: Float32Array; m: Float32Array; v: Float32Array }): void {
    for (const name of OPTIMIZER_STATE) this.ctx.device.queue.writeBuffer(this.buffer(name), 0, state[name] as Float32Array<ArrayBuffer>);
  }

  private async read(name: string): Promise<Float32Array> {
    return readFloats(this.ctx.device, this.buffer(name));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const buffer of this.buffers.values()) this.ctx.arena.destroy(buffer);
    this.buffers.clear();
  }

  private async buildDispatches(): Promise<void> {
    const { ctx, config, layout } = this;
    const { R, B } = this.options;
    const T = config.context, D = config.dModel, F = config.dFF, V = config.vocabSize, H = config.heads;
    const N = B * T, hd = headDim(config), P = layout.P;
    const variant = this.options.matmulVariant;
    const b = (name: string) => this.buffer(name);
    const slot = (name: string) => {
      const t = layout.byName.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t;
    };
    const rope = uploadRopeTables(ctx, T, hd, config.ropeBase);
    this.buffers.set('rope.cos', rope.cos);
    this.buffers.set('rope.sin', rope.sin);
    const attentionShape = { R, B, T, H, headDim: hd };
    const ropeDims = { R, B, T, H, headDim: hd, cos: rope.cos, sin: rope.sin };
    const inParams = (name: string) => ({ offset: slot(name).offset, runStride: P });

    /** Y [R, N, out] = X · Wᵀ with W a parameter tensor [out, in]. */
    const linear = (x: GPUBuffer, weight: string, y: GPUBuffer, inDim: number, outDim: number) =>
      matmul(ctx, { a: x, b: b('params'), c: y, R, M: N, N: outDim, K: inDim, transB: true, variant,
        layout: { b: inParams(weight) } });
    /** dW = dYᵀ · X into the gradient slot of `weight` (overwritten). */
    const weightGrad = (dy: GPUBuffer, x: GPUBuffer, weight: string, inDim: number, outDim: number) =>
      matmul(ctx, { a: dy, b: x, c: b('grads'), R, M: outDim, N: inDim, K: N, transA: true, variant,
        layout: { c: inParams(weight) } });
    /** dX (+)= dY · W. */
    const inputGrad = (dy: GPUBuffer, weight: string, dx: GPUBuffer, inDim: number, outDim: number, add = false) =>
      matmul(ctx, { a: dy, b: b('params'), c: dx, R, M: N, N: inDim, K: outDim, accumulate: add, variant,
        layout: { b: inParams(weight) } });
    const norm = (x: GPUBuffer, weight: string, y: GPUBuffer, rstd: GPUBuffer) =>
      rmsnormForward(ctx, { x, weight: b('params'), y, rstd, eps: config.normEps, R, N, C: D,
        weightOffset: slot(weight).offset, weightRunStride: P });
    const normBackward = async (dy: GPUBuffer, x: GPUBuffer, weight: string, rstd: GPUBuffer, dx: GPUBuffer) => [
      await rmsnormBackwardInput(ctx, { dy, x, weight: b('params'), rstd, dx, R, N, C: D,
        weightOffset: slot(weight).offset, weightRunStride: P }),
      await rmsnormBackwardWeight(ctx, { dy, x, rstd, dWeight: b('grads'), R, N, C: D,
        dWeightOffset: slot(weight).offset, dWeightRunStride: P }),
    ];

    // ---- forward ----
    const forward: Dispatch[] = [];
    const embed = slot('model.embed_tokens.weight');
    forward.push(await embeddingForward(ctx, { R, B, T, V, C: D, maskId: config.maskId, tokens: b('tokens'),
      mask: b('mask'), table: b('params'), out: b('x.0'), tableOffset: embed.offset, tableRunStride: P }));
    for (let l = 0; l < config.layers; l++) {
      const w = (part: string) => layerTensorName(l, part);
      const a = (name: string) => b(`${name}.${l}`);
      forward.push(
        await norm(a('x'), w('input_layernorm'), a('h1'), a('rstd1')),
        await linear(a('h1'), w('self_attn.q_proj'), a('q'), D, D),
        await linear(a('h1'), w('self_attn.k_proj'), a('k'), D, D),
        await linear(a('h1'), w('self_attn.v_proj'), a('v'), D, D),
        await ropeForward(ctx, { x: a('q'), ...ropeDims }),
        await ropeForward(ctx, { x: a('k'), ...ropeDims }),
        await attentionForward(ctx, { q: a('q'), k: a('k'), v: a('v'), probs: a('probs'), out: a('att'), shape: attentionShape }),
        await linear(a('att'), w('self_attn.o_proj'), b('branch'), D, D),
        await residualAdd(ctx, { a: a('x'), b: b('branch'), out: a('xMid'), count: R * N * D }),
        await norm(a('xMid'), w('post_attention_layernorm'), a('h2'), a('rstd2')),
        await linear(a('h2'), w('mlp.gate_proj'), a('gate'), D, F),
        await linear(a('h2'), w('mlp.up_proj'), a('up'), D, F),
        await swigluForward(ctx, { gate: a('gate'), up: a('up'), h: a('act'), count: R * N * F }),
        await linear(a('act'), w('mlp.down_proj'), b('branch'), F, D),
        await residualAdd(ctx, { a: a('xMid'), b: b('branch'), out: b(`x.${l + 1}`), count: R * N * D }),
      );
    }
    const xLast = b(`x.${config.layers}`);
    forward.push(
      await norm(xLast, 'model.norm.weight', b('hFinal'), b('rstdFinal')),
      await linear(b('hFinal'), 'lm_head.weight', b('logits'), D, V),
    );
    const ceShape = { R, B, T, V, logits: b('logits'), tokens: b('tokens'), rowLoss: b('rowLoss') };
    const mean = await crossEntropyMean(ctx, { rowLoss: b('rowLoss'), lossMean: b('lossMean'), R, N });
    this.evaluate.push(...forward, await crossEntropyRows(ctx, ceShape), mean);
    if (this.options.lossWeights) {
      const weights = { lossWeights: b('lossWeights'), lossScale: b('lossScale') };
      this.forward.push(...forward, await crossEntropyRows(ctx, { ...ceShape, dLogits: b('dLogits'), weights }),
        await crossEntropyMean(ctx, { rowLoss: b('rowLoss'), lossMean: b('lossMean'), R, N, weights: weights.lossWeights }));
    } else {
      this.forward.push(...forward, await crossEntropyRows(ctx, { ...ceShape, dLogits: b('dLogits') }), mean);
    }

    // ---- backward (reverse order; every gradient slot is overwritten, so no zeroing is needed) ----
    const backward = this.backward;
    backward.push(
      await weightGrad(b('dLogits'), b('hFinal'), 'lm_head.weight', D, V),
      await inputGrad(b('dLogits'), 'lm_head.weight', b('dh'), D, V),
      ...await normBackward(b('dh'), xLast, 'model.norm.weight', b('rstdFinal'), b('dx')),
    );
    for (let l = config.layers - 1; l >= 0; l--) {
      const w = (part: string) => layerTensorName(l, part);
      const a = (name: string) => b(`${name}.${l}`);
      // MLP branch: x_{l+1} = xMid + down(swiglu(gate(h2), up(h2))); dx holds d x_{l+1}.
      backward.push(
        await weightGrad(b('dx'), a('act'), w('mlp.down_proj'), F, D),
        await inputGrad(b('dx'), w('mlp.down_proj'), b('dAct'), F, D),
        await swigluBackward(ctx, { dh: b('dAct'), gate: a('gate'), up: a('up'), dGate: b('dGate'), dUp: b('dUp'), count: R * N * F }),
        await weightGrad(b('dGate'), a('h2'), w('mlp.gate_proj'), D, F),
        await weightGrad(b('dUp'), a('h2'), w('mlp.up_proj'), D, F),
        await inputGrad(b('dGate'), w('mlp.gate_proj'), b('dh'), D, F),
        await inputGrad(b('dUp'), w('mlp.up_proj'), b('dh'), D, F, true),
        ...await normBackward(b('dh'), a('xMid'), w('post_attention_layernorm'), a('rstd2'), b('dhPart')),
        await accumulate(ctx, { target: b('dx'), addend: b('dhPart'), count: R * N * D }),
      );
      // Attention branch: xMid = x + o(attention(rope(q(h1)), rope(k(h1)), v(h1))); dx now holds d xMid.
      backward.push(
        await weightGrad(b('dx'), a('att'), w('self_attn.o_proj'), D, D),
        await inputGrad(b('dx'), w('self_attn.o_proj'), b('dAtt'), D, D),
        ...await attentionBackward(ctx, { dOut: b('dAtt'), q: a('q'), k: a('k'), v: a('v'), probs: a('probs'),
          dScores: b('dScores'), dq: b('dq'), dk: b('dk'), dv: b('dv'), shape: attentionShape }),
        await ropeBackward(ctx, { x: b('dq'), ...ropeDims }),
        await ropeBackward(ctx, { x: b('dk'), ...ropeDims }),
        await weightGrad(b('dq'), a('h1'), w('self_attn.q_proj'), D, D),
        await weightGrad(b('dk'), a('h1'), w('self_attn.k_proj'), D, D),
        await weightGrad(b('dv'), a('h1'), w('self_attn.v_proj'), D, D),
        await inputGrad(b('dq'), w('self_attn.q_proj'), b('dh'), D, D),
        await inputGrad(b('dk'), w('self_attn.k_proj'), b('dh'), D, D, true),
        await inputGrad(b('dv'), w('self_attn.v_proj'), b('dh'), D, D, true),
        ...await normBackward(b('dh'), a('x'), w('input_layernorm'), a('rstd1'), b('dhPart')),
        await accumulate(ctx, { target: b('dx'), addend: b('dhPart'), count: R * N * D }),
      );
    }
    backward.push(...await embeddingBackward(ctx, { R, B, T, V, C: D, maskId: config.maskId, tokens: b('tokens'),
      mask: b('mask'), dOut: b('dx'), dTable: b('grads'), dTableOffset: embed.offset, dTableRunStride: P,
      scratch: b('embedScratch') }));

    // ---- optimizer: per-run global norm and clip scale, then AdamW, all on the GPU ----
    this.optimizer.push(
      ...await gradNorm(ctx, { grads: b('grads'), partials: b('partials'), stats: b('stats'), R, P, maxNorm: this.options.maxGradNorm }),
      await adamwUpdate(ctx, { params: b('params'), grads: b('grads'), m: b('m'), v: b('v'), decay: b('decay'),
        hyper: b('hyper'), stats: b('stats'), R, P }),
    );
  }
}

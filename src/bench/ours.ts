/**
 * Our side of the benchmark: the engine's own kernels and training step, each wrapped as a contender
 * whose `run(n)` submits n operations and resolves when the GPU has finished them.
 */
import { BufferArena } from '../gpu/arena';
import type { GpuContext } from '../gpu/context';
import { encodeDispatches, type Dispatch } from '../gpu/dispatch';
import { matmul, type MatmulVariant } from '../kernels/matmul';
import { attentionBackward, attentionForward, type AttentionShape } from '../kernels/attention';
import { adamwHyper, type AdamWRunSettings } from '../kernels/adamw';
import { GpuModel } from '../model/gpuModel';
import { Study } from '../engine/gpuStudy';
import type { StudyConfig } from '../config/presets';
import { randomFloats } from '../util/random';
import type { ModelConfig } from '../model/config';

export interface Contender {
  run(iterations: number): Promise<void>;
  dispose(): void;
}

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** B stored [N, K] (a linear layer's weight [out, in]); otherwise [K, N]. */
  transB: boolean;
}

/** A context whose buffers (and kernel parameter uniforms) live in a private arena, freed by `free`. */
function scoped(ctx: GpuContext): { sctx: GpuContext; free(): void } {
  const arena = new BufferArena(ctx.device);
  return { sctx: { ...ctx, arena }, free: () => arena.destroyAll() };
}

function submitter(ctx: GpuContext, dispatches: readonly Dispatch[], label: string) {
  return async (iterations: number) => {
    const encoder = ctx.device.createCommandEncoder({ label });
    for (let i = 0; i < iterations; i++) encodeDispatches(ctx, encoder, dispatches, label);
    ctx.device.queue.submit([encoder.finish()]);
    await ctx.device.queue.onSubmittedWorkDone();
  };
}

export async function oursMatmul(ctx: GpuContext, shape: MatmulShape, variant: MatmulVariant, seed = 1): Promise<Contender> {
  const { sctx, free } = scoped(ctx);
  const { M, N, K, transB } = shape;
  const a = sctx.arena.upload('bench.a', randomFloats(seed, M * K));
  const b = sctx.arena.upload('bench.b', randomFloats(seed + 1, K * N));
  const c = sctx.arena.buffer('bench.c', 4 * M * N);
  const dispatch = await matmul(sctx, { a, b, c, R: 1, M, N, K, transB, variant });
  return { run: submitter(ctx, [dispatch], 'bench.matmul'), dispose: free };
}

/** Causal attention forward + backward (3 dispatches) at one shape, inputs random. */
export async function oursAttention(ctx: GpuContext, shape: AttentionShape, seed = 1): Promise<Contender> {
  const { sctx, free } = scoped(ctx);
  const act = shape.R * shape.B * shape.T * shape.H * shape.headDim;
  const scores = shape.R * shape.B * shape.H * shape.T * shape.T;
  const upload = (name: string, s: number) => sctx.arena.upload(name, randomFloats(seed + s, act));
  const q = upload('q', 0), k = upload('k', 1), v = upload('v', 2), dOut = upload('dOut', 3);
  const buffer = (name: string, n: number) => sctx.arena.buffer(name, 4 * n);
  const out = buffer('out', act), probs = buffer('probs', scores), dScores = buffer('dScores', scores);
  const dq = buffer('dq', act), dk = buffer('dk', act), dv = buffer('dv', act);
  const dispatches = [
    await attentionForward(sctx, { q, k, v, probs, out, shape }),
    ...await attentionBackward(sctx, { dOut, q, k, v, probs, dScores, dq, dk, dv, shape }),
  ];
  return { run: submitter(ctx, dispatches, 'bench.attention'), dispose: free };
}

export interface ModelStepSetup {
  config: ModelConfig;
  B: number;
  /** One run's flat parameters [P] (the layout of src/model/layout.ts). */
  params: Float32Array;
  /** [B, T+1] clean tokens and [B, T] mask (1 = masked input). */
  tokens: Uint32Array;
  mask: Uint32Array;
  optimizer: AdamWRunSettings & { maxGradNorm: number };
}

/**
 * One GpuModel with R = 1 training on a fixed batch: each step writes the batch and AdamW's per-step
 * hyperparameters (as the Study does) and submits the step (forward, backward, clip, AdamW) as one command buffer.
 */
export async function oursModelStep(ctx: GpuContext, setup: ModelStepSetup): Promise<Contender & { step(): Promise<number> }> {
  const { config, B, optimizer } = setup;
  const model = await GpuModel.build(ctx, config, { R: 1, B, maxGradNorm: optimizer.maxGradNorm });
  model.writeRunParameters(0, setup.params);
  const hyper = new Float32Array(8);
  let t = 0;
  const submitStep = () => {
    t++;
    model.writeBatch(setup.tokens, setup.mask);
    model.writeHyper(adamwHyper([optimizer], t, hyper));
    model.trainStep();
  };
  return {
    async run(iterations) {
      for (let i = 0; i < iterations; i++) submitStep();
      await ctx.device.queue.onSubmittedWorkDone();
    },
    /** One step; resolves with that step's loss (a readback: for the same-math check only). */
    async step() {
      submitStep();
      return (await model.readLossMean())[0];
    },
    dispose: () => model.dispose(),
  };
}

/** The default study (its arms × seeds as R runs of one model), stepping with fresh batches like the page does. */
export async function oursStudyStep(ctx: GpuContext, config: StudyConfig): Promise<Contender & { R: number }> {
  const study = await Study.create(ctx, { ...config, steps: 1_000_000 });
  return {
    R: study.R,
    async run(iterations) {
      for (let i = 0; i < iterations; i++) study.trainStep();
      await study.flush();
    },
    dispose: () => study.dispose(),
  };
}

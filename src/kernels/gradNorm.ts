import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Values one stage-1 workgroup reduces (256 threads × 8 values); must match CHUNK in shaders/grad_norm.wgsl. */
export const GRAD_NORM_CHUNK = 2048;

/** Partial sums per run: ceil(P / GRAD_NORM_CHUNK). */
export function gradNormChunks(P: number): number {
  return Math.max(1, ceilDiv(P, GRAD_NORM_CHUNK));
}

/** Length in floats of the `partials` scratch buffer `gradNorm` needs: R · ceil(P / 2048). */
export function gradNormPartialsLength(R: number, P: number): number {
  return R * gradNormChunks(P);
}

export interface GradNormIo {
  /** [R, P] f32 gradients (read only). */
  grads: GPUBuffer;
  /** [R, gradNormChunks(P)] f32 scratch, caller-allocated (see gradNormPartialsLength); contents are overwritten. */
  partials: GPUBuffer;
  /** [R, 2] f32 output: (norm, clipScale) per run. */
  stats: GPUBuffer;
  R: number;
  P: number;
  /** Clip threshold shared by all runs; ≤ 0 disables clipping (clipScale = 1). Fixed when built. */
  maxNorm: number;
}

/**
 * Global gradient L2 norm and clip scale of each run, as torch.nn.utils.clip_grad_norm_ computes them:
 * `stats[r] = (norm, clipScale)` with norm = sqrt(Σ_j grads[r, j]²) and
 * clipScale = min(1, maxNorm / (norm + 1e-6)) when maxNorm > 0, else 1.
 *
 * Non-finite rule: when a run's sum of squares is NaN or Inf (a NaN/Inf gradient, or f32 overflow of
 * the sum, i.e. a norm beyond ~1.8e19), stats[r, 0] is that non-finite value (NaN stays NaN, Inf stays
 * Inf) and clipScale is 0. `adamwUpdate` skips such a run entirely (params, m, v untouched), so one bad
 * step never corrupts the parameters; the trainer sees the non-finite norm.
 *
 * Two dispatches, to be encoded in order (in one pass is fine): `sumSquares` (grid: chunks × R, one
 * workgroup per 2048 values of a run, fixed tree) then `finalize` (one workgroup per run, fixed tree).
 * The result is bit-identical from run to run. Params (binding 0, shared by both): P u32, chunks u32,
 * maxNorm f32, pad.
 */
export async function gradNorm(ctx: GpuContext, io: GradNormIo): Promise<Dispatch[]> {
  if (!(io.R >= 1 && io.P >= 1)) throw new Error(`gradNorm: need R ≥ 1 and P ≥ 1 (got R=${io.R}, P=${io.P})`);
  const chunks = gradNormChunks(io.P);
  const words = new ArrayBuffer(16);
  new Uint32Array(words, 0, 2).set([io.P, chunks]);
  new Float32Array(words, 8, 1)[0] = io.maxNorm;
  const params = ctx.arena.uniform('gradNorm.params', new Uint8Array(words));
  const [x, y] = grid2d(chunks);
  return [
    await makeDispatch(ctx, {
      label: 'gradNorm.sumSquares', shader: 'grad_norm', entryPoint: 'sumSquares',
      bindings: [params, io.grads, io.partials],
      workgroups: [x, y, io.R],
    }),
    await makeDispatch(ctx, {
      label: 'gradNorm.finalize', shader: 'grad_norm', entryPoint: 'finalize',
      bindings: [params, io.partials, io.stats],
      workgroups: [io.R, 1, 1],
    }),
  ];
}

import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

const WORKGROUP_SIZE = 256;

/** Floats per run in the `hyper` buffer. */
export const ADAMW_HYPER_STRIDE = 8;
/** Slot of each field within a run's row of `hyper`. */
export const AdamWHyperSlot = {
  lr: 0, beta1: 1, beta2: 2, eps: 3, weightDecay: 4, biasCorrection1: 5, biasCorrection2: 6, active: 7,
} as const;

/** One run's optimizer settings for the current step. */
export interface AdamWRunSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** false = frozen this step: params, m and v stay exactly as they are. Default true. */
  active?: boolean;
}

/**
 * Fills the [R, 8] f32 `hyper` rows (lr, β1, β2, eps, weightDecay, 1−β1^t, 1−β2^t, active) for one step.
 * `step` is t (starting at 1, torch's `state['step']` after its increment), one value for all runs or
 * one per run. Pass `out` to reuse an array every step. Upload with `queue.writeBuffer(hyper, 0, out)`.
 */
export function adamwHyper(runs: readonly AdamWRunSettings[], step: number | ArrayLike<number>,
  out = new Float32Array(runs.length * ADAMW_HYPER_STRIDE)): Float32Array {
  if (out.length < runs.length * ADAMW_HYPER_STRIDE) throw new Error(`adamwHyper: out holds ${out.length} floats, need ${runs.length * ADAMW_HYPER_STRIDE}`);
  runs.forEach((run, r) => {
    const t = typeof step === 'number' ? step : step[r];
    if (!(Number.isInteger(t) && t >= 1)) throw new Error(`adamwHyper: step t must be an integer ≥ 1 (run ${r}: ${t})`);
    const row = r * ADAMW_HYPER_STRIDE;
    out[row + AdamWHyperSlot.lr] = run.lr;
    out[row + AdamWHyperSlot.beta1] = run.beta1;
    out[row + AdamWHyperSlot.beta2] = run.beta2;
    out[row + AdamWHyperSlot.eps] = run.eps;
    out[row + AdamWHyperSlot.weightDecay] = run.weightDecay;
    out[row + AdamWHyperSlot.biasCorrection1] = 1 - run.beta1 ** t;
    out[row + AdamWHyperSlot.biasCorrection2] = 1 - run.beta2 ** t;
    out[row + AdamWHyperSlot.active] = run.active === false ? 0 : 1;
  });
  return out;
}

export interface AdamWIo {
  /** [R, P] f32 parameters, updated in place. */
  params: GPUBuffer;
  /** [R, P] f32 gradients (read only; scaled by clipScale inside the kernel, the buffer is not changed). */
  grads: GPUBuffer;
  /** [R, P] f32 first moment m, updated in place (start at zeros). */
  m: GPUBuffer;
  /** [R, P] f32 second moment v, updated in place (start at zeros). */
  v: GPUBuffer;
  /** [P] f32 weight-decay multiplier shared by all runs: 1 = decayed, 0 = not (norms, embeddings…). */
  decay: GPUBuffer;
  /** [R, 8] f32 per-run hyperparameters for this step, from `adamwHyper`, written with queue.writeBuffer. */
  hyper: GPUBuffer;
  /** [R, 2] f32 (norm, clipScale) from `gradNorm`. */
  stats: GPUBuffer;
  R: number;
  P: number;
}

/**
 * One AdamW step (torch.optim.AdamW semantics, decoupled weight decay) for every run, elementwise:
 *   g = grad · clipScale;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
 *   p = p · (1 − lr·wd·decay[j]);  p = p − (lr/bc1) · m / (sqrt(v)/sqrt(bc2) + eps)
 * A run is skipped entirely (params, m, v bit-identical) when hyper[r, 7] (active) is 0 or when its
 * stats[r, 0] (norm) is non-finite — see `gradNorm` for the non-finite rule.
 * Grid: ceil(P / 256) workgroups over x/y (grid2d) × R over z. Params (binding 0): P u32.
 * Bindings: 1 params rw, 2 grads, 3 m rw, 4 v rw, 5 decay, 6 hyper, 7 stats.
 */
export async function adamwUpdate(ctx: GpuContext, io: AdamWIo): Promise<Dispatch> {
  if (!(io.R >= 1 && io.P >= 1)) throw new Error(`adamwUpdate: need R ≥ 1 and P ≥ 1 (got R=${io.R}, P=${io.P})`);
  const [x, y] = grid2d(ceilDiv(io.P, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label: 'adamw.update', shader: 'adamw', entryPoint: 'update',
    bindings: [ctx.arena.uniform('adamw.params', new Uint32Array([io.P])),
      io.params, io.grads, io.m, io.v, io.decay, io.hyper, io.stats],
    workgroups: [x, y, io.R],
  });
}

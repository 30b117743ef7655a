import type { GpuContext } from '../gpu/context';
import { adamwHyper, adamwUpdate, type AdamWRunSettings } from '../kernels/adamw';
import { adamwReference, type AdamWState } from '../reference/adamw';
import { gradNormReference } from '../reference/gradNorm';
import { randomFloats, randomInts } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export interface AdamWShape { R: number; P: number }

/**
 * Absolute tolerance on params, m and v after a few steps (all O(1) here: params and gradients in
 * (−1, 1), lr ≤ 1e-2). The f32 update differs from float64 by a few ulps per step.
 */
export const ADAMW_TOLERANCE = 1e-5;

/** Distinct settings per run (weight decay on, eps not negligible for one run). */
export function adamwTestSettings(R: number): AdamWRunSettings[] {
  const base: AdamWRunSettings[] = [
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 },
    { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-3, weightDecay: 0.5 },
    { lr: 5e-3, beta1: 0.95, beta2: 0.99, eps: 1e-6, weightDecay: 0 },
  ];
  return Array.from({ length: R }, (_, r) => ({ ...base[r % base.length] }));
}

/**
 * Three AdamW steps on R runs of P parameters, against the float64 reference: a mixed decay mask,
 * per-run settings, clip scales from the reference grad norm (maxNorm engages for some runs) and,
 * when R > 1, the last run frozen on step 2.
 */
export async function checkAdamw(ctx: GpuContext, shape: AdamWShape, seed = 1): Promise<KernelCheck[]> {
  const { R, P } = shape;
  const steps = 3;
  const maxNorm = Math.sqrt(P / 3) * 0.8;
  const settings = adamwTestSettings(R);
  const decay = Float32Array.from(randomInts(seed + 7, P, 2));
  const init = randomFloats(seed, R * P);
  let state: AdamWState = { params: Float64Array.from(init), m: new Float64Array(R * P), v: new Float64Array(R * P) };
  return withScope(ctx, async (scope) => {
    const params = scope.upload('params', init);
    const grads = scope.zeros('grads', R * P);
    const m = scope.zeros('m', R * P);
    const v = scope.zeros('v', R * P);
    const decayBuf = scope.upload('decay', decay);
    const hyper = scope.zeros('hyper', R * 8);
    const stats = scope.zeros('stats', R * 2);
    const dispatch = await adamwUpdate(ctx, { params, grads, m, v, decay: decayBuf, hyper, stats, R, P });
    for (let t = 1; t <= steps; t++) {
      const g = randomFloats(seed + 100 * t, R * P, 1 + 0.5 * t);
      const s = Float32Array.from(gradNormReference(g, R, P, maxNorm));
      const runs = settings.map((run, r) => ({ ...run, active: !(R > 1 && r === R - 1 && t === 2) }));
      const h = adamwHyper(runs, t);
      ctx.device.queue.writeBuffer(grads, 0, g);
      ctx.device.queue.writeBuffer(stats, 0, s);
      ctx.device.queue.writeBuffer(hyper, 0, h);
      scope.run([dispatch]);
      state = adamwReference({ ...state, grads: g, decay, hyper: h, stats: s, R, P });
    }
    const errors = [
      maxAbsError(await scope.read(params), state.params),
      maxAbsError(await scope.read(m), state.m),
      maxAbsError(await scope.read(v), state.v),
    ];
    return [check('adamw', formatShape(shape), errors, ADAMW_TOLERANCE)];
  });
}

export const adamwSelfTestShapes: readonly AdamWShape[] = [{ R: 1, P: 7 }, { R: 3, P: 1030 }];

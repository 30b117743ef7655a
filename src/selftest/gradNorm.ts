import type { GpuContext } from '../gpu/context';
import { gradNorm, gradNormPartialsLength } from '../kernels/gradNorm';
import { gradNormReference } from '../reference/gradNorm';
import { randomFloats } from '../util/random';
import { check, formatShape, withScope, type KernelCheck } from './harness';

export interface GradNormShape { R: number; P: number }

/** Error tolerance: relative on the norm, absolute on clipScale (≤ 1). f32 sums of squares over ~1e5 values. */
export const GRAD_NORM_TOLERANCE = 1e-5;

/** Run r's expected norm is NORM_FACTORS[r % 4] · maxNorm: clipping engages for some runs only. */
const NORM_FACTORS = [0.5, 3, 0.9, 20];

/** R runs of P gradients whose magnitudes differ per run (uniform values, scaled per run). */
export function gradNormInputs(shape: GradNormShape, maxNorm: number, seed: number): Float32Array {
  const grads = randomFloats(seed, shape.R * shape.P);
  const rms = Math.sqrt(1 / 3) * Math.sqrt(shape.P);  // expected norm of P uniform(−1, 1) values
  for (let r = 0; r < shape.R; r++) {
    const scale = (NORM_FACTORS[r % NORM_FACTORS.length] * maxNorm) / rms;
    for (let j = 0; j < shape.P; j++) grads[r * shape.P + j] *= scale;
  }
  return grads;
}

/** Largest relative error of the norms and absolute error of the clip scales; NaN/length mismatch → Infinity. */
export function gradNormError(gpu: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (gpu.length !== reference.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < gpu.length; i++) {
    const ref = reference[i];
    const error = i % 2 === 0 ? Math.abs(gpu[i] - ref) / Math.max(Math.abs(ref), 1e-30) : Math.abs(gpu[i] - ref);
    if (!(error <= worst)) worst = Number.isNaN(error) ? Infinity : error;
  }
  return worst;
}

/** The gradNorm dispatches (both stages) on R runs of P gradients against the float64 reference. */
export async function checkGradNorm(ctx: GpuContext, shape: GradNormShape, seed = 1): Promise<KernelCheck[]> {
  const maxNorm = 1;
  const grads = gradNormInputs(shape, maxNorm, seed);
  const expected = gradNormReference(grads, shape.R, shape.P, maxNorm);
  return withScope(ctx, async (scope) => {
    const gradsBuf = scope.upload('grads', grads);
    const partials = scope.zeros('partials', gradNormPartialsLength(shape.R, shape.P));
    const stats = scope.zeros('stats', shape.R * 2);
    scope.run(await gradNorm(ctx, { grads: gradsBuf, partials, stats, R: shape.R, P: shape.P, maxNorm }));
    const error = gradNormError(await scope.read(stats), expected);
    return [check('gradNorm', formatShape(shape), [error], GRAD_NORM_TOLERANCE)];
  });
}

export const gradNormSelfTestShapes: readonly GradNormShape[] = [{ R: 1, P: 1 }, { R: 3, P: 1000 }, { R: 4, P: 5003 }];

import type { GpuContext } from '../gpu/context';
import { swigluBackward, swigluForward } from '../kernels/swiglu';
import { swigluBackwardReference, swigluForwardReference } from '../reference/swiglu';
import { randomFloats } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export interface SwigluShape { R: number; N: number; F: number }

/** Shapes `npm run selftest` runs: F = 1, an odd F, F across a workgroup boundary, R > 1. */
export const swigluSelfTestShapes: SwigluShape[] = [
  { R: 1, N: 1, F: 1 },
  { R: 2, N: 3, F: 7 },
  { R: 3, N: 5, F: 130 },
];

/** gate ∈ [−GATE_SCALE, GATE_SCALE) covers both saturated tails of the sigmoid; up, dh ∈ [−1, 1). */
export const SWIGLU_GATE_SCALE = 6;

/**
 * Tolerance 1e-5 absolute: outputs are at most ~6 in size and WGSL's exp is accurate to a few ulp
 * (3 + 2|x| ulp), so errors stay ~1e-6.
 */
export const SWIGLU_TOLERANCE = 1e-5;

export function swigluInputs(shape: SwigluShape, seed: number): { gate: Float32Array; up: Float32Array; dh: Float32Array } {
  const count = shape.R * shape.N * shape.F;
  return {
    gate: randomFloats(seed, count, SWIGLU_GATE_SCALE),
    up: randomFloats(seed + 1, count),
    dh: randomFloats(seed + 2, count),
  };
}

/** swigluForward and swigluBackward against the float64 reference. */
export async function checkSwiglu(ctx: GpuContext, shape: SwigluShape, seed = 1): Promise<KernelCheck[]> {
  const count = shape.R * shape.N * shape.F;
  const { gate, up, dh } = swigluInputs(shape, seed);
  const expectedH = swigluForwardReference(gate, up);
  const expected = swigluBackwardReference(dh, gate, up);
  return withScope(ctx, async (scope) => {
    const gateBuf = scope.upload('gate', gate);
    const upBuf = scope.upload('up', up);
    const dhBuf = scope.upload('dh', dh);
    const h = scope.zeros('h', count);
    const dGate = scope.upload('dGate', new Float32Array(count).fill(123)); // must be overwritten
    const dUp = scope.upload('dUp', new Float32Array(count).fill(123));
    scope.run([
      await swigluForward(ctx, { gate: gateBuf, up: upBuf, h, count }),
      await swigluBackward(ctx, { dh: dhBuf, gate: gateBuf, up: upBuf, dGate, dUp, count }),
    ]);
    const name = formatShape(shape);
    return [
      check('swiglu.forward', name, [maxAbsError(await scope.read(h, count), expectedH)], SWIGLU_TOLERANCE),
      check('swiglu.backward', name, [
        maxAbsError(await scope.read(dGate, count), expected.dGate),
        maxAbsError(await scope.read(dUp, count), expected.dUp),
      ], SWIGLU_TOLERANCE),
    ];
  });
}

import type { GpuContext } from '../gpu/context';
import { ropeBackward, ropeForward } from '../kernels/rope';
import { ropeBackwardReference, ropeForwardReference, type RopeShape } from '../reference/rope';
import { ropeTables } from '../kernels/ropeTables';
import { randomFloats } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export type { RopeShape } from '../reference/rope';

/** Shapes `npm run selftest` runs: smallest head, odd head count, R > 1. */
export const ropeSelfTestShapes: RopeShape[] = [
  { R: 1, B: 1, T: 3, H: 1, headDim: 2 },
  { R: 2, B: 2, T: 5, H: 3, headDim: 6 },
  { R: 3, B: 2, T: 7, H: 2, headDim: 16 },
];

/**
 * Tolerance 1e-6 absolute: inputs are in [−1, 1), each output is a two-term f32 expression of the same
 * f32 table values the reference uses (error ≲ 3·2⁻²⁴ · 2).
 */
export const ROPE_TOLERANCE = 1e-6;

/**
 * ropeForward in place on x, ropeBackward in place on an independent dy, against the reference with the
 * same float32 tables. Tables are built for T + 3 positions to exercise "tables longer than T".
 */
export async function checkRope(ctx: GpuContext, shape: RopeShape, seed = 1): Promise<KernelCheck[]> {
  const { R, B, T, H, headDim } = shape;
  const count = R * B * T * H * headDim;
  const x = randomFloats(seed, count);
  const dy = randomFloats(seed + 1, count);
  const { cos, sin } = ropeTables(T + 3, headDim);
  const expectedForward = ropeForwardReference(x, cos, sin, shape);
  const expectedBackward = ropeBackwardReference(dy, cos, sin, shape);
  return withScope(ctx, async (scope) => {
    const xBuf = scope.upload('x', x);
    const dyBuf = scope.upload('dy', dy);
    const cosBuf = scope.upload('cos', cos);
    const sinBuf = scope.upload('sin', sin);
    scope.run([
      await ropeForward(ctx, { x: xBuf, cos: cosBuf, sin: sinBuf, ...shape }),
      await ropeBackward(ctx, { x: dyBuf, cos: cosBuf, sin: sinBuf, ...shape }),
    ]);
    const name = formatShape(shape);
    return [
      check('rope.forward', name, [maxAbsError(await scope.read(xBuf, count), expectedForward)], ROPE_TOLERANCE),
      check('rope.backward', name, [maxAbsError(await scope.read(dyBuf, count), expectedBackward)], ROPE_TOLERANCE),
    ];
  });
}

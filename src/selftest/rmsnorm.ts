import type { GpuContext } from '../gpu/context';
import { hasSubgroups, rmsnormBackwardInput, rmsnormBackwardWeight, rmsnormForward, type RmsNormVariant } from '../kernels/rmsnorm';
import { rmsnormBackwardReference, rmsnormForwardReference, type RmsNormShape } from '../reference/rmsnorm';
import { randomFloats } from '../util/random';
import { changedOutsideRuns, extractRuns, placeRuns } from './flatParams';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export type { RmsNormShape } from '../reference/rmsnorm';

/**
 * A self-test shape; with `paramOffset` / `paramRunPad` the weight and dWeight live inside larger flat buffers
 * (as in a model's [R, P] parameter and gradient buffers): run r's [C] block starts at
 * paramOffset + r·(C + paramRunPad), everything else holds a sentinel that backwardWeight must not touch.
 */
export type RmsNormCheckShape = RmsNormShape & { paramOffset?: number; paramRunPad?: number };

/**
 * Shapes `npm run selftest` runs (each for every variant the device has): C below, at and above the 128-thread workgroup,
 * R > 1, N = 1, N = 70 (two 64-row blocks of the serial variant, the second partial); the third places
 * weight/dWeight inside flat [R, P] buffers (offset 5, run stride C + 11).
 */
export const rmsnormSelfTestShapes: RmsNormCheckShape[] = [
  { R: 1, N: 1, C: 1 },
  { R: 2, N: 5, C: 7 },
  { R: 3, N: 9, C: 130, paramOffset: 5, paramRunPad: 11 },
  { R: 2, N: 70, C: 33 },
];

export const RMSNORM_TEST_EPS = 1e-5;

/**
 * Every row-kernel variant; the self-test checks each the device can run (`rmsnormVariants`; kernel names
 * `rmsnorm.<variant>.forward` / `.backward`). 'subgroup' needs the 'subgroups' feature.
 */
export const RMSNORM_VARIANTS: readonly RmsNormVariant[] = ['workgroup', 'serial', 'subgroup'];

/** The variants this device can run: all of them where it has 'subgroups', else 'workgroup' and 'serial'. */
export function rmsnormVariants(ctx: Pick<GpuContext, 'device'>): RmsNormVariant[] {
  return RMSNORM_VARIANTS.filter((v) => v !== 'subgroup' || hasSubgroups(ctx));
}

/** Inputs of one check: x, dy ∈ [−1, 1), weight ∈ [0.5, 1.5) (all outputs O(1)). */
export function rmsnormInputs(shape: RmsNormShape, seed: number): { x: Float32Array; weight: Float32Array; dy: Float32Array } {
  const { R, N, C } = shape;
  const x = randomFloats(seed, R * N * C);
  const weight = randomFloats(seed + 1, R * C, 0.5).map((w) => 1 + w);
  const dy = randomFloats(seed + 2, R * N * C);
  return { x, weight, dy };
}

/**
 * Tolerances (absolute; outputs are O(1)): forward y and rstd 1e-5 (a C-term f32 sum of squares, relative
 * error ~C·2⁻²⁴ in the worst case). Backward: dx 1e-5 likewise; dWeight is a sum of N terms of size ≤ ~3, so
 * its tolerance grows with N: 1e-5 · max(1, N/16).
 */
export function rmsnormTolerances(shape: RmsNormShape): { forward: number; backward: number } {
  return { forward: 1e-5, backward: 1e-5 * Math.max(1, shape.N / 16) };
}

/**
 * rmsnorm forward, then both backward dispatches on its saved rstd, against the float64 reference, once per
 * row variant in `variants` (default: every variant the device can run, `rmsnormVariants`): rows `rmsnorm.<variant>.forward` and `rmsnorm.<variant>.backward`
 * (backwardWeight has one variant; it runs on that variant's rstd). With `paramOffset`/`paramRunPad` the weight
 * and dWeight are blocks of larger flat buffers filled with a sentinel; the backward row then also fails
 * (error ∞) if any element outside dWeight's blocks changed.
 */
export async function checkRmsnorm(
  ctx: GpuContext, shape: RmsNormCheckShape, seed = 1, variants: readonly RmsNormVariant[] = rmsnormVariants(ctx),
): Promise<KernelCheck[]> {
  const rows: KernelCheck[] = [];
  for (const variant of variants) rows.push(...await checkRmsnormVariant(ctx, shape, seed, variant));
  return rows;
}

async function checkRmsnormVariant(ctx: GpuContext, shape: RmsNormCheckShape, seed: number, variant: RmsNormVariant): Promise<KernelCheck[]> {
  const { R, N, C } = shape;
  const dims = { R, N, C };
  const eps = RMSNORM_TEST_EPS;
  const flat = shape.paramOffset !== undefined || shape.paramRunPad !== undefined;
  const offset = shape.paramOffset ?? 0;
  const stride = C + (shape.paramRunPad ?? 0);
  const { x, weight, dy } = rmsnormInputs(dims, seed);
  const forward = rmsnormForwardReference(x, weight, dims, eps);
  const backward = rmsnormBackwardReference(dy, x, weight, forward.rstd, dims);
  // Flat layout: the blocks sit at offset + r·stride; 123 inside dWeight's blocks (must be overwritten),
  // the sentinel around them (must stay).
  const weightFlat = placeRuns(weight, R, C, offset, stride);
  const dWeightInit = placeRuns(new Float32Array(R * C).fill(123), R, C, offset, stride);
  return withScope(ctx, async (scope) => {
    const xBuf = scope.upload('x', x);
    const wBuf = scope.upload('weight', weightFlat);
    const dyBuf = scope.upload('dy', dy);
    const y = scope.zeros('y', R * N * C);
    const rstd = scope.zeros('rstd', R * N);
    const dx = scope.zeros('dx', R * N * C);
    const dWeight = scope.upload('dWeight', dWeightInit);
    // Without paramOffset/paramRunPad the builders' defaults (dense [R, C]) are exercised.
    const wPlace = flat ? { weightOffset: offset, weightRunStride: stride } : {};
    const dwPlace = flat ? { dWeightOffset: offset, dWeightRunStride: stride } : {};
    scope.run([
      await rmsnormForward(ctx, { x: xBuf, weight: wBuf, y, rstd, eps, variant, ...wPlace, ...dims }),
      await rmsnormBackwardInput(ctx, { dy: dyBuf, x: xBuf, weight: wBuf, rstd, dx, variant, ...wPlace, ...dims }),
      await rmsnormBackwardWeight(ctx, { dy: dyBuf, x: xBuf, rstd, dWeight, ...dwPlace, ...dims }),
    ]);
    const dWeightAfter = await scope.read(dWeight, dWeightInit.length);
    const outside = changedOutsideRuns(dWeightInit, dWeightAfter, R, C, offset, stride);
    const name = formatShape(shape);
    const tol = rmsnormTolerances(shape);
    return [
      check(`rmsnorm.${variant}.forward`, name, [
        maxAbsError(await scope.read(y, R * N * C), forward.y),
        maxAbsError(await scope.read(rstd, R * N), forward.rstd),
      ], tol.forward),
      check(`rmsnorm.${variant}.backward`, name, [
        maxAbsError(await scope.read(dx, R * N * C), backward.dx),
        maxAbsError(extractRuns(dWeightAfter, R, C, offset, stride), backward.dWeight),
        outside === 0 ? 0 : Infinity,   // wrote outside its blocks of the flat gradient buffer
      ], tol.backward),
    ];
  });
}

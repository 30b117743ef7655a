import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { gradNorm, gradNormChunks, gradNormPartialsLength } from '../src/kernels/gradNorm';
import { gradNormReference } from '../src/reference/gradNorm';
import { withScope } from '../src/selftest/harness';
import { GRAD_NORM_TOLERANCE, checkGradNorm, gradNormError, gradNormInputs } from '../src/selftest/gradNorm';
import { randomFloats } from '../src/util/random';
import { testContext } from './gpuContext';

/** Runs both gradNorm stages on `grads` [R, P]; returns stats [R, 2] and the partials scratch. */
async function runGradNorm(ctx: GpuContext, grads: Float32Array, R: number, P: number, maxNorm: number) {
  return withScope(ctx, async (scope) => {
    const gradsBuf = scope.upload('grads', grads);
    const partials = scope.zeros('partials', gradNormPartialsLength(R, P));
    const stats = scope.zeros('stats', R * 2);
    scope.run(await gradNorm(ctx, { grads: gradsBuf, partials, stats, R, P, maxNorm }));
    return { stats: await scope.read(stats), partials: await scope.read(partials) };
  });
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const runBits = (stats: Float32Array, r: number) => bits(stats.subarray(2 * r, 2 * r + 2));

describe('gradNorm reference', () => {
  it('matches hand-computed norms and clip scales (torch clip_grad_norm_ formula)', () => {
    // run 0: (3, 4) → norm 5, clipped to maxNorm 2; run 1: (0.3, 0.4) → 0.5, not clipped.
    const stats = gradNormReference([3, 4, 0.3, 0.4], 2, 2, 2);
    expect(stats[0]).toBeCloseTo(5, 14);
    expect(stats[1]).toBeCloseTo(2 / (5 + 1e-6), 14);
    expect(stats[2]).toBeCloseTo(0.5, 14);
    expect(stats[3]).toBe(1);
    expect(Array.from(gradNormReference([3, 4], 1, 2, 0))).toEqual([5, 1]);
  });

  it('marks NaN, Inf and f32-overflowing runs non-finite with clipScale 0', () => {
    const stats = gradNormReference([1, NaN, 1, Infinity, 1e20, 1, 1, 1], 4, 2, 0);
    expect(stats[0]).toBeNaN();
    expect(stats[1]).toBe(0);
    expect(stats[2]).toBe(Infinity);
    expect(stats[3]).toBe(0);
    expect(stats[4]).toBe(Infinity);
    expect(stats[5]).toBe(0);
    expect(stats[6]).toBeCloseTo(Math.SQRT2, 14);
    expect(stats[7]).toBe(1);
  });
});

describe('gradNorm on WebGPU vs reference', () => {
  const shapes = [
    { R: 3, P: 1 }, { R: 4, P: 7 }, { R: 2, P: 1000 }, { R: 3, P: 2048 }, { R: 2, P: 2049 }, { R: 4, P: 100003 },
  ];
  for (const shape of shapes) {
    it(`R=${shape.R} P=${shape.P} (clipping engages for some runs only)`, async () => {
      const ctx = await testContext();
      // The inputs the check uses really mix clipped and unclipped runs.
      const expected = gradNormReference(gradNormInputs(shape, 1, 1), shape.R, shape.P, 1);
      const clips = Array.from({ length: shape.R }, (_, r) => expected[2 * r + 1]);
      expect(clips.some((c) => c === 1)).toBe(true);
      expect(clips.some((c) => c < 0.99)).toBe(true);
      for (const result of await checkGradNorm(ctx, shape)) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  it('maxNorm 0 disables clipping (clipScale exactly 1)', async () => {
    const ctx = await testContext();
    const R = 3, P = 333;
    const grads = gradNormInputs({ R, P }, 1, 5);
    const { stats } = await runGradNorm(ctx, grads, R, P, 0);
    expect(gradNormError(stats, gradNormReference(grads, R, P, 0))).toBeLessThanOrEqual(GRAD_NORM_TOLERANCE);
    for (let r = 0; r < R; r++) expect(stats[2 * r + 1]).toBe(1);
  });

  it('is deterministic: repeated dispatches give bit-identical partials and stats', async () => {
    const ctx = await testContext();
    const R = 2, P = 100003;
    const grads = randomFloats(11, R * P, 3);
    const first = await runGradNorm(ctx, grads, R, P, 1);
    const second = await runGradNorm(ctx, grads, R, P, 1);
    expect(first.partials.length).toBe(R * gradNormChunks(P));
    expect(bits(second.partials)).toEqual(bits(first.partials));
    expect(bits(second.stats)).toEqual(bits(first.stats));
  });

  it('keeps runs isolated: changing run 1 changes only run 1', async () => {
    const ctx = await testContext();
    const R = 3, P = 5000;
    const grads = gradNormInputs({ R, P }, 1, 3);
    const before = (await runGradNorm(ctx, grads, R, P, 1)).stats;
    const changed = grads.slice();
    for (let j = 0; j < P; j++) changed[P + j] *= 1.5 + (j % 3);
    const after = (await runGradNorm(ctx, changed, R, P, 1)).stats;
    expect(runBits(after, 0)).toEqual(runBits(before, 0));
    expect(runBits(after, 2)).toEqual(runBits(before, 2));
    expect(after[2]).not.toBe(before[2]);
    expect(gradNormError(after, gradNormReference(changed, R, P, 1))).toBeLessThanOrEqual(GRAD_NORM_TOLERANCE);
  });

  for (const maxNorm of [1, 0]) {
    it(`non-finite gradients (maxNorm ${maxNorm}): NaN → norm NaN, Inf/overflow → norm Inf, clipScale 0; other runs unaffected`, async () => {
      const ctx = await testContext();
      const R = 4, P = 3000;
      const clean = gradNormInputs({ R, P }, 1, 9);
      const grads = clean.slice();
      grads[1 * P + 2500] = NaN;
      grads[2 * P + 17] = Infinity;
      grads[3 * P + 0] = 1e20;  // finite, but its square overflows f32
      const { stats } = await runGradNorm(ctx, grads, R, P, maxNorm);
      const cleanStats = (await runGradNorm(ctx, clean, R, P, maxNorm)).stats;
      expect(stats[2]).toBeNaN();
      expect(stats[3]).toBe(0);
      expect(stats[4]).toBe(Infinity);
      expect(stats[5]).toBe(0);
      expect(stats[6]).toBe(Infinity);
      expect(stats[7]).toBe(0);
      const reference = gradNormReference(grads, R, P, maxNorm);
      expect(Number.isNaN(reference[2]) && reference[4] === Infinity && reference[6] === Infinity).toBe(true);
      expect([reference[3], reference[5], reference[7]]).toEqual([0, 0, 0]);
      expect(runBits(stats, 0)).toEqual(runBits(cleanStats, 0));
      expect(gradNormError(stats.subarray(0, 2), reference.subarray(0, 2))).toBeLessThanOrEqual(GRAD_NORM_TOLERANCE);
    });
  }
});

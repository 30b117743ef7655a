import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { crossEntropyMean, crossEntropyRows, type CrossEntropyShape } from '../src/kernels/crossEntropy';
import { crossEntropyReference, nextTokenTargets } from '../src/reference/crossEntropy';
import { withScope } from '../src/selftest/harness';
import { checkCrossEntropy, crossEntropySelfTestShapes } from '../src/selftest/crossEntropy';
import { randomFloats, randomInts } from '../src/util/random';
import { maxAbsDiff, numericGradient } from './finiteDifference';
import { testContext } from './gpuContext';

interface GpuResult {
  rowLoss: Float32Array;
  lossMean: Float32Array;
  dLogits: Float32Array;
  evalRowLoss: Float32Array;
  evalMean: Float32Array;
}

/** Training path (rowsGrad + mean) and evaluation path (rows + mean) on the same inputs. */
async function runGpu(ctx: GpuContext, shape: CrossEntropyShape, logits: Float32Array, tokens: Uint32Array): Promise<GpuResult> {
  const { R, B, T, V } = shape;
  const N = B * T;
  return withScope(ctx, async (scope) => {
    const io = { ...shape, logits: scope.upload('logits', logits), tokens: scope.upload('tokens', tokens) };
    const rowLoss = scope.upload('rowLoss', randomFloats(90, R * N, 50));
    const lossMean = scope.upload('lossMean', randomFloats(91, R, 50));
    const dLogits = scope.upload('dLogits', randomFloats(92, R * N * V, 50));
    const evalRowLoss = scope.upload('evalRowLoss', randomFloats(93, R * N, 50));
    const evalMean = scope.upload('evalMean', randomFloats(94, R, 50));
    scope.run([
      await crossEntropyRows(ctx, { ...io, rowLoss, dLogits }),
      await crossEntropyMean(ctx, { rowLoss, lossMean, R, N }),
      await crossEntropyRows(ctx, { ...io, rowLoss: evalRowLoss }),
      await crossEntropyMean(ctx, { rowLoss: evalRowLoss, lossMean: evalMean, R, N }),
    ]);
    return {
      rowLoss: await scope.read(rowLoss), lossMean: await scope.read(lossMean), dLogits: await scope.read(dLogits),
      evalRowLoss: await scope.read(evalRowLoss), evalMean: await scope.read(evalMean),
    };
  });
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('fused cross-entropy on WebGPU vs reference', () => {
  const shapes: CrossEntropyShape[] = [
    { R: 1, B: 1, T: 1, V: 1 },
    { R: 2, B: 3, T: 7, V: 7 },
    { R: 1, B: 1, T: 33, V: 130 },
    { R: 3, B: 5, T: 13, V: 65 },
    { R: 2, B: 2, T: 150, V: 11 },   // N = 300 rows: several strided rows per thread in the mean
    { R: 1, B: 1, T: 5, V: 513 },    // V = 513 = 8·64 + 1: a ragged last stride
    ...crossEntropySelfTestShapes,
  ];
  for (const shape of shapes) {
    it(JSON.stringify(shape), async () => {
      const ctx = await testContext();
      const checks = await checkCrossEntropy(ctx, shape, 3);
      expect(checks.map((c) => c.kernel)).toEqual(['crossEntropy.loss', 'crossEntropy.grad']);
      for (const c of checks) expect(c.maxAbsError, `${c.kernel} ${c.shape}`).toBeLessThanOrEqual(c.tolerance);
    });
  }

  it('V = 1: loss and gradient are exactly zero', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 3, V: 1 };
    const out = await runGpu(ctx, shape, randomFloats(1, 12, 30), new Uint32Array(16));
    expect([...out.rowLoss].every((l) => l === 0)).toBe(true);
    expect([...out.dLogits].every((g) => g === 0)).toBe(true);
    expect([...out.lossMean]).toEqual([0, 0]);
  });

  it('targets are the clean next tokens; losses and gradient match a hand computation', async () => {
    const ctx = await testContext();
    // B = 1, T = 2, V = 3: rows predict tokens[1] = 2 and tokens[2] = 0.
    const shape = { R: 1, B: 1, T: 2, V: 3 };
    const logits = new Float32Array([0, 0, 0, /* row 1 */ Math.log(2), 0, 0]);
    const tokens = new Uint32Array([1, 2, 0]);
    expect([...nextTokenTargets(tokens, shape)]).toEqual([2, 0]);
    const out = await runGpu(ctx, shape, logits, tokens);
    const loss0 = Math.log(3);                // uniform softmax
    const loss1 = Math.log(4) - Math.log(2);  // softmax = [1/2, 1/4, 1/4], target 0
    expect(out.rowLoss[0]).toBeCloseTo(loss0, 6);
    expect(out.rowLoss[1]).toBeCloseTo(loss1, 6);
    expect(out.lossMean[0]).toBeCloseTo((loss0 + loss1) / 2, 6);
    const expectedGrad = [1 / 3, 1 / 3, 1 / 3 - 1, 1 / 2 - 1, 1 / 4, 1 / 4].map((g) => g / 2);
    expect(maxAbsDiff(out.dLogits, expectedGrad)).toBeLessThan(1e-6);
  });

  it('a target id >= V reads nothing: zero loss and zero gradient for that row only', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 1, T: 4, V: 5 };
    const logits = randomFloats(2, 2 * 4 * 5, 3);
    const tokens = randomInts(3, 2 * 5, 5);
    tokens[2] = 5;            // r0, row 1
    tokens[5 + 4] = 0xffffffff; // r1, row 3
    const out = await runGpu(ctx, shape, logits, tokens);
    const ref = crossEntropyReference(logits, tokens, shape);
    expect(out.rowLoss[1]).toBe(0);
    expect(out.rowLoss[4 + 3]).toBe(0);
    for (const row of [1, 7]) for (let v = 0; v < 5; v++) expect(out.dLogits[row * 5 + v]).toBe(0);
    expect(maxAbsDiff(out.rowLoss, ref.rowLoss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.dLogits, ref.dLogits)).toBeLessThan(1e-6);
    expect(out.rowLoss[0]).toBeGreaterThan(0);
  });

  it('large logits (±50, some ±100) stay finite and accurate', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 3, T: 5, V: 70 };
    const { R, B, T, V } = shape;
    const logits = randomFloats(4, R * B * T * V, 50);
    // exp(100) overflows f32: only a max-subtracted softmax survives these.
    for (let i = 0; i < logits.length; i += 7) logits[i] = i % 2 === 0 ? 100 : -100;
    const tokens = randomInts(5, R * B * (T + 1), V);
    const out = await runGpu(ctx, shape, logits, tokens);
    const ref = crossEntropyReference(logits, tokens, shape);
    for (const a of [out.rowLoss, out.lossMean, out.dLogits]) expect(a.every(Number.isFinite)).toBe(true);
    expect(out.lossMean.every((l) => l > 1)).toBe(true);   // far from uniform: large losses, not 0 or NaN
    // Losses up to ~200 in f32 (ulp 1.5e-5): 1e-6 relative.
    expect(maxAbsDiff(out.rowLoss, ref.rowLoss)).toBeLessThan(2e-4);
    expect(maxAbsDiff(out.lossMean, ref.lossMean)).toBeLessThan(2e-4);
    expect(maxAbsDiff(out.dLogits.map((g) => g * B * T), ref.dLogits.map((g) => g * B * T))).toBeLessThan(1e-5);
  });

  it('runs are isolated: changing run 1 leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const shape = { R: 3, B: 2, T: 6, V: 9 };
    const { B, T, V } = shape;
    const N = B * T;
    const logits = randomFloats(6, 3 * N * V, 4);
    const tokens = randomInts(7, 3 * B * (T + 1), V);
    const before = await runGpu(ctx, shape, logits, tokens);
    const logits2 = logits.slice();
    const tokens2 = tokens.slice();
    logits2.set(randomFloats(8, N * V, 4), N * V);
    tokens2.set(randomInts(9, B * (T + 1), V), B * (T + 1));
    const after = await runGpu(ctx, shape, logits2, tokens2);
    for (const [key, per] of [['rowLoss', N], ['lossMean', 1], ['dLogits', N * V], ['evalRowLoss', N], ['evalMean', 1]] as const) {
      expect(bitsEqual(before[key].subarray(0, per), after[key].subarray(0, per)), `${key} run 0`).toBe(true);
      expect(bitsEqual(before[key].subarray(2 * per), after[key].subarray(2 * per)), `${key} run 2`).toBe(true);
      expect(bitsEqual(before[key].subarray(per, 2 * per), after[key].subarray(per, 2 * per)), `${key} run 1 changed`).toBe(false);
    }
  });

  it('deterministic: repeated runs are bit-identical, and the eval path equals the training path', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 4, T: 100, V: 37 };  // N = 400 rows per run
    const logits = randomFloats(10, 2 * 400 * 37, 5);
    const tokens = randomInts(11, 2 * 4 * 101, 37);
    const a = await runGpu(ctx, shape, logits, tokens);
    const b = await runGpu(ctx, shape, logits, tokens);
    for (const key of ['rowLoss', 'lossMean', 'dLogits', 'evalRowLoss', 'evalMean'] as const) {
      expect(bitsEqual(a[key], b[key]), key).toBe(true);
    }
    expect(bitsEqual(a.rowLoss, a.evalRowLoss)).toBe(true);
    expect(bitsEqual(a.lossMean, a.evalMean)).toBe(true);
  });
});

describe('cross-entropy reference: dLogits vs finite differences of lossMean', () => {
  for (const shape of [{ R: 1, B: 2, T: 3, V: 4 }, { R: 2, B: 1, T: 2, V: 7 }]) {
    it(JSON.stringify(shape), () => {
      const { R, B, T, V } = shape;
      const N = B * T;
      const logits = Float64Array.from(randomFloats(12, R * N * V, 3));
      const tokens = randomInts(13, R * B * (T + 1), V);
      // The runs are independent, so Σ_r lossMean[r] has gradient dLogits in every run's block.
      const loss = (x: Float64Array) => crossEntropyReference(x, tokens, shape).lossMean.reduce((s, l) => s + l, 0);
      const numeric = numericGradient(loss, logits);
      const analytic = crossEntropyReference(logits, tokens, shape).dLogits;
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-7);
      expect(analytic.some((g) => Math.abs(g) > 0.05)).toBe(true);
    });
  }
});

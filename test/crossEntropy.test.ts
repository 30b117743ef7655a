import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import {
  CROSS_ENTROPY_SERIAL_ROWS, crossEntropyMean, crossEntropyRows, lossScales, type CrossEntropyShape, type RowVariant,
} from '../src/kernels/crossEntropy';
import { crossEntropyReference, nextTokenTargets } from '../src/reference/crossEntropy';
import { withScope } from '../src/selftest/harness';
import { CROSS_ENTROPY_VARIANTS, checkCrossEntropy, crossEntropySelfTestShapes } from '../src/selftest/crossEntropy';
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

/** Training path (rows with dLogits + mean) and evaluation path (rows + mean) on the same inputs, one variant. */
async function runGpu(
  ctx: GpuContext, shape: CrossEntropyShape, logits: Float32Array, tokens: Uint32Array, variant: RowVariant,
): Promise<GpuResult> {
  const { R, B, T, V } = shape;
  const N = B * T;
  return withScope(ctx, async (scope) => {
    const io = { ...shape, logits: scope.upload('logits', logits), tokens: scope.upload('tokens', tokens), variant };
    const rowLoss = scope.upload('rowLoss', randomFloats(90, R * N, 50));
    const lossMean = scope.upload('lossMean', randomFloats(91, R, 50));
    const dLogits = scope.upload('dLogits', randomFloats(92, R * N * V, 50));
    const evalRowLoss = scope.upload('evalRowLoss', randomFloats(93, R * N, 50));
    const evalMean = scope.upload('evalMean', randomFloats(94, R, 50));
    scope.run([
      await crossEntropyRows(ctx, { ...io, rowLoss, dLogits }),
      await crossEntropyMean(ctx, { rowLoss, lossMean, R, N, variant }),
      await crossEntropyRows(ctx, { ...io, rowLoss: evalRowLoss }),
      await crossEntropyMean(ctx, { rowLoss: evalRowLoss, lossMean: evalMean, R, N, variant }),
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

describe.each(CROSS_ENTROPY_VARIANTS)('fused cross-entropy (%s variant) on WebGPU vs reference', (variant) => {
  const shapes: CrossEntropyShape[] = [
    { R: 1, B: 1, T: 1, V: 1 },
    { R: 2, B: 3, T: 7, V: 7 },
    { R: 1, B: 1, T: 33, V: 130 },
    { R: 3, B: 5, T: 13, V: 65 },
    { R: 2, B: 2, T: 150, V: 11 },   // N = 300 rows: several strided rows per thread in the mean
    { R: 1, B: 1, T: 5, V: 513 },    // V = 513 = 8·64 + 1: a ragged last stride
    { R: 65, B: 1, T: 2, V: 3 },     // R = 65 runs: two blocks of the serial mean
    ...crossEntropySelfTestShapes,
  ];
  for (const shape of shapes) {
    it(JSON.stringify(shape), async () => {
      const ctx = await testContext();
      const checks = await checkCrossEntropy(ctx, shape, 3, [variant]);
      expect(checks.map((c) => c.kernel)).toEqual([`crossEntropy.${variant}.weighted`, `crossEntropy.${variant}.weightedOnes`,
        `crossEntropy.${variant}.loss`, `crossEntropy.${variant}.grad`]);
      for (const c of checks) expect(c.maxAbsError, `${c.kernel} ${c.shape}`).toBeLessThanOrEqual(c.tolerance);
    });
  }

  it('V = 1: loss and gradient are exactly zero', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 3, V: 1 };
    const out = await runGpu(ctx, shape, randomFloats(1, 12, 30), new Uint32Array(16), variant);
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
    const out = await runGpu(ctx, shape, logits, tokens, variant);
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
    const out = await runGpu(ctx, shape, logits, tokens, variant);
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
    const out = await runGpu(ctx, shape, logits, tokens, variant);
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
    const before = await runGpu(ctx, shape, logits, tokens, variant);
    const logits2 = logits.slice();
    const tokens2 = tokens.slice();
    logits2.set(randomFloats(8, N * V, 4), N * V);
    tokens2.set(randomInts(9, B * (T + 1), V), B * (T + 1));
    const after = await runGpu(ctx, shape, logits2, tokens2, variant);
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
    const a = await runGpu(ctx, shape, logits, tokens, variant);
    const b = await runGpu(ctx, shape, logits, tokens, variant);
    for (const key of ['rowLoss', 'lossMean', 'dLogits', 'evalRowLoss', 'evalMean'] as const) {
      expect(bitsEqual(a[key], b[key]), key).toBe(true);
    }
    expect(bitsEqual(a.rowLoss, a.evalRowLoss)).toBe(true);
    expect(bitsEqual(a.lossMean, a.evalMean)).toBe(true);
  });
});

describe('cross-entropy row variants', () => {
  for (const shape of [{ R: 3, B: 4, T: 32, V: 40 }, { R: 2, B: 1, T: 70, V: 300 }, { R: 1, B: 1, T: 3, V: 2 }]) {
    it(`serial and workgroup agree within tolerance: ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const { R, B, T, V } = shape;
      const N = B * T;
      const logits = randomFloats(20, R * N * V, 4);
      const tokens = randomInts(21, R * B * (T + 1), V);
      const wg = await runGpu(ctx, shape, logits, tokens, 'workgroup');
      const serial = await runGpu(ctx, shape, logits, tokens, 'serial');
      // Each is within the self-test tolerances of float64 (3e-5 losses, 1e-5 unscaled gradient): 2× apart at most.
      expect(maxAbsDiff(serial.rowLoss, wg.rowLoss)).toBeLessThanOrEqual(6e-5);
      expect(maxAbsDiff(serial.lossMean, wg.lossMean)).toBeLessThanOrEqual(6e-5);
      expect(maxAbsDiff(serial.dLogits.map((g) => g * N), wg.dLogits.map((g) => g * N))).toBeLessThanOrEqual(2e-5);
      // Within a variant, eval and training paths are bit-identical.
      expect(bitsEqual(serial.rowLoss, serial.evalRowLoss)).toBe(true);
      expect(bitsEqual(wg.rowLoss, wg.evalRowLoss)).toBe(true);
      // Non-trivial outputs.
      expect(serial.lossMean.every((l) => l > 0.1)).toBe(true);
      expect(serial.dLogits.some((g) => Math.abs(g * N) > 0.1)).toBe(true);
    });
  }

  it('the default follows ctx.preferences.rows; an explicit variant overrides it', async () => {
    const ctx = await testContext();
    const saved = ctx.preferences;
    const shape = { R: 2, B: 2, T: 65, V: 5 };   // N = 130 rows
    try {
      await withScope(ctx, async (scope) => {
        const logits = scope.zeros('logits', 2 * 130 * 5);
        const tokens = scope.zeros('tokens', 2 * 2 * 66);
        const rowLoss = scope.zeros('rowLoss', 260);
        const dLogits = scope.zeros('dLogits', 2 * 130 * 5);
        const lossMean = scope.zeros('lossMean', 2);
        const build = async (variant?: RowVariant) => [
          await crossEntropyRows(ctx, { ...shape, logits, tokens, rowLoss, variant }),
          await crossEntropyRows(ctx, { ...shape, logits, tokens, rowLoss, dLogits, variant }),
          await crossEntropyMean(ctx, { rowLoss, lossMean, R: 2, N: 130, variant }),
        ];
        const serial = await build('serial');
        const wg = await build('workgroup');
        const blocks = Math.ceil(130 / CROSS_ENTROPY_SERIAL_ROWS);
        expect(serial.map((d) => d.workgroups)).toEqual([[blocks, 1, 2], [blocks, 1, 2], [1, 1, 1]]);
        expect(wg.map((d) => d.workgroups)).toEqual([[130, 1, 2], [130, 1, 2], [1, 1, 2]]);
        for (let i = 0; i < 3; i++) expect(serial[i].pipeline).not.toBe(wg[i].pipeline);
        expect(serial.map((d) => d.label)).toEqual(['crossEntropyRows.serial', 'crossEntropyRowsGrad.serial', 'crossEntropyMean.serial']);
        for (const rows of ['serial', 'workgroup'] as const) {
          ctx.preferences = { ...saved, rows };
          const defaults = await build();
          const expected = rows === 'serial' ? serial : wg;
          for (let i = 0; i < 3; i++) expect(defaults[i].pipeline).toBe(expected[i].pipeline);
          const explicit = await build(rows === 'serial' ? 'workgroup' : 'serial');
          const other = rows === 'serial' ? wg : serial;
          for (let i = 0; i < 3; i++) expect(explicit[i].pipeline).toBe(other[i].pipeline);
        }
        await expect(crossEntropyRows(ctx, { ...shape, logits, tokens, rowLoss, variant: 'warp' as RowVariant }))
          .rejects.toThrow(/variant must be 'workgroup' or 'serial'/);
      });
    } finally {
      ctx.preferences = saved;
    }
  });

  it('the self-test reports both variants by default', async () => {
    const ctx = await testContext();
    const rows = await checkCrossEntropy(ctx, { R: 1, B: 1, T: 2, V: 3 });
    expect(rows.map((r) => r.kernel)).toEqual([
      'crossEntropy.workgroup.weighted', 'crossEntropy.workgroup.weightedOnes', 'crossEntropy.workgroup.loss', 'crossEntropy.workgroup.grad',
      'crossEntropy.serial.weighted', 'crossEntropy.serial.weightedOnes', 'crossEntropy.serial.loss', 'crossEntropy.serial.grad',
    ]);
    for (const row of rows) expect(row.pass, row.kernel).toBe(true);
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

describe('weighted cross-entropy reference (fine-tuning: loss on some rows only)', () => {
  for (const shape of [{ R: 1, B: 2, T: 3, V: 4 }, { R: 3, B: 1, T: 4, V: 5 }]) {
    it(`dLogits vs finite differences of the weighted mean: ${JSON.stringify(shape)}`, () => {
      const { R, B, T, V } = shape;
      const N = B * T;
      const logits = Float64Array.from(randomFloats(14, R * N * V, 3));
      const tokens = randomInts(15, R * B * (T + 1), V);
      const weights = Float64Array.from(randomInts(16, R * N, 2));
      weights[0] = 1;
      if (R > 2) weights.fill(0, 2 * N, 3 * N); // a run without weighted rows: mean 0, zero gradient
      const loss = (x: Float64Array) => crossEntropyReference(x, tokens, shape, undefined, weights).lossMean.reduce((s, l) => s + l, 0);
      const numeric = numericGradient(loss, logits);
      const analytic = crossEntropyReference(logits, tokens, shape, undefined, weights).dLogits;
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-7);
      // Rows with weight 0 carry no gradient; weighted rows do.
      for (let row = 0; row < R * N; row++) {
        const slice = analytic.subarray(row * V, (row + 1) * V);
        if (weights[row] === 0) expect(slice.every((g) => g === 0), `row ${row}`).toBe(true);
        else expect(slice.some((g) => Math.abs(g) > 1e-3), `row ${row}`).toBe(true);
      }
    });
  }

  it('the weighted mean is the mean over weighted rows; all weights 1 equal the plain mean', () => {
    const shape = { R: 2, B: 2, T: 3, V: 6 };
    const N = shape.B * shape.T;
    const logits = randomFloats(17, shape.R * N * shape.V, 2);
    const tokens = randomInts(18, shape.R * shape.B * (shape.T + 1), shape.V);
    const plain = crossEntropyReference(logits, tokens, shape);
    const ones = crossEntropyReference(logits, tokens, shape, undefined, new Float64Array(shape.R * N).fill(1));
    expect(maxAbsDiff(ones.lossMean, plain.lossMean)).toBeLessThan(1e-12);
    expect(maxAbsDiff(ones.dLogits, plain.dLogits)).toBeLessThan(1e-12);
    const weights = new Float64Array(shape.R * N);
    weights[1] = 1; weights[4] = 1; weights[N + 2] = 1;
    const w = crossEntropyReference(logits, tokens, shape, undefined, weights);
    expect(w.lossMean[0]).toBeCloseTo((plain.rowLoss[1] + plain.rowLoss[4]) / 2, 12);
    expect(w.lossMean[1]).toBeCloseTo(plain.rowLoss[N + 2], 12);
  });

  it('lossScales: 1/count per run, 0 for a run without weighted rows', () => {
    expect(Array.from(lossScales([1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1], 3, 4))).toEqual([Math.fround(1 / 3), 0, 0.25]);
  });
});

import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import {
  hasSubgroups, RMSNORM_SERIAL_ROWS, rmsnormBackwardInput, rmsnormBackwardWeight, rmsnormForward, type RmsNormVariant, type RowVariant,
} from '../src/kernels/rmsnorm';
import { rmsnormBackwardReference, rmsnormForwardReference, type RmsNormShape } from '../src/reference/rmsnorm';
import { FLAT_SENTINEL, changedOutsideRuns, extractRuns, placeRuns } from '../src/selftest/flatParams';
import { withScope } from '../src/selftest/harness';
import {
  RMSNORM_VARIANTS, checkRmsnorm, rmsnormInputs, rmsnormSelfTestShapes, rmsnormTolerances, rmsnormVariants,
} from '../src/selftest/rmsnorm';
import { randomFloats } from '../src/util/random';
import { dot, maxAbsDiff, numericGradient, toFloat64 } from './finiteDifference';
import { testContext } from './gpuContext';

const EPS = 1e-5;

interface Outputs { y: Float32Array; rstd: Float32Array; dx: Float32Array; dWeight: Float32Array }

/** Forward then both backward dispatches on the GPU (row kernels of the given variant); returns every output. */
async function runRmsnorm(
  ctx: GpuContext, shape: RmsNormShape, inputs: { x: Float32Array; weight: Float32Array; dy: Float32Array },
  variant: RmsNormVariant, eps = EPS,
): Promise<Outputs> {
  const { R, N, C } = shape;
  return withScope(ctx, async (scope) => {
    const x = scope.upload('x', inputs.x);
    const weight = scope.upload('weight', inputs.weight);
    const dy = scope.upload('dy', inputs.dy);
    const y = scope.zeros('y', R * N * C);
    const rstd = scope.zeros('rstd', R * N);
    const dx = scope.zeros('dx', R * N * C);
    const dWeight = scope.zeros('dWeight', R * C);
    scope.run([
      await rmsnormForward(ctx, { x, weight, y, rstd, eps, R, N, C, variant }),
      await rmsnormBackwardInput(ctx, { dy, x, weight, rstd, dx, R, N, C, variant }),
      await rmsnormBackwardWeight(ctx, { dy, x, rstd, dWeight, R, N, C }),
    ]);
    return {
      y: await scope.read(y, R * N * C), rstd: await scope.read(rstd, R * N),
      dx: await scope.read(dx, R * N * C), dWeight: await scope.read(dWeight, R * C),
    };
  });
}

/**
 * Like runRmsnorm, but weight and dWeight are blocks of flat [R, P]-style buffers: run r's [C] block at
 * offset + r·stride (stride ≥ C), FLAT_SENTINEL everywhere else (dWeight's blocks start as garbage).
 * Returns the whole flat dWeight buffer as read back, plus its initial contents.
 */
async function runRmsnormFlat(
  ctx: GpuContext, shape: RmsNormShape, inputs: { x: Float32Array; weight: Float32Array; dy: Float32Array },
  offset: number, stride: number, variant: RmsNormVariant,
): Promise<Omit<Outputs, 'dWeight'> & { dWeightFlat: Float32Array; dWeightInit: Float32Array }> {
  const { R, N, C } = shape;
  const dWeightInit = placeRuns(randomFloats(77, R * C, 9), R, C, offset, stride);
  return withScope(ctx, async (scope) => {
    const x = scope.upload('x', inputs.x);
    const weight = scope.upload('weight', placeRuns(inputs.weight, R, C, offset, stride));
    const dy = scope.upload('dy', inputs.dy);
    const y = scope.zeros('y', R * N * C);
    const rstd = scope.zeros('rstd', R * N);
    const dx = scope.zeros('dx', R * N * C);
    const dWeight = scope.upload('dWeight', dWeightInit);
    const w = { weightOffset: offset, weightRunStride: stride, variant };
    scope.run([
      await rmsnormForward(ctx, { x, weight, y, rstd, eps: EPS, R, N, C, ...w }),
      await rmsnormBackwardInput(ctx, { dy, x, weight, rstd, dx, R, N, C, ...w }),
      await rmsnormBackwardWeight(ctx, { dy, x, rstd, dWeight, R, N, C, dWeightOffset: offset, dWeightRunStride: stride }),
    ]);
    return {
      y: await scope.read(y, R * N * C), rstd: await scope.read(rstd, R * N), dx: await scope.read(dx, R * N * C),
      dWeightFlat: await scope.read(dWeight), dWeightInit,
    };
  });
}

function expectBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

describe.each(RMSNORM_VARIANTS)('rmsnorm kernels (%s variant) on WebGPU vs reference', (variant) => {
  const shapes: RmsNormShape[] = [
    ...rmsnormSelfTestShapes,
    { R: 2, N: 3, C: 1 },
    { R: 3, N: 4, C: 65 },
    { R: 2, N: 7, C: 128 },
    { R: 2, N: 33, C: 130 },
    { R: 1, N: 2, C: 300 },
    { R: 2, N: 130, C: 5 },    // serial: three 64-row blocks, the last with 2 rows
  ];
  for (const shape of shapes) {
    it(`R=${shape.R} N=${shape.N} C=${shape.C}`, async () => {
      const ctx = await testContext();
      const results = await checkRmsnorm(ctx, shape, 7, [variant]);
      expect(results.map((r) => r.kernel)).toEqual([`rmsnorm.${variant}.forward`, `rmsnorm.${variant}.backward`]);
      for (const result of results) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  it('takes eps from Params: an all-zero row gets rstd = 1/sqrt(eps) and y = 0', async () => {
    const ctx = await testContext();
    const shape = { R: 1, N: 2, C: 5 };
    for (const eps of [1e-5, 1e-6]) {
      const x = new Float32Array(10);
      x.set([0.5, -1, 2, 0.25, 1], 5); // row 1 non-zero
      const out = await runRmsnorm(ctx, shape, { x, weight: new Float32Array(5).fill(1), dy: new Float32Array(10) }, variant, eps);
      expect(out.rstd[0]).toBeCloseTo(1 / Math.sqrt(Math.fround(eps)), 0);
      expect(Math.abs(out.rstd[0] * Math.sqrt(eps) - 1)).toBeLessThan(1e-6);
      expect(Array.from(out.y.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
      const expected = rmsnormForwardReference(x, new Float32Array(5).fill(1), shape, eps);
      expect(maxAbsDiff(out.y, expected.y)).toBeLessThan(1e-6);
    }
  });

  it('keeps runs isolated: changing run 1 leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const shape = { R: 3, N: 4, C: 65 };
    const { N, C } = shape;
    const base = rmsnormInputs(shape, 11);
    const changed = { x: base.x.slice(), weight: base.weight.slice(), dy: base.dy.slice() };
    changed.x.set(randomFloats(99, N * C, 3), N * C);
    changed.weight.set(randomFloats(98, C), C);
    changed.dy.set(randomFloats(97, N * C), N * C);
    const a = await runRmsnorm(ctx, shape, base, variant);
    const b = await runRmsnorm(ctx, shape, changed, variant);
    const per = { y: N * C, rstd: N, dx: N * C, dWeight: C } as const;
    for (const key of ['y', 'rstd', 'dx', 'dWeight'] as const) {
      const n = per[key];
      for (const r of [0, 2]) {
        expectBitIdentical(a[key].subarray(r * n, (r + 1) * n), b[key].subarray(r * n, (r + 1) * n), `${key} run ${r}`);
      }
      // …and run 1 really did change (so the test can fail).
      expect(maxAbsDiff(a[key].subarray(n, 2 * n), b[key].subarray(n, 2 * n)), `${key} run 1`).toBeGreaterThan(1e-3);
    }
  });

  it('is deterministic: two identical dispatches give bit-identical outputs', async () => {
    const ctx = await testContext();
    const shape = { R: 2, N: 70, C: 257 };
    const inputs = rmsnormInputs(shape, 5);
    const a = await runRmsnorm(ctx, shape, inputs, variant);
    const b = await runRmsnorm(ctx, shape, inputs, variant);
    for (const key of ['y', 'rstd', 'dx', 'dWeight'] as const) expectBitIdentical(a[key], b[key], key);
  });

  it('rejects bad shapes with a clear error', async () => {
    const ctx = await testContext();
    await withScope(ctx, async (scope) => {
      const buf = scope.zeros('b', 16);
      await expect(rmsnormForward(ctx, { x: buf, weight: buf, y: buf, rstd: buf, eps: EPS, R: 1, N: 0, C: 4, variant }))
        .rejects.toThrow(/N must be a positive integer/);
      await expect(rmsnormForward(ctx, { x: buf, weight: buf, y: buf, rstd: buf, eps: EPS, R: 1, N: 4, C: 8, variant }))
        .rejects.toThrow(/buffer x holds 64 bytes, needs 128/);
      await expect(rmsnormBackwardInput(ctx, { dy: buf, x: buf, weight: buf, rstd: buf, dx: buf, R: 1, N: 4, C: 8, variant }))
        .rejects.toThrow(/buffer dy holds 64 bytes, needs 128/);
    });
  });
});

describe('rmsnorm weight inside a flat [R, P] parameter / gradient buffer', () => {
  for (const variant of RMSNORM_VARIANTS) for (const shape of [{ R: 3, N: 4, C: 7 }, { R: 3, N: 3, C: 130 }]) {
    it(`${variant}: R=${shape.R} N=${shape.N} C=${shape.C}, offset 5, run stride C + 11`, async () => {
      const ctx = await testContext();
      const { R, C } = shape;
      const offset = 5;
      const stride = C + 11;
      const inputs = rmsnormInputs(shape, 13);
      const flat = await runRmsnormFlat(ctx, shape, inputs, offset, stride, variant);
      expect(flat.dWeightFlat.length).toBe(offset + R * stride);

      // Outputs match the dense reference…
      const forward = rmsnormForwardReference(inputs.x, inputs.weight, shape, EPS);
      const backward = rmsnormBackwardReference(inputs.dy, inputs.x, inputs.weight, forward.rstd, shape);
      const dWeight = extractRuns(flat.dWeightFlat, R, C, offset, stride);
      expect(maxAbsDiff(flat.y, forward.y)).toBeLessThan(1e-5);
      expect(maxAbsDiff(flat.rstd, forward.rstd)).toBeLessThan(1e-5);
      expect(maxAbsDiff(flat.dx, backward.dx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(dWeight, backward.dWeight)).toBeLessThan(1e-5);
      // …and are bit-identical to the dense layout's.
      const dense = await runRmsnorm(ctx, shape, inputs, variant);
      for (const key of ['y', 'rstd', 'dx'] as const) expectBitIdentical(flat[key], dense[key], key);
      expectBitIdentical(dWeight, dense.dWeight, 'dWeight');

      // Every element outside dWeight's R blocks is still exactly the sentinel.
      expect(changedOutsideRuns(flat.dWeightInit, flat.dWeightFlat, R, C, offset, stride)).toBe(0);
      let sentinels = 0;
      for (let i = 0; i < flat.dWeightFlat.length; i++) {
        if (!(i >= offset && (i - offset) % stride < C)) {
          expect(flat.dWeightFlat[i], `dWeight element ${i}`).toBe(FLAT_SENTINEL);
          sentinels++;
        }
      }
      expect(sentinels).toBe(offset + R * 11);
    });
  }

  it.each(RMSNORM_VARIANTS)('%s: the offset and stride really are used (a dense read of the flat weight would differ)', async (variant) => {
    const ctx = await testContext();
    const shape = { R: 2, N: 3, C: 5 };
    const inputs = rmsnormInputs(shape, 17);
    const flat = await runRmsnormFlat(ctx, shape, inputs, 5, 16, variant);
    const wrongWeight = placeRuns(inputs.weight, 2, 5, 5, 16);
    const wrong = rmsnormForwardReference(inputs.x, wrongWeight, shape, EPS);
    expect(maxAbsDiff(flat.y, wrong.y)).toBeGreaterThan(1);
    expect(maxAbsDiff(flat.y, rmsnormForwardReference(inputs.x, inputs.weight, shape, EPS).y)).toBeLessThan(1e-5);
    // dx uses the placed weight too.
    const { rstd } = rmsnormForwardReference(inputs.x, inputs.weight, shape, EPS);
    const wrongDx = rmsnormBackwardReference(inputs.dy, inputs.x, wrongWeight, rstd, shape).dx;
    expect(maxAbsDiff(flat.dx, wrongDx)).toBeGreaterThan(1);
    expect(maxAbsDiff(flat.dx, rmsnormBackwardReference(inputs.dy, inputs.x, inputs.weight, rstd, shape).dx)).toBeLessThan(1e-5);
  });

  it('rejects overlapping runs, bad offsets and buffers too small for the placement', async () => {
    const ctx = await testContext();
    const dims = { R: 2, N: 3, C: 4 };
    await withScope(ctx, async (scope) => {
      const act = scope.zeros('act', 12 * 2);
      const rstd = scope.zeros('rstd', 6);
      const big = scope.zeros('big', 30);
      for (const variant of RMSNORM_VARIANTS) {
        await expect(rmsnormForward(ctx, { x: act, weight: big, y: act, rstd, eps: EPS, ...dims, weightRunStride: 3, variant }))
          .rejects.toThrow(/weightRunStride must be an integer ≥ C = 4/);
      }
      await expect(rmsnormBackwardInput(ctx, { dy: act, x: act, weight: big, rstd, dx: act, ...dims, weightOffset: 1.5 }))
        .rejects.toThrow(/weightOffset must be an integer ≥ 0/);
      // 20 + 7 + 4 = 31 elements > 30.
      await expect(rmsnormBackwardInput(ctx, { dy: act, x: act, weight: big, rstd, dx: act, ...dims, weightOffset: 20, weightRunStride: 7 }))
        .rejects.toThrow(/buffer weight holds 120 bytes, needs 124/);
      await expect(rmsnormBackwardWeight(ctx, { dy: act, x: act, rstd, dWeight: big, ...dims, dWeightOffset: 20, dWeightRunStride: 7 }))
        .rejects.toThrow(/buffer dWeight holds 120 bytes, needs 124/);
      await expect(rmsnormBackwardWeight(ctx, { dy: act, x: act, rstd, dWeight: big, ...dims, dWeightRunStride: 2 }))
        .rejects.toThrow(/dWeightRunStride must be/);
      // Exactly enough is fine: 19 + 7 + 4 = 30.
      await expect(rmsnormBackwardWeight(ctx, { dy: act, x: act, rstd, dWeight: big, ...dims, dWeightOffset: 19, dWeightRunStride: 7 }))
        .resolves.toBeDefined();
    });
  });
});

describe('rmsnorm row variants', () => {
  /** Max |serial − workgroup| of every output, and both vs the float64 reference. */
  for (const shape of [{ R: 3, N: 128, C: 32 }, { R: 2, N: 65, C: 130 }, { R: 1, N: 3, C: 2 }]) {
    it(`serial, workgroup and subgroup agree within tolerance: R=${shape.R} N=${shape.N} C=${shape.C}`, async () => {
      const ctx = await testContext();
      const inputs = rmsnormInputs(shape, 21);
      const serial = await runRmsnorm(ctx, shape, inputs, 'serial');
      const tol = rmsnormTolerances(shape);
      for (const variant of ['workgroup', 'subgroup'] as const) {
        const wg = await runRmsnorm(ctx, shape, inputs, variant);
        // Both are f32 with a different summation order: each within tol of float64, so within 2·tol of each other.
        expect(maxAbsDiff(serial.y, wg.y), variant).toBeLessThanOrEqual(2 * tol.forward);
        expect(maxAbsDiff(serial.rstd, wg.rstd), variant).toBeLessThanOrEqual(2 * tol.forward);
        expect(maxAbsDiff(serial.dx, wg.dx), variant).toBeLessThanOrEqual(2 * tol.backward);
        expect(maxAbsDiff(serial.dWeight, wg.dWeight), variant).toBeLessThanOrEqual(2 * tol.backward);
      }
      // Non-trivial outputs (an all-zero pair would agree trivially).
      expect(Math.max(...Array.from(serial.y, Math.abs))).toBeGreaterThan(0.1);
      expect(Math.max(...Array.from(serial.dx, Math.abs))).toBeGreaterThan(0.01);
    });
  }

  it('the default follows ctx.preferences.rows; an explicit variant overrides it', async () => {
    const ctx = await testContext();
    const saved = ctx.preferences;
    const shape = { R: 2, N: 130, C: 4 };
    try {
      await withScope(ctx, async (scope) => {
        const x = scope.zeros('x', 2 * 130 * 4);
        const y = scope.zeros('y', 2 * 130 * 4);
        const weight = scope.zeros('weight', 8);
        const rstd = scope.zeros('rstd', 260);
        const build = async (variant?: RmsNormVariant) => [
          await rmsnormForward(ctx, { x, weight, y, rstd, eps: EPS, ...shape, variant }),
          await rmsnormBackwardInput(ctx, { dy: y, x, weight, rstd, dx: scope.zeros('dx', 2 * 130 * 4), ...shape, variant }),
        ];
        const serial = await build('serial');
        const wg = await build('workgroup');
        // Serial: ceil(130 / 64) row blocks; workgroup: one workgroup per row.
        for (const d of serial) expect(d.workgroups).toEqual([Math.ceil(130 / RMSNORM_SERIAL_ROWS), 1, 2]);
        for (const d of wg) expect(d.workgroups).toEqual([130, 1, 2]);
        for (let i = 0; i < 2; i++) expect(serial[i].pipeline).not.toBe(wg[i].pipeline);
        expect(serial.map((d) => d.label)).toEqual(['rmsnormForward.serial', 'rmsnormBackwardInput.serial']);
        expect(wg.map((d) => d.label)).toEqual(['rmsnormForward.workgroup', 'rmsnormBackwardInput.workgroup']);
        for (const rows of ['serial', 'workgroup'] as const) {
          ctx.preferences = { ...saved, rows };
          const expected = rows === 'serial' ? serial : wg;
          const defaults = await build();
          for (let i = 0; i < 2; i++) {
            expect(defaults[i].pipeline).toBe(expected[i].pipeline);
            expect(defaults[i].workgroups).toEqual(expected[i].workgroups);
          }
          const other = rows === 'serial' ? wg : serial;
          const explicit = await build(rows === 'serial' ? 'workgroup' : 'serial');
          for (let i = 0; i < 2; i++) expect(explicit[i].pipeline).toBe(other[i].pipeline);
        }
        await expect(rmsnormForward(ctx, { x, weight, y, rstd, eps: EPS, ...shape, variant: 'warp' as RowVariant }))
          .rejects.toThrow(/variant must be 'workgroup' or 'serial'/);

        // subgroupRows: the builders use the subgroup kernels (one workgroup per row) whatever `rows` says;
        // an explicit variant still wins. (SwiftShader has 'subgroups'; this test needs it.)
        expect(hasSubgroups(ctx)).toBe(true);
        const sub = await build('subgroup');
        for (const d of sub) expect(d.workgroups).toEqual([130, 1, 2]);
        expect(sub.map((d) => d.label)).toEqual(['rmsnormForward.subgroup', 'rmsnormBackwardInput.subgroup']);
        for (const rows of ['serial', 'workgroup'] as const) {
          ctx.preferences = { ...saved, rows, subgroupRows: true };
          const defaults = await build();
          for (let i = 0; i < 2; i++) expect(defaults[i].pipeline).toBe(sub[i].pipeline);
          expect((await build(rows))[0].pipeline).toBe((rows === 'serial' ? serial : wg)[0].pipeline);
          ctx.preferences = { ...saved, rows, subgroupRows: false };
          expect((await build())[0].label).toBe(`rmsnormForward.${rows}`);
        }
        // On a device without the feature the preference is ignored and an explicit 'subgroup' is refused.
        const noSubgroups = {
          ...ctx, preferences: { ...saved, rows: 'serial' as const, subgroupRows: true },
          device: new Proxy(ctx.device, {
            get: (target, key) => {
              if (key === 'features') return new Set<string>();
              const value = Reflect.get(target, key, target) as unknown;
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
            },
          }),
        } as GpuContext;
        expect((await rmsnormForward(noSubgroups, { x, weight, y, rstd, eps: EPS, ...shape })).label).toBe('rmsnormForward.serial');
        await expect(rmsnormForward(noSubgroups, { x, weight, y, rstd, eps: EPS, ...shape, variant: 'subgroup' }))
          .rejects.toThrow(/needs the device feature 'subgroups'/);
      });
    } finally {
      ctx.preferences = saved;
    }
  });

  it('the self-test reports every variant the device has by default (subgroup where it has the feature)', async () => {
    const ctx = await testContext();
    const rows = await checkRmsnorm(ctx, { R: 1, N: 2, C: 3 });
    expect(rmsnormVariants(ctx)).toEqual(hasSubgroups(ctx) ? ['workgroup', 'serial', 'subgroup'] : ['workgroup', 'serial']);
    expect(rows.map((r) => r.kernel)).toEqual(rmsnormVariants(ctx).flatMap((v) => [`rmsnorm.${v}.forward`, `rmsnorm.${v}.backward`]));
    for (const row of rows) expect(row.pass, row.kernel).toBe(true);
  });
});

describe('rmsnorm reference backward vs finite differences of its forward', () => {
  for (const shape of [{ R: 1, N: 1, C: 1 }, { R: 2, N: 3, C: 5 }, { R: 1, N: 2, C: 7 }]) {
    it(`R=${shape.R} N=${shape.N} C=${shape.C}`, () => {
      const { R, N, C } = shape;
      const x = toFloat64(randomFloats(1, R * N * C));
      const weight = toFloat64(randomFloats(2, R * C, 0.5).map((w) => 1 + w));
      const dy = toFloat64(randomFloats(3, R * N * C));
      const eps = 1e-5;
      const { rstd } = rmsnormForwardReference(x, weight, shape, eps);
      const analytic = rmsnormBackwardReference(dy, x, weight, rstd, shape);
      const numericDx = numericGradient((v) => dot(dy, rmsnormForwardReference(v, weight, shape, eps).y), x);
      const numericDw = numericGradient((v) => dot(dy, rmsnormForwardReference(x, v, shape, eps).y), weight);
      const scale = Math.max(1, ...Array.from(numericDx, Math.abs), ...Array.from(numericDw, Math.abs));
      expect(maxAbsDiff(analytic.dx, numericDx) / scale).toBeLessThan(1e-6);
      expect(maxAbsDiff(analytic.dWeight, numericDw) / scale).toBeLessThan(1e-6);
      // Non-trivial gradients (a zero backward would otherwise pass against a zero FD).
      expect(Math.max(...Array.from(numericDx, Math.abs))).toBeGreaterThan(1e-3);
    });
  }
});

import { describe, expect, it } from 'vitest';
import {
  ATTENTION_VARIANTS, attentionActivationFloats, attentionBackward, attentionForward, attentionProbsFloats, attentionVariants,
  type AttentionShape,
} from '../src/kernels/attention';
import type { GpuContext } from '../src/gpu/context';
import { attentionBackwardReference, attentionForwardReference } from '../src/reference/attention';
import { maxAbsError, withScope } from '../src/selftest/harness';
import { attentionInputs, checkAttention, runAttentionGpu, type AttentionOutputs } from '../src/selftest/attention';
import { dot, maxAbsDiff, numericGradient, toFloat64 } from './finiteDifference';
import { testContext } from './gpuContext';

const SHAPES: AttentionShape[] = [
  { R: 1, B: 1, T: 1, H: 1, headDim: 1 },
  { R: 1, B: 2, T: 7, H: 3, headDim: 4 },
  { R: 3, B: 1, T: 33, H: 1, headDim: 16 },
  { R: 1, B: 1, T: 65, H: 3, headDim: 4 },
  { R: 2, B: 2, T: 7, H: 1, headDim: 16 },
  // T > 2·64 and headDim > 64: several key tiles and several channel passes per workgroup.
  { R: 1, B: 1, T: 130, H: 1, headDim: 67 },
];

function label(s: AttentionShape): string {
  return `R=${s.R} B=${s.B} T=${s.T} H=${s.H} hd=${s.headDim}`;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

const OUTPUT_NAMES = ['out', 'probs', 'dScores', 'dq', 'dk', 'dv'] as const;

for (const variant of ATTENTION_VARIANTS) describe(`attention.${variant} kernels on WebGPU vs reference`, () => {
  for (const shape of SHAPES) {
    it(label(shape), async () => {
      const ctx = await testContext();
      const results = await checkAttention(ctx, shape, 11, [variant]);
      expect(results.map((r) => r.kernel)).toEqual(
        ['forward', 'probs', 'backward.dq', 'backward.dk', 'backward.dv'].map((name) => `attention.${variant}.${name}`),
      );
      for (const result of results) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  it('probs: upper triangle exactly 0, rows sum to 1; dScores upper triangle 0 and rows sum to 0', async () => {
    const ctx = await testContext();
    const shape: AttentionShape = { R: 2, B: 2, T: 33, H: 3, headDim: 8 };
    const gpu = await runAttentionGpu(ctx, shape, attentionInputs(shape, 5), variant);
    const { T } = shape;
    const rows = shape.R * shape.B * shape.H * T;
    let worstSum = 0;
    let worstScoreSum = 0;
    for (let row = 0; row < rows; row++) {
      const i = row % T;
      let sum = 0;
      let scoreSum = 0;
      for (let j = 0; j < T; j++) {
        const p = gpu.probs[row * T + j];
        const g = gpu.dScores[row * T + j];
        if (j > i) {
          expect(Object.is(p, 0), `probs row ${row} j=${j}`).toBe(true);
          expect(Object.is(g, 0), `dScores row ${row} j=${j}`).toBe(true);
        } else {
          expect(p).toBeGreaterThan(0);
          sum += p;
          scoreSum += g;
        }
      }
      worstSum = Math.max(worstSum, Math.abs(sum - 1));
      worstScoreSum = Math.max(worstScoreSum, Math.abs(scoreSum));
    }
    expect(worstSum).toBeLessThan(1e-5);
    // Softmax gradients sum to zero over each row (Σ_j P_ij (dP_ij − Σ P dP) = 0).
    expect(worstScoreSum).toBeLessThan(1e-5);
  });

  it('is numerically stable for large scores (max-subtracted softmax)', async () => {
    const ctx = await testContext();
    const shape: AttentionShape = { R: 1, B: 1, T: 9, H: 2, headDim: 16 };
    const inputs = attentionInputs(shape, 21);
    // Scores up to ±40²·16/4 = 6400: exp would overflow f32 without the max subtraction.
    for (let i = 0; i < inputs.q.length; i++) {
      inputs.q[i] *= 40;
      inputs.k[i] *= 40;
    }
    const gpu = await runAttentionGpu(ctx, shape, inputs, variant);
    const expected = attentionForwardReference(inputs.q, inputs.k, inputs.v, shape);
    expect(gpu.probs.every(Number.isFinite)).toBe(true);
    expect(gpu.out.every(Number.isFinite)).toBe(true);
    // Scores ~1e3 carry f32 rounding of ~1e-4 absolute, so the softmax itself is only that accurate.
    expect(maxAbsError(gpu.probs, expected.probs)).toBeLessThan(2e-3);
    expect(maxAbsError(gpu.out, expected.out)).toBeLessThan(2e-3);
  });

  it('runs are isolated: changing run 1 leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const shape: AttentionShape = { R: 3, B: 2, T: 7, H: 2, headDim: 4 };
    const inputs = attentionInputs(shape, 3);
    const base = await runAttentionGpu(ctx, shape, inputs, variant);
    const perRunAct = inputs.q.length / shape.R;
    const changed = attentionInputs(shape, 3);
    const other = attentionInputs(shape, 99);
    for (const key of ['q', 'k', 'v', 'dOut'] as const) {
      changed[key].set(other[key].subarray(perRunAct, 2 * perRunAct), perRunAct);
    }
    const after = await runAttentionGpu(ctx, shape, changed, variant);
    for (const name of OUTPUT_NAMES) {
      const perRun = base[name].length / shape.R;
      for (let r = 0; r < shape.R; r++) {
        const a = base[name].subarray(r * perRun, (r + 1) * perRun);
        const b = after[name].subarray(r * perRun, (r + 1) * perRun);
        expect(bitsEqual(a, b), `${name} run ${r}`).toBe(r !== 1);
      }
    }
  });

  it('is deterministic: repeated dispatches give bit-identical outputs', async () => {
    const ctx = await testContext();
    const shape: AttentionShape = { R: 2, B: 1, T: 70, H: 2, headDim: 8 };
    const inputs = attentionInputs(shape, 8);
    const first: AttentionOutputs = await runAttentionGpu(ctx, shape, inputs, variant);
    const second: AttentionOutputs = await runAttentionGpu(ctx, shape, inputs, variant);
    for (const name of OUTPUT_NAMES) {
      expect(first[name].some((x) => x !== 0), `${name} non-trivial`).toBe(true);
      expect(bitsEqual(first[name], second[name]), name).toBe(true);
    }
  });
});

describe('attention variants', () => {
  // Both compute each score with the same loop over d; only the order of the sums over keys differs
  // (tree vs serial), so they agree to a few f32 roundings.
  for (const shape of [
    { R: 2, B: 2, T: 7, H: 3, headDim: 4 },
    { R: 1, B: 1, T: 130, H: 1, headDim: 67 },
  ] satisfies AttentionShape[]) {
    it(`workgroup, serial and subgroup agree: ${label(shape)}`, async () => {
      const ctx = await testContext();
      const inputs = attentionInputs(shape, 41);
      const workgroup = await runAttentionGpu(ctx, shape, inputs, 'workgroup');
      const serial = await runAttentionGpu(ctx, shape, inputs, 'serial');
      const subgroup = await runAttentionGpu(ctx, shape, inputs, 'subgroup');
      for (const name of OUTPUT_NAMES) {
        expect(serial[name].some((x) => x !== 0), `${name} non-trivial`).toBe(true);
        expect(maxAbsError(serial[name], workgroup[name]), name).toBeLessThanOrEqual(2e-6);
        expect(maxAbsError(serial[name], subgroup[name]), `subgroup ${name}`).toBeLessThanOrEqual(2e-6);
      }
    });
  }

  it('the builder defaults to ctx.preferences.rows and rejects unknown variants', async () => {
    const ctx = await testContext();
    const shape: AttentionShape = { R: 1, B: 1, T: 3, H: 1, headDim: 2 };
    await withScope(ctx, async (scope) => {
      const act = () => scope.zeros('act', attentionActivationFloats(shape));
      const io = { q: act(), k: act(), v: act(), out: act(), probs: scope.zeros('probs', attentionProbsFloats(shape)), shape };
      expect((await attentionForward(ctx, io)).label).toBe(`attentionForward.${ctx.preferences.rows}`);
      expect((await attentionForward(ctx, { ...io, variant: 'serial' })).label).toBe('attentionForward.serial');
      await expect(attentionForward(ctx, { ...io, variant: 'bogus' as 'serial' })).rejects.toThrow(/unknown variant/);
    });
  });

  it('subgroupRows selects the subgroup kernels where the device has the feature; elsewhere it is ignored and an explicit one refused', async () => {
    const ctx = await testContext();
    expect(ctx.device.features.has('subgroups')).toBe(true); // SwiftShader has it (subgroup size 4)
    expect(attentionVariants(ctx)).toEqual(['workgroup', 'serial', 'subgroup']);
    const shape: AttentionShape = { R: 1, B: 1, T: 3, H: 1, headDim: 2 };
    const saved = ctx.preferences;
    try {
      await withScope(ctx, async (scope) => {
        const act = () => scope.zeros('act', attentionActivationFloats(shape));
        const probs = () => scope.zeros('probs', attentionProbsFloats(shape));
        const io = { q: act(), k: act(), v: act(), out: act(), probs: probs(), shape };
        const back = { dOut: act(), q: io.q, k: io.k, v: io.v, probs: io.probs, dScores: probs(), dq: act(), dk: act(), dv: act(), shape };
        ctx.preferences = { ...saved, rows: 'serial', subgroupRows: true };
        expect((await attentionForward(ctx, io)).label).toBe('attentionForward.subgroup');
        expect((await attentionBackward(ctx, back)).map((d) => d.label)).toEqual(['attentionBackwardRows.subgroup', 'attentionBackwardColumns.subgroup']);
        expect((await attentionForward(ctx, { ...io, variant: 'serial' })).label).toBe('attentionForward.serial');
        const noSubgroups = {
          ...ctx,
          device: new Proxy(ctx.device, {
            get: (target, key) => {
              if (key === 'features') return new Set<string>();
              const value = Reflect.get(target, key, target) as unknown;
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
            },
          }),
        } as GpuContext;
        expect(attentionVariants(noSubgroups)).toEqual(['workgroup', 'serial']);
        expect((await attentionForward(noSubgroups, io)).label).toBe('attentionForward.serial');
        await expect(attentionForward(noSubgroups, { ...io, variant: 'subgroup' })).rejects.toThrow(/needs the device feature 'subgroups'/);
      });
    } finally {
      ctx.preferences = saved;
    }
  });

  it('the self-test checks every variant the device has', async () => {
    const ctx = await testContext();
    const rows = await checkAttention(ctx, { R: 2, B: 1, T: 5, H: 2, headDim: 3 });
    expect([...new Set(rows.map((r) => r.kernel.split('.')[1]))]).toEqual(attentionVariants(ctx));
    for (const row of rows) expect(row.pass, row.kernel).toBe(true);
  });
});

describe('attention reference backward vs finite differences of the reference forward', () => {
  for (const shape of [
    { R: 1, B: 1, T: 4, H: 2, headDim: 3 },
    { R: 2, B: 2, T: 3, H: 1, headDim: 2 },
  ] satisfies AttentionShape[]) {
    it(label(shape), () => {
      const inputs = attentionInputs(shape, 17);
      const q = toFloat64(inputs.q);
      const k = toFloat64(inputs.k);
      const v = toFloat64(inputs.v);
      const dOut = toFloat64(inputs.dOut);
      const loss = () => dot(dOut, attentionForwardReference(q, k, v, shape).out);
      const { probs } = attentionForwardReference(q, k, v, shape);
      const analytic = attentionBackwardReference(dOut, q, k, v, probs, shape);
      const numeric = {
        dq: numericGradient(loss, q),
        dk: numericGradient(loss, k),
        dv: numericGradient(loss, v),
      };
      for (const name of ['dq', 'dk', 'dv'] as const) {
        const scaleOf = Math.max(1, ...Array.from(numeric[name], Math.abs));
        expect(analytic[name].some((x) => Math.abs(x) > 1e-3), `${name} non-trivial`).toBe(true);
        expect(maxAbsDiff(analytic[name], numeric[name]) / scaleOf, name).toBeLessThan(1e-7);
      }
    });
  }
});

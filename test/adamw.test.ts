import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { ADAMW_HYPER_STRIDE, adamwHyper, adamwUpdate, type AdamWRunSettings } from '../src/kernels/adamw';
import { gradNorm, gradNormPartialsLength } from '../src/kernels/gradNorm';
import { adamwReference, type AdamWState } from '../src/reference/adamw';
import { gradNormReference } from '../src/reference/gradNorm';
import { ADAMW_TOLERANCE, adamwTestSettings, checkAdamw } from '../src/selftest/adamw';
import { maxAbsError, withScope, type CheckScope } from '../src/selftest/harness';
import { randomFloats, randomInts } from '../src/util/random';
import { testContext } from './gpuContext';

interface OptimizerSetup {
  R: number;
  P: number;
  maxNorm: number;
  params: Float32Array;
  decay: Float32Array;
  m?: Float32Array;
  v?: Float32Array;
}

/**
 * The GPU optimizer as the trainer will run it: gradNorm (both stages) then AdamW in one submission
 * per step, the clip scale passed on the GPU; grads and hyper written with queue.writeBuffer.
 */
async function gpuOptimizer(ctx: GpuContext, scope: CheckScope, setup: OptimizerSetup) {
  const { R, P, maxNorm } = setup;
  const params = scope.upload('params', setup.params);
  const grads = scope.zeros('grads', R * P);
  const m = setup.m ? scope.upload('m', setup.m) : scope.zeros('m', R * P);
  const v = setup.v ? scope.upload('v', setup.v) : scope.zeros('v', R * P);
  const decay = scope.upload('decay', setup.decay);
  const hyper = scope.zeros('hyper', R * ADAMW_HYPER_STRIDE);
  const stats = scope.zeros('stats', R * 2);
  const partials = scope.zeros('partials', gradNormPartialsLength(R, P));
  const dispatches = [
    ...await gradNorm(ctx, { grads, partials, stats, R, P, maxNorm }),
    await adamwUpdate(ctx, { params, grads, m, v, decay, hyper, stats, R, P }),
  ];
  return {
    step(g: Float32Array, h: Float32Array) {
      ctx.device.queue.writeBuffer(grads, 0, g);
      ctx.device.queue.writeBuffer(hyper, 0, h);
      scope.run(dispatches);
    },
    async read() {
      return { params: await scope.read(params), m: await scope.read(m), v: await scope.read(v), stats: await scope.read(stats) };
    },
  };
}

/** The reference optimizer step: grad norm then AdamW, in float64. */
function referenceStep(state: AdamWState, g: ArrayLike<number>, h: ArrayLike<number>, decay: ArrayLike<number>,
  R: number, P: number, maxNorm: number): AdamWState {
  const stats = gradNormReference(g, R, P, maxNorm);
  return adamwReference({ ...state, grads: g, decay, hyper: h, stats, R, P });
}

const bits = (a: Float32Array, from = 0, to = a.length) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length).subarray(from, to));

const textbookSettings: AdamWRunSettings = { lr: 2e-2, beta1: 0.9, beta2: 0.99, eps: 1e-3, weightDecay: 0.3 };

describe('AdamW reference (torch.optim.AdamW semantics)', () => {
  it('step 1 from zero moments is p·(1 − lr·wd·decay) − lr·g/(|g| + eps)', () => {
    const s = textbookSettings;
    const params = [0.5, -1.2, 2, 0.1];
    const grads = [0.3, -2, 1e-4, 0];
    const decay = [1, 0, 1, 0];
    const hyper = adamwHyper([s], 1);
    const out = adamwReference({ params, grads, m: [0, 0, 0, 0], v: [0, 0, 0, 0], decay, hyper, stats: [1, 1], R: 1, P: 4 });
    const [lr, wd, eps] = [hyper[0], hyper[4], hyper[3]];
    for (let j = 0; j < 4; j++) {
      const expected = params[j] * (1 - lr * wd * decay[j]) - lr * grads[j] / (Math.abs(grads[j]) + eps);
      expect(out.params[j]).toBeCloseTo(expected, 7);  // hyper holds f32 bias corrections: ~1e-8 from the exact 1−β
    }
    expect(out.params[3]).toBe(params[3]);  // zero gradient, no decay: unchanged
  });

  it('equals the textbook m̂ / (sqrt(v̂) + eps) form over 6 clipped steps, with a frozen step', () => {
    const s = textbookSettings;
    const R = 2, P = 5, maxNorm = 0.7;
    const decay = [1, 0, 1, 1, 0];
    let state: AdamWState = { params: Float64Array.from(randomFloats(1, R * P)), m: new Float64Array(R * P), v: new Float64Array(R * P) };
    // Independent textbook implementation, run 0 only (float64, exact hyper values).
    const p = Array.from(state.params.subarray(0, P));
    const m = new Array<number>(P).fill(0);
    const v = new Array<number>(P).fill(0);
    let updates = 0;
    for (let t = 1; t <= 6; t++) {
      const g = randomFloats(10 + t, R * P, 2);
      const frozen = t === 4;
      const h = adamwHyper([{ ...s, active: !frozen }, s], t);
      state = referenceStep(state, g, h, decay, R, P, maxNorm);
      if (frozen) continue;
      updates++;
      const [lr, b1, b2, eps, wd] = [h[0], h[1], h[2], h[3], h[4]];
      let norm = 0;
      for (let j = 0; j < P; j++) norm += g[j] ** 2;
      norm = Math.sqrt(norm);
      const clip = Math.min(1, maxNorm / (norm + 1e-6));
      for (let j = 0; j < P; j++) {
        const gj = g[j] * clip;
        m[j] = b1 * m[j] + (1 - b1) * gj;
        v[j] = b2 * v[j] + (1 - b2) * gj * gj;
        const mHat = m[j] / (1 - b1 ** t);
        const vHat = v[j] / (1 - b2 ** t);
        p[j] = p[j] - lr * wd * decay[j] * p[j] - lr * mHat / (Math.sqrt(vHat) + eps);
      }
    }
    expect(updates).toBe(5);
    // Only difference: the hyper row stores 1−β^t rounded to f32.
    expect(maxAbsError(state.params.subarray(0, P), p)).toBeLessThan(1e-6);
    expect(maxAbsError(state.m.subarray(0, P), m)).toBeLessThan(1e-12);
    expect(maxAbsError(state.v.subarray(0, P), v)).toBeLessThan(1e-12);
  });

  it('skips frozen runs and runs with a non-finite norm entirely; does not modify its inputs', () => {
    const params = [1, 2, 3, 4, 5, 6];
    const m = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const v = [1, 1, 1, 1, 1, 1];
    const grads = [NaN, 1, 1, 1, 1, 1];
    const hyper = adamwHyper([textbookSettings, { ...textbookSettings, active: false }, textbookSettings], 2);
    const stats = [NaN, 0, 2, 1, 1.5, 1];
    const out = adamwReference({ params, grads, m, v, decay: [1, 1], hyper, stats, R: 3, P: 2 });
    expect(Array.from(out.params.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(out.m.subarray(0, 4))).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(Array.from(out.v.subarray(0, 4))).toEqual([1, 1, 1, 1]);
    expect(out.params[4]).not.toBe(5);
    expect(params).toEqual([1, 2, 3, 4, 5, 6]);
    expect(m).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
  });
});

describe('adamwHyper', () => {
  it('fills (lr, β1, β2, eps, wd, 1−β1^t, 1−β2^t, active) per run', () => {
    const runs: AdamWRunSettings[] = [
      { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 },
      { lr: 5e-4, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0, active: false },
    ];
    const h = adamwHyper(runs, [1, 3]);
    const f = Math.fround;
    expect(Array.from(h)).toEqual([
      f(1e-3), f(0.9), f(0.999), f(1e-8), f(0.1), f(1 - 0.9), f(1 - 0.999), 1,
      f(5e-4), f(0.8), f(0.95), f(1e-6), 0, f(1 - 0.8 ** 3), f(1 - 0.95 ** 3), 0,
    ]);
    const out = new Float32Array(16);
    expect(adamwHyper(runs, 2, out)).toBe(out);
    expect(out[5]).toBe(f(1 - 0.81));
    expect(() => adamwHyper(runs, 0)).toThrow(/step/);
    expect(() => adamwHyper(runs, 1, new Float32Array(8))).toThrow(/need 16/);
  });
});

describe('AdamW on WebGPU vs reference', () => {
  for (const shape of [{ R: 1, P: 1 }, { R: 3, P: 65 }, { R: 3, P: 1030 }]) {
    it(`selftest check R=${shape.R} P=${shape.P}`, async () => {
      const ctx = await testContext();
      for (const result of await checkAdamw(ctx, shape)) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  for (const P of [7, 1030]) {
    it(`5 steps of gradNorm + AdamW, P=${P}: clipping for run 0 only, mixed decay, run 2 frozen, run 3 frozen on step 3`, async () => {
      const ctx = await testContext();
      const R = 4, maxNorm = Math.sqrt(P / 3);
      const init = randomFloats(1, R * P);
      const m0 = randomFloats(2, R * P, 0.1);
      const v0 = randomFloats(3, R * P, 0.05).map(Math.abs);
      m0.fill(0, 0, P); v0.fill(0, 0, P);  // runs 0 and 1 start fresh, runs 2 and 3 with moments
      m0.fill(0, P, 2 * P); v0.fill(0, P, 2 * P);
      const decay = Float32Array.from(randomInts(4, P, 2));
      if (P > 1) { decay[0] = 0; decay[1] = 1; }
      const runScale = [3, 0.3, 1, 1];  // × maxNorm / rms: run 0 always clipped, run 1 never
      const settings = adamwTestSettings(R);
      let state: AdamWState = { params: Float64Array.from(init), m: Float64Array.from(m0), v: Float64Array.from(v0) };
      await withScope(ctx, async (scope) => {
        const opt = await gpuOptimizer(ctx, scope, { R, P, maxNorm, params: init, decay, m: m0, v: v0 });
        for (let t = 1; t <= 5; t++) {
          const g = randomFloats(100 + t, R * P, Math.sqrt(3));
          for (let r = 0; r < R; r++) for (let j = 0; j < P; j++) g[r * P + j] *= runScale[r] * maxNorm / Math.sqrt(P);
          const h = adamwHyper(settings.map((s, r) => ({ ...s, active: r !== 2 && !(r === 3 && t === 3) })), t);
          opt.step(g, h);
          state = referenceStep(state, g, h, decay, R, P, maxNorm);
          const refStats = gradNormReference(g, R, P, maxNorm);
          expect(refStats[1]).toBeLessThan(0.9);
          expect(refStats[3]).toBe(1);
        }
        const gpu = await opt.read();
        expect(maxAbsError(gpu.params, state.params)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
        expect(maxAbsError(gpu.m, state.m)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
        expect(maxAbsError(gpu.v, state.v)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
        // The frozen run is bit-identical to its initial state, moments included.
        expect(bits(gpu.params, 2 * P, 3 * P)).toEqual(bits(init, 2 * P, 3 * P));
        expect(bits(gpu.m, 2 * P, 3 * P)).toEqual(bits(m0, 2 * P, 3 * P));
        expect(bits(gpu.v, 2 * P, 3 * P)).toEqual(bits(v0, 2 * P, 3 * P));
        // Every other run moved.
        for (const r of [0, 1, 3]) expect(bits(gpu.params, r * P, (r + 1) * P)).not.toEqual(bits(init, r * P, (r + 1) * P));
      });
    });
  }

  it('weight decay is decoupled and follows the mask: zero gradients only scale decayed params by (1 − lr·wd)', async () => {
    const ctx = await testContext();
    const R = 2, P = 300;
    const init = randomFloats(5, R * P);
    const decay = Float32Array.from(randomInts(6, P, 2));
    const settings = adamwTestSettings(R);
    await withScope(ctx, async (scope) => {
      const opt = await gpuOptimizer(ctx, scope, { R, P, maxNorm: 1, params: init, decay });
      const h = adamwHyper(settings, 1);
      opt.step(new Float32Array(R * P), h);
      const gpu = await opt.read();
      let decayed = 0;
      for (let r = 0; r < R; r++) {
        const factor = 1 - h[r * 8] * h[r * 8 + 4];
        for (let j = 0; j < P; j++) {
          const i = r * P + j;
          if (decay[j] === 0 || factor === 1) {
            expect(gpu.params[i]).toBe(init[i]);
          } else {
            decayed++;
            expect(Math.abs(gpu.params[i] - init[i] * factor)).toBeLessThanOrEqual(2e-7 * Math.abs(init[i]));
            expect(gpu.params[i]).not.toBe(init[i]);
          }
        }
      }
      expect(decayed).toBeGreaterThan(50);
      expect(Array.from(gpu.m).every((x) => x === 0) && Array.from(gpu.v).every((x) => x === 0)).toBe(true);
    });
  });

  it('keeps runs isolated: changing run 1 grads and lr leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const R = 3, P = 1030, maxNorm = 5;
    const init = randomFloats(7, R * P);
    const decay = Float32Array.from(randomInts(8, P, 2));
    const settings = adamwTestSettings(R);
    const run = async (changed: boolean) => withScope(ctx, async (scope) => {
      const opt = await gpuOptimizer(ctx, scope, { R, P, maxNorm, params: init, decay });
      for (let t = 1; t <= 2; t++) {
        const g = randomFloats(20 + t, R * P);
        if (changed) for (let j = 0; j < P; j++) g[P + j] = -3 * g[P + j] + 0.1;
        const h = adamwHyper(settings.map((s, r) => (changed && r === 1 ? { ...s, lr: 0.05 } : s)), t);
        opt.step(g, h);
      }
      return opt.read();
    });
    const a = await run(false);
    const b = await run(true);
    for (const key of ['params', 'm', 'v'] as const) {
      expect(bits(b[key], 0, P)).toEqual(bits(a[key], 0, P));
      expect(bits(b[key], 2 * P, 3 * P)).toEqual(bits(a[key], 2 * P, 3 * P));
      expect(bits(b[key], P, 2 * P)).not.toEqual(bits(a[key], P, 2 * P));
    }
  });

  it('a NaN/Inf gradient in one run skips that run (norm non-finite, params/m/v untouched); other runs are unaffected', async () => {
    const ctx = await testContext();
    const R = 3, P = 700, maxNorm = 10;
    const init = randomFloats(9, R * P);
    const decay = Float32Array.from(randomInts(10, P, 2));
    const settings = adamwTestSettings(R);
    const grads = [1, 2, 3].map((t) => randomFloats(30 + t, R * P));
    const poisoned = grads.map((g) => g.slice());
    poisoned[1][P + 123] = NaN;       // step 2, run 1
    poisoned[1][2 * P + 5] = -Infinity;  // step 2, run 2
    const run = (gs: Float32Array[]) => withScope(ctx, async (scope) => {
      const opt = await gpuOptimizer(ctx, scope, { R, P, maxNorm, params: init, decay });
      const after = [];
      for (let t = 1; t <= 3; t++) {
        opt.step(gs[t - 1], adamwHyper(settings, t));
        after.push(await opt.read());
      }
      return after;
    });
    const clean = await run(grads);
    const bad = await run(poisoned);
    // Step 2: runs 1 and 2 report a non-finite norm with clipScale 0 and keep their step-1 state bit for bit.
    expect(bad[1].stats[2]).toBeNaN();
    expect(bad[1].stats[4]).toBe(Infinity);
    expect([bad[1].stats[3], bad[1].stats[5]]).toEqual([0, 0]);
    for (const key of ['params', 'm', 'v'] as const) {
      expect(bits(bad[1][key], P, 3 * P)).toEqual(bits(bad[0][key], P, 3 * P));
      // Run 0 never notices.
      for (let t = 0; t < 3; t++) expect(bits(bad[t][key], 0, P)).toEqual(bits(clean[t][key], 0, P));
      // Step 3 (clean gradients) updates the skipped runs again, with finite results.
      expect(bits(bad[2][key], P, 3 * P)).not.toEqual(bits(bad[1][key], P, 3 * P));
      expect(Array.from(bad[2][key]).every(Number.isFinite)).toBe(true);
    }
    // The whole poisoned trajectory matches the reference, skipped step included.
    let state: AdamWState = { params: Float64Array.from(init), m: new Float64Array(R * P), v: new Float64Array(R * P) };
    for (let t = 1; t <= 3; t++) state = referenceStep(state, poisoned[t - 1], adamwHyper(settings, t), decay, R, P, maxNorm);
    expect(maxAbsError(bad[2].params, state.params)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
    expect(maxAbsError(bad[2].m, state.m)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
    expect(maxAbsError(bad[2].v, state.v)).toBeLessThanOrEqual(ADAMW_TOLERANCE);
  });
});

import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { ropeBackward, ropeForward, uploadRopeTables } from '../src/kernels/rope';
import {
  ropeBackwardReference, ropeForwardReference, type RopeShape,
} from '../src/reference/rope';
import { ropeTables, ropeTablesFloat64 } from '../src/kernels/ropeTables';
import { withScope } from '../src/selftest/harness';
import { checkRope, ropeSelfTestShapes } from '../src/selftest/rope';
import { randomFloats } from '../src/util/random';
import { dot, maxAbsDiff, numericGradient, toFloat64 } from './finiteDifference';
import { testContext } from './gpuContext';

function count(shape: RopeShape): number {
  return shape.R * shape.B * shape.T * shape.H * shape.headDim;
}

/** Runs the forward (or backward) in place on a copy of `x`, with tables for `tableT` positions. */
async function runRope(
  ctx: GpuContext, shape: RopeShape, x: Float32Array, direction: 'forward' | 'backward', tableT = shape.T,
): Promise<Float32Array> {
  return withScope(ctx, async (scope) => {
    const { cos, sin } = ropeTables(tableT, shape.headDim);
    const xBuf = scope.upload('x', x);
    const io = { x: xBuf, cos: scope.upload('cos', cos), sin: scope.upload('sin', sin), ...shape };
    scope.run([direction === 'forward' ? await ropeForward(ctx, io) : await ropeBackward(ctx, io)]);
    return scope.read(xBuf, count(shape));
  });
}

function expectBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  expect(ua.length, what).toBe(ub.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

/**
 * Literal transcription of Hugging Face `LlamaRotaryEmbedding` + `apply_rotary_pos_emb` for one head
 * vector at position t (in float64): inv_freq = 1 / base^(arange(0, d, 2)/d), emb = cat(freqs, freqs),
 * out = q·cos(emb) + rotate_half(q)·sin(emb), rotate_half(q) = cat(−q[d/2:], q[:d/2]).
 */
function hfApplyRotary(q: number[], t: number, base = 10000): number[] {
  const d = q.length;
  const invFreq: number[] = [];
  for (let j = 0; j < d; j += 2) invFreq.push(1 / Math.pow(base, j / d));
  const freqs = invFreq.map((f) => t * f);
  const emb = [...freqs, ...freqs];
  const rotateHalf = [...q.slice(d / 2).map((v) => -v), ...q.slice(0, d / 2)];
  return q.map((v, k) => v * Math.cos(emb[k]) + rotateHalf[k] * Math.sin(emb[k]));
}

describe('rope kernels on WebGPU vs reference', () => {
  const shapes: RopeShape[] = [...ropeSelfTestShapes];
  for (const headDim of [2, 6, 16]) {
    for (const H of [1, 2, 3]) shapes.push({ R: 2, B: 2, T: 5, H, headDim });
  }
  shapes.push({ R: 3, B: 3, T: 11, H: 3, headDim: 16 }, { R: 1, B: 1, T: 1, H: 1, headDim: 2 });
  for (const shape of shapes) {
    it(`R=${shape.R} B=${shape.B} T=${shape.T} H=${shape.H} headDim=${shape.headDim}`, async () => {
      const ctx = await testContext();
      const results = await checkRope(ctx, shape, 5);
      expect(results.map((r) => r.kernel)).toEqual(['rope.forward', 'rope.backward']);
      for (const result of results) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  it('is the identity at t = 0 (bit-identical) and rotates every other position', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 3, T: 4, H: 2, headDim: 6 };
    const C = shape.H * shape.headDim;
    const x = randomFloats(8, count(shape));
    const y = await runRope(ctx, shape, x, 'forward');
    for (let row = 0; row < shape.R * shape.B * shape.T; row++) {
      const got = y.subarray(row * C, (row + 1) * C);
      const was = x.subarray(row * C, (row + 1) * C);
      if (row % shape.T === 0) expectBitIdentical(got, was, `row ${row} (t = 0)`);
      else expect(maxAbsDiff(got, was), `row ${row} (t = ${row % shape.T})`).toBeGreaterThan(1e-3);
    }
    // The backward is the identity at t = 0 too.
    const dx = await runRope(ctx, shape, x, 'backward');
    for (let row = 0; row < shape.R * shape.B * shape.T; row += shape.T) {
      expectBitIdentical(dx.subarray(row * C, (row + 1) * C), x.subarray(row * C, (row + 1) * C), `backward row ${row}`);
    }
  });

  it('backward undoes forward (round trip) and uses tables longer than T', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 9, H: 3, headDim: 16 };
    const x = randomFloats(9, count(shape));
    const y = await runRope(ctx, shape, x, 'forward', 64);
    const back = await runRope(ctx, shape, y, 'backward', 64);
    expect(maxAbsDiff(back, x)).toBeLessThan(2e-6);
    expect(maxAbsDiff(y, x)).toBeGreaterThan(1e-2);
  });

  it('keeps runs isolated: changing run 1 leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const shape = { R: 3, B: 2, T: 5, H: 3, headDim: 6 };
    const per = count(shape) / shape.R;
    const x = randomFloats(12, count(shape));
    const changed = x.slice();
    changed.set(randomFloats(13, per), per);
    for (const direction of ['forward', 'backward'] as const) {
      const a = await runRope(ctx, shape, x, direction);
      const b = await runRope(ctx, shape, changed, direction);
      for (const r of [0, 2]) {
        expectBitIdentical(a.subarray(r * per, (r + 1) * per), b.subarray(r * per, (r + 1) * per), `${direction} run ${r}`);
      }
      expect(maxAbsDiff(a.subarray(per, 2 * per), b.subarray(per, 2 * per))).toBeGreaterThan(1e-3);
    }
  });

  it('rejects an odd headDim and too-short tables with clear errors', async () => {
    const ctx = await testContext();
    await withScope(ctx, async (scope) => {
      const buf = scope.zeros('b', 1024);
      const io = { x: buf, cos: buf, sin: buf, R: 1, B: 1, T: 2, H: 1 };
      await expect(ropeForward(ctx, { ...io, headDim: 5 })).rejects.toThrow(/headDim must be even/);
      await expect(ropeBackward(ctx, { ...io, headDim: 3 })).rejects.toThrow(/headDim must be even/);
      const short = scope.zeros('short', 3);
      await expect(ropeForward(ctx, { ...io, cos: short, headDim: 4 })).rejects.toThrow(/table cos holds 12 bytes, needs 16/);
    });
    expect(() => ropeTables(4, 7)).toThrow(/headDim must be a positive even integer/);
  });

  it('uploadRopeTables uploads ropeTables once for every run', async () => {
    const ctx = await testContext();
    const tables = uploadRopeTables(ctx, 6, 4);
    try {
      const shape = { R: 2, B: 1, T: 6, H: 1, headDim: 4 };
      const x = randomFloats(14, count(shape));
      const { cos, sin } = ropeTables(6, 4);
      const got = await withScope(ctx, async (scope) => {
        const xBuf = scope.upload('x', x);
        scope.run([await ropeForward(ctx, { x: xBuf, cos: tables.cos, sin: tables.sin, ...shape })]);
        return scope.read(xBuf, count(shape));
      });
      expect(maxAbsDiff(got, ropeForwardReference(x, cos, sin, shape))).toBeLessThan(1e-6);
    } finally {
      ctx.arena.destroy(tables.cos);
      ctx.arena.destroy(tables.sin);
    }
  });
});

describe('rope reference', () => {
  it('matches a literal transcription of Hugging Face apply_rotary_pos_emb', () => {
    const shape = { R: 1, B: 1, T: 40, H: 3, headDim: 8 };
    const { cos, sin } = ropeTablesFloat64(shape.T, shape.headDim);
    const x = toFloat64(randomFloats(15, count(shape)));
    const y = ropeForwardReference(x, cos, sin, shape);
    let worst = 0;
    for (let t = 0; t < shape.T; t++) {
      for (let h = 0; h < shape.H; h++) {
        const start = (t * shape.H + h) * shape.headDim;
        const expected = hfApplyRotary(Array.from(x.subarray(start, start + shape.headDim)), t);
        for (let k = 0; k < shape.headDim; k++) worst = Math.max(worst, Math.abs(y[start + k] - expected[k]));
      }
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('tables: θ = t · base^(−2i/headDim), rounded once to float32', () => {
    const { cos, sin } = ropeTables(300, 6, 500000);
    const half = 3;
    for (const [t, i] of [[0, 0], [1, 0], [1, 2], [299, 1], [299, 2]]) {
      const theta = t * Math.pow(500000, (-2 * i) / 6);
      expect(cos[t * half + i]).toBe(Math.fround(Math.cos(theta)));
      expect(sin[t * half + i]).toBe(Math.fround(Math.sin(theta)));
    }
  });

  for (const shape of [
    { R: 1, B: 1, T: 3, H: 1, headDim: 2 },
    { R: 2, B: 2, T: 3, H: 2, headDim: 6 },
    { R: 1, B: 1, T: 4, H: 3, headDim: 16 },
  ]) {
    it(`backward matches finite differences of the forward (H=${shape.H} headDim=${shape.headDim})`, () => {
      const { cos, sin } = ropeTablesFloat64(shape.T, shape.headDim);
      const x = toFloat64(randomFloats(16, count(shape)));
      const dy = toFloat64(randomFloats(17, count(shape)));
      const analytic = ropeBackwardReference(dy, cos, sin, shape);
      const numeric = numericGradient((v) => dot(dy, ropeForwardReference(v, cos, sin, shape)), x);
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-7);
      // At t > 0 the gradient is not dy itself (so a backward that forgot to rotate would fail).
      expect(maxAbsDiff(analytic, dy)).toBeGreaterThan(1e-3);
    });
  }
});

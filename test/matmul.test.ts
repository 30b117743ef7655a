import { describe, expect, it } from 'vitest';
import {
  isTestedMatmulTiles, MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, matmul, matmulFlops, matmulVec4Aligned,
  type MatmulIo, type MatmulVariant,
} from '../src/kernels/matmul';
import { matmulReference } from '../src/reference/matmul';
import { checkMatmul, matmulTolerance, type MatmulCheckShape } from '../src/selftest/matmul';
import { maxAbsError, withScope } from '../src/selftest/harness';
import { randomFloats } from '../src/util/random';
import { dot, maxAbsDiff, numericGradient, toFloat64 } from './finiteDifference';
import { testContext } from './gpuContext';

interface Layout { transA: boolean; transB: boolean; accumulate: boolean }

/** Runs one matmul on the GPU (C starting as c0) and returns C with the float64 reference for it. */
async function runMatmul(
  variant: MatmulVariant, shape: MatmulCheckShape, layout: Layout, seed: number,
  tiles?: { workgroupX?: number; workgroupY?: number; tileK?: number },
): Promise<{ gpu: Float32Array; expected: Float64Array; label: string }> {
  const ctx = await testContext();
  const { R, M, N, K } = shape;
  const a = randomFloats(seed, R * M * K);
  const b = randomFloats(seed + 1, R * K * N);
  const c0 = randomFloats(seed + 2, R * M * N);
  return withScope(ctx, async (scope) => {
    const c = scope.upload('c', c0);
    const dispatch = await matmul(ctx, {
      a: scope.upload('a', a), b: scope.upload('b', b), c, R, M, N, K, ...layout, variant, tiles,
    });
    scope.run([dispatch]);
    const expected = matmulReference(a, b, { R, M, N, K, ...layout }, layout.accumulate ? c0 : undefined);
    return { gpu: await scope.read(c), expected, label: dispatch.label };
  });
}

const ALL_LAYOUTS: Layout[] = [false, true].flatMap((transA) => [false, true].flatMap((transB) =>
  [false, true].map((accumulate) => ({ transA, transB, accumulate }))));

function layoutName(l: Layout): string {
  return `${l.transA ? 't' : 'n'}${l.transB ? 't' : 'n'}${l.accumulate ? '+acc' : ''}`;
}

describe('matmul on WebGPU vs reference', () => {
  // 1×1×1, awkward sizes around the 32 / 64 output tiles and the 16-wide k-slice, R > 1.
  const shapes: MatmulCheckShape[] = [
    { R: 1, M: 1, N: 1, K: 1 },
    { R: 2, M: 7, N: 33, K: 65 },
    { R: 1, M: 130, N: 7, K: 33 },
    { R: 3, M: 65, N: 130, K: 7 },
  ];
  for (const variant of MATMUL_VARIANTS) {
    for (const shape of shapes) {
      it(`${variant}: nt, nn, tn, accumulate at R=${shape.R} M=${shape.M} N=${shape.N} K=${shape.K}`, async () => {
        const results = await checkMatmul(await testContext(), shape, 11, [variant]);
        expect(results.map((r) => r.kernel)).toEqual(
          ['nt', 'nn', 'tn', 'accumulate'].map((name) => `matmul.${variant}.${name}`));
        for (const result of results) {
          expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
        }
      });
    }

    it(`${variant}: every transposition, with and without accumulate`, async () => {
      const shape = { R: 2, M: 9, N: 66, K: 35 };
      for (const layout of ALL_LAYOUTS) {
        const { gpu, expected } = await runMatmul(variant, shape, layout, 5);
        expect(maxAbsError(gpu, expected), layoutName(layout)).toBeLessThanOrEqual(matmulTolerance(shape.K));
      }
    });

    it(`${variant}: non-default tile sizes (odd workgroups and k-slice) give the same results`, async () => {
      const shape = { R: 2, M: 37, N: 29, K: 23 };
      const tiles = variant === 'tiled' ? { workgroupX: 4, workgroupY: 8, tileK: 5 }
        : variant === 'vec4' ? { workgroupX: 4, workgroupY: 2, tileK: 8 } : { workgroupX: 4, workgroupY: 2 };
      for (const layout of [ALL_LAYOUTS[2], ALL_LAYOUTS[7]]) {
        const { gpu, expected } = await runMatmul(variant, shape, layout, 9, tiles);
        expect(maxAbsError(gpu, expected), layoutName(layout)).toBeLessThanOrEqual(matmulTolerance(shape.K));
      }
    });

    // Autotune may apply any of these (ctx.preferences.matmulTiles): each must match the reference in
    // every layout, at sizes that leave partial tiles in M, N and the k-slice, with R > 1.
    for (const tiles of [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]]) {
      const name = `${tiles.workgroupX}×${tiles.workgroupY}${variant !== 'blocked' ? ` k${tiles.tileK}` : ''}`;
      it(`${variant}: autotune candidate tiles ${name} match the reference in every layout`, async () => {
        const shape = { R: 2, M: 37, N: 70, K: 35 };
        for (const layout of ALL_LAYOUTS) {
          const { gpu, expected } = await runMatmul(variant, shape, layout, 13, tiles);
          expect(maxAbsError(gpu, expected), layoutName(layout)).toBeLessThanOrEqual(matmulTolerance(shape.K));
        }
      });
    }

    it(`${variant}: only listed tile configurations count as tested`, () => {
      expect(MATMUL_EXTRA_TILES[variant].length).toBeGreaterThan(0);
      for (const tiles of [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]]) {
        expect(isTestedMatmulTiles(variant, { ...tiles })).toBe(true);
      }
      expect(isTestedMatmulTiles(variant, { workgroupX: 4, workgroupY: 2, tileK: 5 })).toBe(false);
      const other = MATMUL_VARIANTS.find((v) => v !== variant)!;
      expect(isTestedMatmulTiles(variant, MATMUL_DEFAULT_TILES[other])).toBe(false);
    });

    it(`${variant}: runs do not leak into each other`, async () => {
      const ctx = await testContext();
      const R = 3, M = 9, N = 10, K = 11;
      const a = randomFloats(21, R * M * K);
      const b = randomFloats(22, R * K * N);
      const c0 = randomFloats(23, R * M * N);
      const per = M * N;
      // Every transposition (accumulating), so each A/B indexing path is covered.
      for (const layout of ALL_LAYOUTS.filter((l) => l.accumulate)) {
        const outputs = await withScope(ctx, async (scope) => {
          const aBuf = scope.upload('a', a);
          const bBuf = scope.upload('b', b);
          const c = scope.upload('c', c0);
          const dispatch = await matmul(ctx, { a: aBuf, b: bBuf, c, R, M, N, K, ...layout, variant });
          scope.run([dispatch]);
          const before = await scope.read(c);
          // Change run 1 only: its A, B and starting C.
          const a2 = a.slice(); const b2 = b.slice(); const c2 = c0.slice();
          for (let i = M * K; i < 2 * M * K; i++) a2[i] += 0.5;
          for (let i = K * N; i < 2 * K * N; i++) b2[i] -= 0.25;
          for (let i = per; i < 2 * per; i++) c2[i] *= 2;
          ctx.device.queue.writeBuffer(aBuf, 0, a2);
          ctx.device.queue.writeBuffer(bBuf, 0, b2);
          ctx.device.queue.writeBuffer(c, 0, c2);
          scope.run([dispatch]);
          return { before, after: await scope.read(c) };
        });
        const { before, after } = outputs;
        for (const r of [0, 2]) {
          expect(Array.from(after.subarray(r * per, (r + 1) * per)), `${layoutName(layout)} run ${r}`)
            .toEqual(Array.from(before.subarray(r * per, (r + 1) * per)));
        }
        expect(maxAbsDiff(after.subarray(per, 2 * per), before.subarray(per, 2 * per)), layoutName(layout)).toBeGreaterThan(0.1);
      }
    });

    it(`${variant}: two identical dispatches give bit-identical outputs`, async () => {
      const shape = { R: 2, M: 33, N: 17, K: 70 };
      const layout = { transA: false, transB: true, accumulate: false };
      const first = await runMatmul(variant, shape, layout, 31);
      const second = await runMatmul(variant, shape, layout, 31);
      expect(Array.from(second.gpu)).toEqual(Array.from(first.gpu));
    });
  }

  // Each C element is the same fma chain over k = 0..K-1 in every variant (tiles add only zeros), so where
  // the adapter compiles fma alike everywhere — SwiftShader does — the variants are bit-identical, and the
  // matmul that autotune picks cannot change a training run's bits there.
  it('on SwiftShader all variants give bit-identical results (every layout, aligned and awkward shapes)', async () => {
    const ctx = await testContext();
    for (const shape of [{ R: 2, M: 37, N: 70, K: 35 }, { R: 1, M: 64, N: 176, K: 64 }]) {
      for (const layout of ALL_LAYOUTS) {
        const outs = await Promise.all(MATMUL_VARIANTS.map((variant) => runMatmul(variant, shape, layout, 43)));
        for (const out of outs.slice(1)) {
          if (ctx.adapter.architecture === 'swiftshader') {
            expect(Array.from(out.gpu), `${out.label} ${layoutName(layout)}`).toEqual(Array.from(outs[0].gpu));
          } else {
            expect(maxAbsDiff(out.gpu, outs[0].gpu), `${out.label} ${layoutName(layout)}`).toBeLessThanOrEqual(2 * matmulTolerance(shape.K));
          }
        }
      }
    }
  });

  it('blocked, tiled and vec4 agree to rounding on a larger product', async () => {
    const shape = { R: 1, M: 70, N: 96, K: 200 };
    const layout = { transA: false, transB: true, accumulate: false };
    const blocked = await runMatmul('blocked', shape, layout, 41);
    const tiled = await runMatmul('tiled', shape, layout, 41);
    const vec4 = await runMatmul('vec4', shape, layout, 41);
    expect(vec4.label).toBe('matmul.vec4');
    expect(maxAbsError(blocked.gpu, blocked.expected)).toBeLessThanOrEqual(matmulTolerance(shape.K));
    expect(maxAbsDiff(blocked.gpu, tiled.gpu)).toBeLessThanOrEqual(matmulTolerance(shape.K));
    expect(maxAbsDiff(blocked.gpu, vec4.gpu)).toBeLessThanOrEqual(matmulTolerance(shape.K));
  });

  it('the builder rejects empty shapes, oversized tiles and grids beyond the device limit', async () => {
    const ctx = await testContext();
    await withScope(ctx, async (scope) => {
      const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
      const buf = scope.zeros('x', limit + 1);
      const io = { a: buf, b: buf, c: buf, R: 1, M: 4, N: 4, K: 4 };
      await expect(matmul(ctx, io)).resolves.toBeDefined();
      await expect(matmul(ctx, { ...io, K: 0 })).rejects.toThrow(/K must be a positive integer/);
      await expect(matmul(ctx, { ...io, b: scope.zeros('small', 15) })).rejects.toThrow(/buffer b has 60 B, needs 64/);
      await expect(matmul(ctx, { ...io, variant: 'tiled', tiles: { workgroupX: 64, workgroupY: 64 } }))
        .rejects.toThrow(/workgroup size limits/);
      await expect(matmul(ctx, { ...io, variant: 'tiled', tiles: { tileK: 4096 } })).rejects.toThrow(/workgroup memory/);
      await expect(matmul(ctx, { ...io, M: 1, N: 1, K: 1, R: limit + 1 })).rejects.toThrow(/workgroup count/);
    });
  });
});

describe('matmul vec4: the vec4 entry point where aligned, the scalar one elsewhere', () => {
  // Multiples of 4 that leave partial 64×64 tiles (and partial 128×64 / 64×32 ones), partial k-slices, R > 1.
  const aligned: MatmulCheckShape[] = [
    { R: 2, M: 36, N: 68, K: 20 },
    { R: 3, M: 132, N: 8, K: 44 },
    { R: 1, M: 4, N: 4, K: 4 },
  ];
  for (const shape of aligned) {
    for (const tiles of [MATMUL_DEFAULT_TILES.vec4, ...MATMUL_EXTRA_TILES.vec4]) {
      it(`aligned R=${shape.R} M=${shape.M} N=${shape.N} K=${shape.K}, tiles ${tiles.workgroupX}×${tiles.workgroupY}: every layout matches the reference`, async () => {
        for (const layout of ALL_LAYOUTS) {
          const { gpu, expected, label } = await runMatmul('vec4', shape, layout, 17, tiles);
          expect(label, layoutName(layout)).toBe('matmul.vec4');
          expect(maxAbsError(gpu, expected), layoutName(layout)).toBeLessThanOrEqual(matmulTolerance(shape.K));
        }
      });
    }
  }

  it('an unaligned leading dimension, offset or run stride selects the scalar entry point', () => {
    const io = { R: 2, M: 8, N: 12, K: 16 };
    expect(matmulVec4Aligned(io)).toBe(true);
    expect(matmulVec4Aligned({ ...io, K: 18 })).toBe(false);                   // A [M, K] rows
    expect(matmulVec4Aligned({ ...io, M: 6 })).toBe(true);                     // M is no leading dimension…
    expect(matmulVec4Aligned({ ...io, M: 6, transA: true })).toBe(false);      // …unless A is stored [K, M]
    expect(matmulVec4Aligned({ ...io, N: 10 })).toBe(false);                   // B [K, N] and C rows
    expect(matmulVec4Aligned({ ...io, layout: { b: { offset: 2, runStride: 400 } } })).toBe(false);
    expect(matmulVec4Aligned({ ...io, layout: { c: { offset: 8, runStride: 98 } } })).toBe(false);
    expect(matmulVec4Aligned({ ...io, R: 1, layout: { c: { offset: 8, runStride: 98 } } })).toBe(true); // stride unused
    expect(matmulVec4Aligned({ ...io, layout: { a: { offset: 64, runStride: 256 }, c: { offset: 4, runStride: 100 } } })).toBe(true);
  });

  it('vec4 and scalar entry points give bit-identical results on the same aligned product (every layout)', async () => {
    const ctx = await testContext();
    const R = 2, M = 36, N = 68, K = 20;
    const a = randomFloats(71, R * M * K), b = randomFloats(72, R * K * N), c0 = randomFloats(73, R * M * N);
    for (const layout of ALL_LAYOUTS) {
      const results = await withScope(ctx, async (scope) => {
        // The same A, once dense (aligned) and once one element into a larger buffer (offset 1: scalar).
        const shifted = new Float32Array(R * M * K + 1);
        shifted.set(a, 1);
        const run = async (aBuf: GPUBuffer, aLayout?: { offset: number; runStride: number }) => {
          const c = scope.upload('c', c0);
          const io: MatmulIo = { a: aBuf, b: scope.upload('b', b), c, R, M, N, K, ...layout, variant: 'vec4' };
          if (aLayout) io.layout = { a: aLayout };
          const dispatch = await matmul(ctx, io);
          scope.run([dispatch]);
          return { label: dispatch.label, out: await scope.read(c) };
        };
        return [await run(scope.upload('a', a)), await run(scope.upload('a1', shifted), { offset: 1, runStride: M * K })];
      });
      expect(results.map((r) => r.label), layoutName(layout)).toEqual(['matmul.vec4', 'matmul.vec4.scalar']);
      expect(Array.from(results[1].out), layoutName(layout)).toEqual(Array.from(results[0].out));
    }
  });

  it('aligned: two identical dispatches give bit-identical outputs', async () => {
    const shape = { R: 2, M: 36, N: 68, K: 72 };
    for (const layout of [ALL_LAYOUTS[2], ALL_LAYOUTS[1], ALL_LAYOUTS[5]]) {
      const first = await runMatmul('vec4', shape, layout, 33);
      const second = await runMatmul('vec4', shape, layout, 33);
      expect(first.label).toBe('matmul.vec4');
      expect(Array.from(second.gpu), layoutName(layout)).toEqual(Array.from(first.gpu));
      expect(maxAbsError(first.gpu, first.expected), layoutName(layout)).toBeLessThanOrEqual(matmulTolerance(shape.K));
    }
  });

  it('aligned operands inside a flat [R, P] buffer (offsets and stride multiples of 4) touch nothing else', async () => {
    const ctx = await testContext();
    const R = 3, M = 8, N = 12, K = 4;
    const P = 256, bOffset = 16, cOffset = 128; // B [N, K] = 48 floats, C [M, N] = 96 floats per run
    const a = randomFloats(81, R * M * K);
    const flatB = randomFloats(82, R * P);
    const sentinel = 123.5;
    const flatC = new Float32Array(R * P).fill(sentinel);
    const c0 = randomFloats(83, M * N);
    for (let r = 0; r < R; r++) flatC.set(c0, r * P + cOffset);
    await withScope(ctx, async (scope) => {
      const c = scope.upload('c', flatC);
      const dispatch = await matmul(ctx, {
        a: scope.upload('a', a), b: scope.upload('b', flatB), c, R, M, N, K, transB: true, accumulate: true, variant: 'vec4',
        layout: { b: { offset: bOffset, runStride: P }, c: { offset: cOffset, runStride: P } },
      });
      expect(dispatch.label).toBe('matmul.vec4');
      scope.run([dispatch]);
      const gpu = await scope.read(c);
      for (let r = 0; r < R; r++) {
        const bRun = flatB.subarray(r * P + bOffset, r * P + bOffset + N * K);
        const expected = matmulReference(a.subarray(r * M * K, (r + 1) * M * K), bRun, { R: 1, M, N, K, transB: true }, c0);
        expect(maxAbsError(gpu.subarray(r * P + cOffset, r * P + cOffset + M * N), expected)).toBeLessThan(matmulTolerance(K));
        for (let i = 0; i < P; i++) {
          if (i < cOffset || i >= cOffset + M * N) expect(gpu[r * P + i]).toBe(sentinel);
        }
      }
    });
  });

  it('aligned operands in buffers whose byte size is not a multiple of 16 still use vec4 loads, correctly', async () => {
    const ctx = await testContext();
    const R = 2, M = 8, N = 12, K = 8;
    const a = randomFloats(91, R * M * K + 1), b = randomFloats(92, R * K * N + 3);
    await withScope(ctx, async (scope) => {
      const c = scope.upload('c', new Float32Array(R * M * N + 1).fill(7));
      const dispatch = await matmul(ctx, { a: scope.upload('a', a), b: scope.upload('b', b), c, R, M, N, K, variant: 'vec4' });
      expect(dispatch.label).toBe('matmul.vec4');
      scope.run([dispatch]);
      const out = await scope.read(c);
      const expected = matmulReference(a.subarray(0, R * M * K), b.subarray(0, R * K * N), { R, M, N, K });
      expect(maxAbsError(out.subarray(0, R * M * N), expected)).toBeLessThanOrEqual(matmulTolerance(K));
      expect(out[R * M * N]).toBe(7);
    });
  });

  it('refuses a k-slice that is not a multiple of 4', async () => {
    const ctx = await testContext();
    const buffer = ctx.arena.buffer('x', 4 * 64);
    await expect(matmul(ctx, { a: buffer, b: buffer, c: buffer, R: 1, M: 4, N: 4, K: 4, variant: 'vec4', tiles: { tileK: 6 } }))
      .rejects.toThrow(/multiple of 4/);
    ctx.arena.destroy(buffer);
  });
});

describe('matmul reference', () => {
  it('matches a hand-computed product in every layout, with accumulate', () => {
    // op(A) = [[1, 2], [3, 4]], op(B) = [[5, 6], [7, 8]] → [[19, 22], [43, 50]].
    const shape = { R: 1, M: 2, N: 2, K: 2 };
    const A = [1, 2, 3, 4], At = [1, 3, 2, 4], B = [5, 6, 7, 8], Bt = [5, 7, 6, 8];
    const expected = [19, 22, 43, 50];
    expect(Array.from(matmulReference(A, B, shape))).toEqual(expected);
    expect(Array.from(matmulReference(At, B, { ...shape, transA: true }))).toEqual(expected);
    expect(Array.from(matmulReference(A, Bt, { ...shape, transB: true }))).toEqual(expected);
    expect(Array.from(matmulReference(At, Bt, { ...shape, transA: true, transB: true }))).toEqual(expected);
    expect(Array.from(matmulReference(A, B, shape, [1, 1, 1, 1]))).toEqual([20, 23, 44, 51]);
    // R = 2: the second run uses its own slices.
    expect(Array.from(matmulReference([...A, 0, 1, 1, 0], [...B, ...B], { ...shape, R: 2 })))
      .toEqual([...expected, 7, 8, 5, 6]);
    // Non-square: [1×3]·[3×2].
    expect(Array.from(matmulReference([1, 2, 3], [1, 0, 0, 1, 1, 1], { R: 1, M: 1, N: 2, K: 3 }))).toEqual([4, 5]);
  });

  it('linear backward (dX = dY·W, dW = dYᵀ·X) equals finite differences of Y = X·Wᵀ', () => {
    const R = 2, rows = 3, inF = 4, outF = 5;
    const X = toFloat64(randomFloats(51, R * rows * inF));
    const W = toFloat64(randomFloats(52, R * outF * inF));
    const dY = toFloat64(randomFloats(53, R * rows * outF));
    const forward = (x: Float64Array, w: Float64Array) =>
      matmulReference(x, w, { R, M: rows, K: inF, N: outF, transB: true });
    const dX = matmulReference(dY, W, { R, M: rows, K: outF, N: inF });
    const dW = matmulReference(dY, X, { R, M: outF, K: rows, N: inF, transA: true });
    const numericX = numericGradient((x) => dot(dY, forward(x, W)), X);
    const numericW = numericGradient((w) => dot(dY, forward(X, w)), W);
    // Y is linear in X and in W, so central differences are exact up to float64 cancellation (~1e-10).
    expect(maxAbsDiff(dX, numericX)).toBeLessThan(1e-8);
    expect(maxAbsDiff(dW, numericW)).toBeLessThan(1e-8);
    // Not vacuous: the gradients are O(1), and swapping the formulas would fail.
    expect(Math.max(...Array.from(dW, Math.abs))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(matmulReference(dY, X, { R, M: outF, K: rows, N: inF }), numericW)).toBeGreaterThan(0.01);
  });

  it('matmulFlops counts a multiply and an add per term', () => {
    expect(matmulFlops(2, 3, 4)).toBe(48);
    expect(matmulFlops(512, 512, 512)).toBe(2 * 512 ** 3);
  });
});

describe('matmul operands inside a flat [R, P] parameter buffer', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: reads B and accumulates into C at an offset with a run stride, touching nothing else`, async () => {
      const ctx = await testContext();
      const R = 3, M = 7, N = 9, K = 5;
      const P = 200, bOffset = 13, cOffset = 101; // B [N, K] = 45 floats, C [M, N] = 63 floats per run
      const a = randomFloats(31, R * M * K);
      const flatB = randomFloats(32, R * P);
      const sentinel = 123.5;
      const flatC = new Float32Array(R * P).fill(sentinel);
      const c0 = randomFloats(33, M * N);
      for (let r = 0; r < R; r++) flatC.set(c0, r * P + cOffset);
      await withScope(ctx, async (scope) => {
        const c = scope.upload('c', flatC);
        scope.run([await matmul(ctx, {
          a: scope.upload('a', a), b: scope.upload('b', flatB), c, R, M, N, K, transB: true, accumulate: true, variant,
          layout: { b: { offset: bOffset, runStride: P }, c: { offset: cOffset, runStride: P } },
        })]);
        const gpu = await scope.read(c);
        for (let r = 0; r < R; r++) {
          const b = flatB.subarray(r * P + bOffset, r * P + bOffset + N * K);
          const expected = matmulReference(a.subarray(r * M * K, (r + 1) * M * K), b, { R: 1, M, N, K, transB: true }, c0);
          expect(maxAbsError(gpu.subarray(r * P + cOffset, r * P + cOffset + M * N), expected)).toBeLessThan(matmulTolerance(K));
          for (let i = 0; i < P; i++) {
            if (i < cOffset || i >= cOffset + M * N) expect(gpu[r * P + i]).toBe(sentinel);
          }
        }
      });
    });
  }

  it('refuses a run stride smaller than the matrix', async () => {
    const ctx = await testContext();
    const buffer = ctx.arena.buffer('x', 4 * 1000);
    await expect(matmul(ctx, { a: buffer, b: buffer, c: buffer, R: 2, M: 3, N: 3, K: 3, layout: { c: { offset: 0, runStride: 4 } } }))
      .rejects.toThrow(/run stride/);
    ctx.arena.destroy(buffer);
  });
});

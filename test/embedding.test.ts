import { FLAT_SENTINEL, changedOutsideRuns, extractRuns, placeRuns } from '../src/selftest/flatParams';
import { describe, expect, it } from 'vitest';
import { readUints } from '../src/gpu/arena';
import type { GpuContext } from '../src/gpu/context';
import {
  embeddingBackward, embeddingBackwardScratchWords, embeddingForward, type EmbeddingShape, type EmbeddingVariant,
} from '../src/kernels/embedding';
import { embeddingBackwardReference, embeddingForwardReference, maskedInputIds } from '../src/reference/embedding';
import { withScope } from '../src/selftest/harness';
import {
  checkEmbedding, embeddingSelfTestShapes, randomMask,
} from '../src/selftest/embedding';
import { randomFloats, randomInts } from '../src/util/random';
import { dot, maxAbsDiff, numericGradient } from './finiteDifference';
import { testContext } from './gpuContext';

interface Inputs {
  tokens: Uint32Array;
  mask: Uint32Array;
  table: Float32Array;
  dOut: Float32Array;
  maskId: number;
}

function inputs(shape: EmbeddingShape, seed: number, p = 0.2): Inputs {
  const { R, B, T, V, C } = shape;
  return {
    tokens: randomInts(seed, R * B * (T + 1), V),
    mask: randomMask(seed + 1, R * B * T, p),
    table: randomFloats(seed + 2, R * V * C),
    dOut: randomFloats(seed + 3, R * B * T * C),
    maskId: V - 1,
  };
}

const VARIANTS: EmbeddingVariant[] = ['serial', 'workgroup'];

/** A scratch buffer for the backward, filled with garbage (the serial variant must not rely on its contents). */
function scratchGarbage(shape: EmbeddingShape): Uint32Array {
  return randomInts(97, embeddingBackwardScratchWords(shape), 0xffffffff);
}

/**
 * Runs forward and backward (the given variant, default the context's preference) on the GPU; returns out
 * [R, N, C] and dTable [R, V, C] (dTable and the scratch start as garbage).
 */
async function runGpu(
  ctx: GpuContext, shape: EmbeddingShape, x: Inputs, variant?: EmbeddingVariant,
): Promise<{ out: Float32Array; dTable: Float32Array }> {
  const { R, B, T, V, C } = shape;
  return withScope(ctx, async (scope) => {
    const io = { ...shape, tokens: scope.upload('tokens', x.tokens), mask: scope.upload('mask', x.mask), maskId: x.maskId };
    const out = scope.upload('out', randomFloats(99, R * B * T * C, 50));
    const dTable = scope.upload('dTable', randomFloats(98, R * V * C, 50));
    const scratch = scope.upload('scratch', scratchGarbage(shape));
    scope.run([
      await embeddingForward(ctx, { ...io, table: scope.upload('table', x.table), out }),
      ...await embeddingBackward(ctx, { ...io, dOut: scope.upload('dOut', x.dOut), dTable, scratch, variant }),
    ]);
    return { out: await scope.read(out), dTable: await scope.read(dTable) };
  });
}

/**
 * Like runGpu, but table and dTable are blocks of flat [R, P]-style buffers: run r's [V, C] block at
 * offset + r·stride (stride ≥ V·C), FLAT_SENTINEL everywhere else (dTable's blocks start as garbage).
 * Returns the whole flat dTable buffer as read back, plus its initial contents.
 */
async function runGpuFlat(
  ctx: GpuContext, shape: EmbeddingShape, x: Inputs, offset: number, stride: number, variant?: EmbeddingVariant,
): Promise<{ out: Float32Array; dTableFlat: Float32Array; dTableInit: Float32Array }> {
  const { R, B, T, V, C } = shape;
  const dTableInit = placeRuns(randomFloats(98, R * V * C, 50), R, V * C, offset, stride);
  return withScope(ctx, async (scope) => {
    const io = { ...shape, tokens: scope.upload('tokens', x.tokens), mask: scope.upload('mask', x.mask), maskId: x.maskId };
    const out = scope.upload('out', randomFloats(99, R * B * T * C, 50));
    const dTable = scope.upload('dTable', dTableInit);
    const table = scope.upload('table', placeRuns(x.table, R, V * C, offset, stride));
    const scratch = scope.upload('scratch', scratchGarbage(shape));
    scope.run([
      await embeddingForward(ctx, { ...io, table, tableOffset: offset, tableRunStride: stride, out }),
      ...await embeddingBackward(ctx, {
        ...io, dOut: scope.upload('dOut', x.dOut), dTable, dTableOffset: offset, dTableRunStride: stride, scratch, variant,
      }),
    ]);
    return { out: await scope.read(out), dTableFlat: await scope.read(dTable), dTableInit };
  });
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * The backward as the kernels must compute it, in f32: per (r, v, c), acc = 0 then acc = fround(acc + dOut) over
 * the positions with id v in increasing n. The GPU result must equal it bit for bit (same additions, same order).
 */
function sequentialF32Backward(shape: EmbeddingShape, x: Inputs): Float32Array {
  const { R, B, T, V, C } = shape;
  const N = B * T;
  const ids = maskedInputIds(x.tokens, x.mask, shape, x.maskId);
  const acc = new Float32Array(R * V * C);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const id = ids[r * N + n];
      if (id >= V) continue;
      for (let c = 0; c < C; c++) {
        const i = (r * V + id) * C + c;
        acc[i] = Math.fround(acc[i] + x.dOut[(r * N + n) * C + c]);
      }
    }
  }
  return acc;
}

describe('embedding kernels on WebGPU vs reference', () => {
  const shapes: EmbeddingShape[] = [
    { R: 1, B: 1, T: 1, V: 1, C: 1 },
    { R: 2, B: 1, T: 7, V: 7, C: 7 },
    { R: 1, B: 5, T: 26, V: 33, C: 65 },
    { R: 3, B: 2, T: 65, V: 130, C: 5 },
    { R: 3, B: 1, T: 300, V: 11, C: 3 },   // N > 256: several position tiles, many repeats per id
    ...embeddingSelfTestShapes,
  ];
  for (const shape of shapes) {
    for (const variant of VARIANTS) {
      it(`${JSON.stringify(shape)} ${variant}`, async () => {
        const ctx = await testContext();
        const checks = await checkEmbedding(ctx, shape, 7, variant);
        expect(checks.map((c) => c.kernel)).toEqual(['embedding.forward', 'embedding.backward']);
        expect(checks[1].shape).toContain(`variant=${variant}`);
        for (const c of checks) expect(c.maxAbsError, `${c.kernel} ${c.shape}`).toBeLessThanOrEqual(c.tolerance);
      });
    }
  }

  for (const variant of VARIANTS) it(`the mask is applied in the backward (ignoring it gives a different dTable), ${variant}`, async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 5, V: 6, C: 4 };
    const x = inputs(shape, 3);
    const { dTable } = await runGpu(ctx, shape, x, variant);
    // The reference with the mask ignored must differ from the GPU (which applies it).
    const noMask = embeddingBackwardReference(x.tokens, new Uint32Array(x.mask.length), x.dOut, shape, x.maskId);
    expect(x.mask.some((m) => m !== 0)).toBe(true);
    expect(maxAbsDiff(dTable, noMask)).toBeGreaterThan(1e-3);
  });

  for (const variant of VARIANTS) it(`P = 0 (no mask) is a plain embedding lookup; an all-ones mask gives the [MASK] row everywhere, ${variant}`, async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 3, T: 5, V: 9, C: 6 };
    const { R, B, T, V, C } = shape;
    const x = inputs(shape, 11, 0);
    expect(x.mask.every((m) => m === 0)).toBe(true);
    const { out, dTable } = await runGpu(ctx, shape, x, variant);
    const plain = new Float64Array(R * B * T * C);
    const plainGrad = new Float64Array(R * V * C);
    for (let r = 0; r < R; r++) {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const id = x.tokens[(r * B + b) * (T + 1) + t];
          const n = b * T + t;
          for (let c = 0; c < C; c++) {
            plain[(r * B * T + n) * C + c] = x.table[(r * V + id) * C + c];
            plainGrad[(r * V + id) * C + c] += x.dOut[(r * B * T + n) * C + c];
          }
        }
      }
    }
    expect(maxAbsDiff(out, plain)).toBe(0);
    expect(maxAbsDiff(dTable, plainGrad)).toBeLessThan(1e-5);

    const allMasked = { ...x, mask: new Uint32Array(R * B * T).fill(1) };
    const masked = await runGpu(ctx, shape, allMasked, variant);
    for (let r = 0; r < R; r++) {
      for (let n = 0; n < B * T; n++) {
        for (let c = 0; c < C; c++) {
          expect(masked.out[(r * B * T + n) * C + c]).toBe(x.table[(r * V + x.maskId) * C + c]);
        }
      }
      // Only the [MASK] row receives gradient; every other row is overwritten with exact zeros.
      for (let v = 0; v < V; v++) {
        for (let c = 0; c < C; c++) {
          const g = masked.dTable[(r * V + v) * C + c];
          if (v !== x.maskId) expect(g).toBe(0);
        }
      }
    }
    expect(maxAbsDiff(masked.dTable, embeddingBackwardReference(allMasked.tokens, allMasked.mask, x.dOut, shape, x.maskId)))
      .toBeLessThan(1e-5);
  });

  it('the input is the clean token at t (not t+1) unless masked', () => {
    const shape = { R: 1, B: 2, T: 2, V: 10, C: 1 };
    const ids = maskedInputIds([1, 2, 3, 4, 5, 6], [0, 1, 1, 0], shape, 9);
    expect([...ids]).toEqual([1, 9, 9, 5]);
  });

  for (const variant of VARIANTS) it(`token ids >= V read nothing: zero output rows, no gradient anywhere, ${variant}`, async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 6, V: 5, C: 7 };
    const x = inputs(shape, 21, 0);
    x.tokens[3] = 5;            // r0 b0 t3
    x.tokens[7 + 1] = 1000000;  // r0 b1 t1
    x.tokens[14 + 7 + 5] = 0xffffffff; // r1 b1 t5
    const { out, dTable } = await runGpu(ctx, shape, x, variant);
    const C = shape.C;
    for (const row of [3, 6 + 1, 12 + 6 + 5]) {
      for (let c = 0; c < C; c++) expect(out[row * C + c]).toBe(0);
    }
    expect(maxAbsDiff(out, embeddingForwardReference(x.tokens, x.mask, x.table, shape, x.maskId))).toBe(0);
    expect(maxAbsDiff(dTable, embeddingBackwardReference(x.tokens, x.mask, x.dOut, shape, x.maskId))).toBeLessThan(1e-5);
  });

  for (const variant of VARIANTS) it(`runs are isolated: changing run 1 leaves runs 0 and 2 bit-identical, ${variant}`, async () => {
    const ctx = await testContext();
    const shape = { R: 3, B: 2, T: 9, V: 8, C: 5 };
    const { B, T, V, C } = shape;
    const x = inputs(shape, 31);
    const before = await runGpu(ctx, shape, x, variant);
    const changed: Inputs = {
      ...x,
      tokens: x.tokens.slice(), mask: x.mask.slice(), table: x.table.slice(), dOut: x.dOut.slice(),
    };
    const fresh = inputs(shape, 77, 0.5);
    const span = (n: number) => [n, 2 * n] as const;
    changed.tokens.set(fresh.tokens.subarray(...span(B * (T + 1))), B * (T + 1));
    changed.mask.set(fresh.mask.subarray(...span(B * T)), B * T);
    changed.table.set(fresh.table.subarray(...span(V * C)), V * C);
    changed.dOut.set(fresh.dOut.subarray(...span(B * T * C)), B * T * C);
    const after = await runGpu(ctx, shape, changed, variant);
    for (const [key, per] of [['out', B * T * C], ['dTable', V * C]] as const) {
      expect(bitsEqual(before[key].subarray(0, per), after[key].subarray(0, per)), `${key} run 0`).toBe(true);
      expect(bitsEqual(before[key].subarray(2 * per), after[key].subarray(2 * per)), `${key} run 2`).toBe(true);
      expect(bitsEqual(before[key].subarray(per, 2 * per), after[key].subarray(per, 2 * per)), `${key} run 1 changed`).toBe(false);
    }
  });

  it('backward is deterministic: two dispatches give bit-identical dTable, and both variants agree bit for bit', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 3, T: 100, V: 4, C: 9 };  // ~75 positions per id, spread over two tiles
    const x = inputs(shape, 41);
    const results = [];
    for (const variant of VARIANTS) {
      const a = await runGpu(ctx, shape, x, variant);
      const b = await runGpu(ctx, shape, x, variant);
      expect(bitsEqual(a.dTable, b.dTable), variant).toBe(true);
      expect(bitsEqual(a.out, b.out), variant).toBe(true);
      expect(bitsEqual(a.dTable, sequentialF32Backward(shape, x)), `${variant} = f32 sum in increasing n`).toBe(true);
      results.push(a.dTable);
    }
    expect(bitsEqual(results[0], results[1])).toBe(true);
  });

  it('N > 256, V > 64, every position of a run on one id: exact, deterministic, variants identical', async () => {
    const ctx = await testContext();
    // Run 0: every clean token is 37 and nothing is masked; run 1: everything masked ([MASK] = V − 1);
    // run 2: random ids with some ids >= V mixed in (left out of the index).
    const shape = { R: 3, B: 3, T: 100, V: 70, C: 9 };   // N = 300
    const { R, B, T, V, C } = shape;
    const N = B * T;
    const x = inputs(shape, 43, 0.3);
    x.tokens.fill(37, 0, B * (T + 1));
    x.mask.fill(0, 0, N);
    x.mask.fill(1, N, 2 * N);
    for (let i = 2 * B * (T + 1); i < R * B * (T + 1); i += 7) x.tokens[i] = V + i;
    const expected = sequentialF32Backward(shape, x);
    const reference = embeddingBackwardReference(x.tokens, x.mask, x.dOut, shape, x.maskId);
    const results: Float32Array[] = [];
    for (const variant of VARIANTS) {
      const a = await runGpu(ctx, shape, x, variant);
      const b = await runGpu(ctx, shape, x, variant);
      expect(bitsEqual(a.dTable, b.dTable), `${variant} deterministic`).toBe(true);
      expect(bitsEqual(a.dTable, expected), `${variant} = f32 sum in increasing n`).toBe(true);
      expect(maxAbsDiff(a.dTable, reference)).toBeLessThan(1e-6 + 3e-8 * N);
      results.push(a.dTable);
    }
    expect(bitsEqual(results[0], results[1])).toBe(true);
    // The single rows really hold all N positions (a sum of 300 values in [−1, 1), not a few of them).
    for (const [r, v] of [[0, 37], [1, V - 1]]) {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let n = 0; n < N; n++) sum += x.dOut[(r * N + n) * C + c];
        expect(Math.abs(results[0][(r * V + v) * C + c] - sum)).toBeLessThan(1e-4);
      }
      for (let u = 0; u < V; u++) {
        if (u === v) continue;
        for (let c = 0; c < C; c++) expect(results[0][(r * V + u) * C + c]).toBe(0);
      }
    }
  });

  it('serial scratch: per run the list ends [V] then the positions sorted by id; nothing past its words', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 2, T: 9, V: 6, C: 3 };
    const { R, B, T, V } = shape;
    const N = B * T;
    const x = inputs(shape, 47, 0.3);
    x.tokens[4] = 6;   // r0 b0 t4: id >= V, in no list
    const words = embeddingBackwardScratchWords(shape);
    expect(words).toBe(R * (V + N));
    const initial = randomInts(5, words + 16, 0xffffffff);
    const scratch = await withScope(ctx, async (scope) => {
      const io = { ...shape, tokens: scope.upload('tokens', x.tokens), mask: scope.upload('mask', x.mask), maskId: x.maskId };
      const buffer = scope.upload('scratch', initial);
      scope.run(await embeddingBackward(ctx, {
        ...io, dOut: scope.upload('dOut', x.dOut), dTable: scope.zeros('dTable', R * V * shape.C), scratch: buffer, variant: 'serial',
      }));
      return readUints(ctx.device, buffer);
    });
    const ids = maskedInputIds(x.tokens, x.mask, shape, x.maskId);
    for (let r = 0; r < R; r++) {
      const base = r * (V + N);
      const sorted: number[] = [];
      const ends: number[] = [];
      for (let v = 0; v < V; v++) {
        for (let n = 0; n < N; n++) if (ids[r * N + n] === v) sorted.push(n);
        ends.push(sorted.length);
      }
      expect([...scratch.subarray(base, base + V)], `run ${r} ends`).toEqual(ends);
      expect([...scratch.subarray(base + V, base + V + sorted.length)], `run ${r} positions`).toEqual(sorted);
    }
    expect(ids[4]).toBe(6);
    // The words past the scratch's R·(V + N) are untouched.
    expect([...scratch.subarray(words)]).toEqual([...initial.subarray(words)]);
  });

  it('rejects an unknown variant and a scratch buffer that is too small', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 1, T: 3, V: 4, C: 2 };   // scratch: 2·(4 + 3) = 14 words
    await withScope(ctx, async (scope) => {
      const io = {
        ...shape, tokens: scope.zeros('tokens', 8), mask: scope.zeros('mask', 6), maskId: 3,
        dOut: scope.zeros('dOut', 12), dTable: scope.zeros('dTable', 16),
      };
      await expect(embeddingBackward(ctx, { ...io, scratch: scope.zeros('scratch', 13) }))
        .rejects.toThrow(/buffer scratch holds 52 bytes, needs 56/);
      await expect(embeddingBackward(ctx, { ...io, scratch: scope.zeros('scratch', 14), variant: 'fast' as EmbeddingVariant }))
        .rejects.toThrow(/variant must be 'workgroup' or 'serial'/);
      const serial = await embeddingBackward(ctx, { ...io, scratch: scope.zeros('scratch', 14), variant: 'serial' });
      const workgroup = await embeddingBackward(ctx, { ...io, scratch: scope.zeros('scratch', 14), variant: 'workgroup' });
      expect(serial.map((d) => d.label)).toEqual(['embeddingBackward.index', 'embeddingBackward.sum']);
      expect(workgroup.map((d) => d.label)).toEqual(['embeddingBackward.workgroup']);
      const byDefault = await embeddingBackward(ctx, { ...io, scratch: scope.zeros('scratch', 14) });
      expect(byDefault.length).toBe(ctx.preferences.rows === 'serial' ? 2 : 1);
    });
  });
});

describe('embedding table inside a flat [R, P] parameter / gradient buffer', () => {
  for (const shape of [
    { R: 3, B: 2, T: 9, V: 7, C: 6 },
    { R: 3, B: 1, T: 5, V: 3, C: 257 },   // C > 256: several channel chunks per row
  ]) for (const variant of VARIANTS) {
    it(`${JSON.stringify(shape)} offset 5, run stride V·C + 11, ${variant}`, async () => {
      const ctx = await testContext();
      const { R, V, C } = shape;
      const size = V * C;
      const offset = 5;
      const stride = size + 11;
      const x = inputs(shape, 51, 0.3);
      const flat = await runGpuFlat(ctx, shape, x, offset, stride, variant);
      expect(flat.dTableFlat.length).toBe(offset + R * stride);

      // Outputs match the dense reference…
      expect(maxAbsDiff(flat.out, embeddingForwardReference(x.tokens, x.mask, x.table, shape, x.maskId))).toBe(0);
      const dTable = extractRuns(flat.dTableFlat, R, size, offset, stride);
      const expected = embeddingBackwardReference(x.tokens, x.mask, x.dOut, shape, x.maskId);
      expect(maxAbsDiff(dTable, expected)).toBeLessThan(1e-5);
      expect(expected.some((g) => Math.abs(g) > 0.1)).toBe(true);
      // …and are bit-identical to the dense layout's.
      const dense = await runGpu(ctx, shape, x, variant);
      expect(bitsEqual(flat.out, dense.out)).toBe(true);
      expect(bitsEqual(dTable, dense.dTable)).toBe(true);

      // Every element outside dTable's R blocks is still exactly the sentinel.
      expect(changedOutsideRuns(flat.dTableInit, flat.dTableFlat, R, size, offset, stride)).toBe(0);
      let sentinels = 0;
      for (let i = 0; i < flat.dTableFlat.length; i++) {
        const inside = i >= offset && (i - offset) % stride < size;
        if (!inside) {
          expect(flat.dTableFlat[i], `dTable element ${i}`).toBe(FLAT_SENTINEL);
          sentinels++;
        }
      }
      expect(sentinels).toBe(offset + R * 11);
    });
  }

  it('the offset and stride really are used (a dense read of the flat table would differ)', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 1, T: 6, V: 4, C: 3 };
    const x = inputs(shape, 61, 0);
    const { out } = await runGpuFlat(ctx, shape, x, 5, 4 * 3 + 11);
    // Reading the flat buffer as if it were dense [R, V, C] gives another answer (sentinels, shifted rows).
    const flatTable = placeRuns(x.table, 2, 12, 5, 23);
    const wrong = embeddingForwardReference(x.tokens, x.mask, flatTable, shape, x.maskId);
    expect(maxAbsDiff(out, wrong)).toBeGreaterThan(1);
    expect(maxAbsDiff(out, embeddingForwardReference(x.tokens, x.mask, x.table, shape, x.maskId))).toBe(0);
  });

  it('rejects overlapping runs, bad offsets and buffers too small for the placement', async () => {
    const ctx = await testContext();
    const shape = { R: 2, B: 1, T: 2, V: 3, C: 4 };   // V·C = 12
    await withScope(ctx, async (scope) => {
      const io = { ...shape, tokens: scope.zeros('tokens', 6), mask: scope.zeros('mask', 4), maskId: 2 };
      const out = scope.zeros('out', 16);
      const big = scope.zeros('big', 100);
      const scratch = scope.zeros('scratch', embeddingBackwardScratchWords(shape));
      await expect(embeddingForward(ctx, { ...io, table: big, out, tableRunStride: 11 }))
        .rejects.toThrow(/tableRunStride must be an integer ≥ V·C = 12/);
      await expect(embeddingForward(ctx, { ...io, table: big, out, tableOffset: -1 }))
        .rejects.toThrow(/tableOffset must be an integer ≥ 0/);
      // offset 70 + stride 20 + 12 = 102 elements > 100.
      await expect(embeddingForward(ctx, { ...io, table: big, out, tableOffset: 70, tableRunStride: 20 }))
        .rejects.toThrow(/buffer table holds 400 bytes, needs 408/);
      await expect(embeddingBackward(ctx, { ...io, dOut: out, dTable: big, scratch, dTableOffset: 70, dTableRunStride: 20 }))
        .rejects.toThrow(/buffer dTable holds 400 bytes, needs 408/);
      await expect(embeddingBackward(ctx, { ...io, dOut: out, dTable: big, scratch, dTableRunStride: 5 }))
        .rejects.toThrow(/dTableRunStride must be/);
      // Exactly enough is fine: 68 + 20 + 12 = 100.
      await expect(embeddingBackward(ctx, { ...io, dOut: out, dTable: big, scratch, dTableOffset: 68, dTableRunStride: 20 }))
        .resolves.toBeDefined();
      // Dense defaults: 2·12 = 24 elements needed.
      await expect(embeddingForward(ctx, { ...io, table: scope.zeros('small', 23), out }))
        .rejects.toThrow(/buffer table holds 92 bytes, needs 96/);
    });
  });
});

describe('embedding reference: backward vs finite differences of the forward', () => {
  for (const [shape, p] of [
    [{ R: 1, B: 2, T: 3, V: 4, C: 3 }, 0.3],
    [{ R: 2, B: 1, T: 5, V: 3, C: 2 }, 0],
  ] as const) {
    it(`${JSON.stringify(shape)} P=${p}`, () => {
      const x = inputs(shape, 5, p);
      const upstream = Float64Array.from(x.dOut);
      const table = Float64Array.from(x.table);
      const loss = (t: Float64Array) => dot(upstream, embeddingForwardReference(x.tokens, x.mask, t, shape, x.maskId));
      const numeric = numericGradient(loss, table);
      const analytic = embeddingBackwardReference(x.tokens, x.mask, upstream, shape, x.maskId);
      expect(maxAbsDiff(analytic, numeric)).toBeLessThan(1e-6);
      expect(analytic.some((g) => Math.abs(g) > 0.1)).toBe(true);
    });
  }
});

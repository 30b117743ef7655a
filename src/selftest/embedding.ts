import { changedOutsideRuns, extractRuns, placeRuns } from './flatParams';
import type { GpuContext } from '../gpu/context';
import {
  embeddingBackward, embeddingBackwardScratchWords, embeddingForward, type EmbeddingShape, type EmbeddingVariant,
} from '../kernels/embedding';
import { embeddingBackwardReference, embeddingForwardReference } from '../reference/embedding';
import { Rng, randomFloats, randomInts } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export type { EmbeddingShape, EmbeddingVariant };

/**
 * A self-test shape; with `paramOffset` / `paramRunPad` the table and dTable live inside larger flat buffers
 * (as in a model's [R, P] parameter and gradient buffers): run r's [V, C] block starts at
 * paramOffset + r·(V·C + paramRunPad), everything else holds a sentinel that the backward must not touch.
 */
export type EmbeddingCheckShape = EmbeddingShape & { paramOffset?: number; paramRunPad?: number };

/** Value stored around the parameter blocks of a flat buffer (finite, and far from any real value). */
/** A MEAP-style input mask [count]: each position masked (1) with probability `p`. */
export function randomMask(seed: number, count: number, p: number, replaceBelow = 0): Uint32Array {
  const rng = new Rng(seed);
  const mask = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    if (rng.next() >= p) continue;
    // Entry 1 = [MASK]; with replaceBelow = V, half the chosen inputs get entry 2 + id, a random token instead
    // (the replace controls' encoding: src/data/maskPolicy.ts MASK_ENTRY / replacementEntry).
    mask[i] = replaceBelow > 0 && rng.next() < 0.5 ? 2 + rng.int(replaceBelow) : 1;
  }
  return mask;
}

/**
 * embedding.forward and embedding.backward on random tokens with ~25 % of the inputs masked
 * (maskId = V − 1; half of them replaced by a random token instead, as `replace: random` does), against the float64 reference. dTable starts as garbage to prove it is overwritten.
 * With `paramOffset`/`paramRunPad` the table and dTable are blocks of larger flat buffers filled with a
 * sentinel; the backward row then also fails (error ∞) if any element outside dTable's blocks changed.
 * The backward is built with `variant` (default: `ctx.preferences.rows`; named in the check's shape) and its
 * scratch index starts as garbage too.
 *
 * Tolerances: the forward is a copy, so it must be exact (0). The backward adds up to N values in
 * [−1, 1) per element in f32 (increasing position order; the [MASK] row gets ~N/4 of them), so the
 * rounding grows with N: 1e-6 + 3e-8·N (observed: 8e-7 at N = 130, 9e-6 at N = 1024).
 */
export async function checkEmbedding(
  ctx: GpuContext, shape: EmbeddingCheckShape, seed = 1, variant?: EmbeddingVariant,
): Promise<KernelCheck[]> {
  const { R, B, T, V, C } = shape;
  const dims = { R, B, T, V, C };
  const flat = shape.paramOffset !== undefined || shape.paramRunPad !== undefined;
  const offset = shape.paramOffset ?? 0;
  const stride = V * C + (shape.paramRunPad ?? 0);
  const N = B * T;
  const maskId = V - 1;
  const tokens = randomInts(seed, R * B * (T + 1), V);
  const mask = randomMask(seed + 1, R * N, 0.25, V);
  const table = randomFloats(seed + 2, R * V * C);
  const dOut = randomFloats(seed + 3, R * N * C);
  const expectedOut = embeddingForwardReference(tokens, mask, table, dims, maskId);
  const expectedDTable = embeddingBackwardReference(tokens, mask, dOut, dims, maskId);
  // Flat layout: the blocks sit at offset + r·stride; garbage inside dTable's blocks, the sentinel around them.
  const tableFlat = placeRuns(table, R, V * C, offset, stride);
  const dTableInit = placeRuns(randomFloats(seed + 5, R * V * C, 100), R, V * C, offset, stride);
  return withScope(ctx, async (scope) => {
    const tokensBuf = scope.upload('tokens', tokens);
    const maskBuf = scope.upload('mask', mask);
    const tableBuf = scope.upload('table', tableFlat);
    const dOutBuf = scope.upload('dOut', dOut);
    const out = scope.upload('out', randomFloats(seed + 4, R * N * C, 100));
    const dTable = scope.upload('dTable', dTableInit);
    const scratch = scope.upload('scratch', randomInts(seed + 6, embeddingBackwardScratchWords(dims), 0xffffffff));
    const io = { ...dims, tokens: tokensBuf, mask: maskBuf, maskId };
    // Without paramOffset/paramRunPad the builders' defaults (dense [R, V, C]) are exercised.
    const tablePlace = flat ? { tableOffset: offset, tableRunStride: stride } : {};
    const dTablePlace = flat ? { dTableOffset: offset, dTableRunStride: stride } : {};
    scope.run([
      await embeddingForward(ctx, { ...io, ...tablePlace, table: tableBuf, out }),
      ...await embeddingBackward(ctx, { ...io, ...dTablePlace, dOut: dOutBuf, dTable, scratch, variant }),
    ]);
    const name = formatShape(shape);
    const backwardName = `${name} variant=${variant ?? ctx.preferences.rows}`;
    const dTableAfter = await scope.read(dTable, dTableInit.length);
    const outside = changedOutsideRuns(dTableInit, dTableAfter, R, V * C, offset, stride);
    return [
      check('embedding.forward', name, [maxAbsError(await scope.read(out), expectedOut)], 0),
      check('embedding.backward', backwardName, [
        maxAbsError(extractRuns(dTableAfter, R, V * C, offset, stride), expectedDTable),
        outside === 0 ? 0 : Infinity,   // wrote outside its blocks of the flat gradient buffer
      ], 1e-6 + 3e-8 * N),
    ];
  });
}

/**
 * Shapes for `npm run selftest`: R > 1, awkward N, V and C (C > 256 exercises the channel chunks); the second
 * places table/dTable inside flat [R, P] buffers (offset 5, run stride V·C + 11).
 */
export const embeddingSelfTestShapes: EmbeddingCheckShape[] = [
  { R: 2, B: 3, T: 7, V: 13, C: 33 },
  { R: 3, B: 2, T: 33, V: 65, C: 5, paramOffset: 5, paramRunPad: 11 },
  { R: 1, B: 1, T: 33, V: 7, C: 257 },
];

/**
 * CPU reference of shaders/embedding.wgsl, in float64, same layouts (run dimension R first):
 * tokens u32 [R, B, T+1], mask u32 [R, B, T], table/dTable [R, V, C], out/dOut [R, B·T, C].
 */

export interface EmbeddingReferenceShape {
  R: number;
  B: number;
  T: number;
  V: number;
  C: number;
}

/**
 * The masked input ids [R, B·T] (may be >= V if tokens are): mask entry 0 keeps tokens[r,b,t], 1 gives maskId
 * ([MASK]), m ≥ 2 gives token m − 2 (the random-replacement controls; src/data/maskPolicy.ts MASK_ENTRY).
 */
export function maskedInputIds(
  tokens: ArrayLike<number>, mask: ArrayLike<number>, shape: EmbeddingReferenceShape, maskId: number,
): Uint32Array {
  const { R, B, T } = shape;
  const ids = new Uint32Array(R * B * T);
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const n = (r * B + b) * T + t;
        const m = mask[n];
        ids[n] = m === 0 ? tokens[(r * B + b) * (T + 1) + t] : m === 1 ? maskId : m - 2;
      }
    }
  }
  return ids;
}

/** out[r, n, :] = table[r, id(r,n), :], or zeros when the id is >= V. */
export function embeddingForwardReference(
  tokens: ArrayLike<number>, mask: ArrayLike<number>, table: ArrayLike<number>,
  shape: EmbeddingReferenceShape, maskId: number,
): Float64Array {
  const { R, B, T, V, C } = shape;
  const N = B * T;
  const ids = maskedInputIds(tokens, mask, shape, maskId);
  const out = new Float64Array(R * N * C);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const id = ids[r * N + n];
      if (id >= V) continue;
      for (let c = 0; c < C; c++) out[(r * N + n) * C + c] = table[(r * V + id) * C + c];
    }
  }
  return out;
}

/** dTable[r, v, :] = Σ over rows n with id(r,n) == v of dOut[r, n, :]; unused rows are 0. */
export function embeddingBackwardReference(
  tokens: ArrayLike<number>, mask: ArrayLike<number>, dOut: ArrayLike<number>,
  shape: EmbeddingReferenceShape, maskId: number,
): Float64Array {
  const { R, B, T, V, C } = shape;
  const N = B * T;
  const ids = maskedInputIds(tokens, mask, shape, maskId);
  const dTable = new Float64Array(R * V * C);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const id = ids[r * N + n];
      if (id >= V) continue;
      for (let c = 0; c < C; c++) dTable[(r * V + id) * C + c] += dOut[(r * N + n) * C + c];
    }
  }
  return dTable;
}

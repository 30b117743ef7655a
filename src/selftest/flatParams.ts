/**
 * Helpers for checks of kernels that read or write a tensor inside a flat per-model [R, P] buffer
 * (a parameter at offset + r·stride), with a sentinel everywhere else.
 */

export const FLAT_SENTINEL = -7777.25;

/** A flat buffer of `total` elements (default offset + R·stride), `fill` everywhere, with R runs of `dense` [R, size] at offset + r·stride. */
export function placeRuns(
  dense: ArrayLike<number>, R: number, size: number, offset: number, stride: number,
  fill = FLAT_SENTINEL, total = offset + R * stride,
): Float32Array {
  const flat = new Float32Array(total).fill(fill);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < size; i++) flat[offset + r * stride + i] = dense[r * size + i];
  }
  return flat;
}

/** The dense [R, size] view of R runs placed at offset + r·stride in `flat`. */
export function extractRuns(flat: ArrayLike<number>, R: number, size: number, offset: number, stride: number): Float32Array {
  const dense = new Float32Array(R * size);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < size; i++) dense[r * size + i] = flat[offset + r * stride + i];
  }
  return dense;
}

/** How many elements OUTSIDE the R placed runs differ bitwise between `before` and `after` (lengths must match). */
export function changedOutsideRuns(
  before: Float32Array, after: Float32Array, R: number, size: number, offset: number, stride: number,
): number {
  if (before.length !== after.length) return Infinity;
  const a = new Uint32Array(before.buffer, before.byteOffset, before.length);
  const b = new Uint32Array(after.buffer, after.byteOffset, after.length);
  let changed = 0;
  for (let i = 0; i < a.length; i++) {
    const inside = i >= offset && (i - offset) % stride < size && Math.floor((i - offset) / stride) < R;
    if (!inside && a[i] !== b[i]) changed++;
  }
  return changed;
}

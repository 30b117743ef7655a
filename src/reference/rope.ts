/**
 * CPU reference of shaders/rope.wgsl (Hugging Face LLaMA rotate-half RoPE), in float64.
 * Layout: x [R, B·T, C] with C = H·headDim, heads contiguous; row n sits at position t = n mod T.
 * Tables: cos, sin [T', headDim/2] (T' ≥ T), shared by all runs.
 */

export interface RopeShape { R: number; B: number; T: number; H: number; headDim: number }

function rotate(
  x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, shape: RopeShape, sinSign: number,
): Float64Array {
  const { R, B, T, H, headDim } = shape;
  const N = B * T;
  const half = headDim / 2;
  const C = H * headDim;
  const out = new Float64Array(R * N * C);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const t = n % T;
      for (let h = 0; h < H; h++) {
        const base = (r * N + n) * C + h * headDim;
        for (let i = 0; i < half; i++) {
          const c = cos[t * half + i];
          const s = sinSign * sin[t * half + i];
          const a = x[base + i];
          const b = x[base + i + half];
          out[base + i] = a * c - b * s;
          out[base + i + half] = b * c + a * s;
        }
      }
    }
  }
  return out;
}

/** out[i] = x[i]·cos − x[i+half]·sin, out[i+half] = x[i+half]·cos + x[i]·sin (per head, per row). */
export function ropeForwardReference(
  x: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, shape: RopeShape,
): Float64Array {
  return rotate(x, cos, sin, shape, 1);
}

/** The gradient through the forward: the inverse (transposed) rotation, sin → −sin. */
export function ropeBackwardReference(
  dy: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>, shape: RopeShape,
): Float64Array {
  return rotate(dy, cos, sin, shape, -1);
}

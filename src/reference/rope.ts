/**
 * CPU reference of shaders/rope.wgsl (Hugging Face LLaMA rotate-half RoPE), in float64.
 * Layout: x [R, B·T, C] with C = H·headDim, heads contiguous; row n sits at position t = n mod T.
 * Tables: cos, sin [T', headDim/2] (T' ≥ T), shared by all runs.
 */

export interface RopeShape { R: number; B: number; T: number; H: number; headDim: number }

/**
 * cos/sin of θ(t, i) = t · base^(−2i/headDim) for t < T, i < headDim/2, as [T, headDim/2] tables.
 * The angle and the trigonometry are evaluated in float64 and rounded once to float32.
 * (Hugging Face computes inv_freq and t·inv_freq in float32; the two agree to float32 rounding of the angle.)
 */
export function ropeTables(T: number, headDim: number, base = 10000): { cos: Float32Array; sin: Float32Array } {
  const { cos, sin } = ropeTablesFloat64(T, headDim, base);
  return { cos: Float32Array.from(cos), sin: Float32Array.from(sin) };
}

/** The same tables before rounding to float32. */
export function ropeTablesFloat64(T: number, headDim: number, base = 10000): { cos: Float64Array; sin: Float64Array } {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new Error(`ropeTables: headDim must be a positive even integer, got ${headDim}`);
  }
  const half = headDim / 2;
  const cos = new Float64Array(T * half);
  const sin = new Float64Array(T * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.pow(base, (-2 * i) / headDim);
    for (let t = 0; t < T; t++) {
      const theta = t * invFreq;
      cos[t * half + i] = Math.cos(theta);
      sin[t * half + i] = Math.sin(theta);
    }
  }
  return { cos, sin };
}

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

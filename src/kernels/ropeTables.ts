/**
 * The RoPE angle tables, shared by the kernel (uploaded once per model) and the CPU reference (so both
 * rotate by the same float64-computed angles; the kernel's copy is rounded once to float32).
 */

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

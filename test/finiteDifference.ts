/**
 * Central finite differences in float64, to check every backward reference against its forward:
 * dL/dx_i ≈ (L(x + h e_i) − L(x − h e_i)) / 2h, with L = Σ upstream ⊙ forward(x).
 */

/** Gradient of the scalar function `loss` at `x` (x is restored afterwards). */
export function numericGradient(loss: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const plus = loss(x);
    x[i] = saved - h;
    const minus = loss(x);
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** Σ_i upstream_i · output_i: turns a vector-valued forward into the scalar whose gradient the backward computes. */
export function dot(upstream: ArrayLike<number>, output: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < output.length; i++) sum += upstream[i] * output[i];
  return sum;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

export function toFloat64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

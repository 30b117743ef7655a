/**
 * CPU reference of shaders/swiglu.wgsl, in float64. Layout: every tensor [R, N, F] (elementwise).
 */

/** Logistic function without overflow for large |g|. */
export function sigmoid(g: number): number {
  if (g >= 0) return 1 / (1 + Math.exp(-g));
  const e = Math.exp(g);
  return e / (1 + e);
}

/** h = silu(gate) · up, silu(g) = g · sigmoid(g). */
export function swigluForwardReference(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const h = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) h[i] = gate[i] * sigmoid(gate[i]) * up[i];
  return h;
}

/** dGate = dh · up · σ(g) · (1 + g(1 − σ(g))),  dUp = dh · silu(g). */
export function swigluBackwardReference(
  dh: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>,
): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = new Float64Array(gate.length);
  const dUp = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dUp[i] = dh[i] * g * s;
    dGate[i] = dh[i] * up[i] * s * (1 + g * (1 - s));
  }
  return { dGate, dUp };
}

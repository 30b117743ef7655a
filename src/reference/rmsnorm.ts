/**
 * CPU reference of shaders/rmsnorm.wgsl, in float64.
 * Layouts: x, y, dy, dx [R, N, C]; weight, dWeight [R, C]; rstd [R, N].
 */

export interface RmsNormShape { R: number; N: number; C: number }

/** y = x · rstd · weight with rstd[r,n] = 1 / sqrt(mean_c x² + eps). */
export function rmsnormForwardReference(
  x: ArrayLike<number>, weight: ArrayLike<number>, shape: RmsNormShape, eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const { R, N, C } = shape;
  const y = new Float64Array(R * N * C);
  const rstd = new Float64Array(R * N);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const row = (r * N + n) * C;
      let sumSq = 0;
      for (let c = 0; c < C; c++) sumSq += x[row + c] * x[row + c];
      const rs = 1 / Math.sqrt(sumSq / C + eps);
      rstd[r * N + n] = rs;
      for (let c = 0; c < C; c++) y[row + c] = x[row + c] * rs * weight[r * C + c];
    }
  }
  return { y, rstd };
}

/**
 * dx = rstd · (dy·w − x · rstd² · mean_c(dy·w·x)),  dWeight[r,c] = Σ_n dy·x·rstd.
 * `rstd` is the forward's saved value.
 */
export function rmsnormBackwardReference(
  dy: ArrayLike<number>, x: ArrayLike<number>, weight: ArrayLike<number>, rstd: ArrayLike<number>,
  shape: RmsNormShape,
): { dx: Float64Array; dWeight: Float64Array } {
  const { R, N, C } = shape;
  const dx = new Float64Array(R * N * C);
  const dWeight = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    for (let n = 0; n < N; n++) {
      const row = (r * N + n) * C;
      const rs = rstd[r * N + n];
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dy[row + c] * weight[r * C + c] * x[row + c];
      const coefficient = (rs * rs * dot) / C;
      for (let c = 0; c < C; c++) {
        dx[row + c] = rs * (dy[row + c] * weight[r * C + c] - x[row + c] * coefficient);
        dWeight[r * C + c] += dy[row + c] * x[row + c] * rs;
      }
    }
  }
  return { dx, dWeight };
}

/** CPU reference of shaders/matmul_blocked.wgsl and shaders/matmul_tiled.wgsl (float64). */

export interface MatmulShape {
  R: number;
  M: number;
  N: number;
  K: number;
  /** A stored [R, K, M] instead of [R, M, K]. */
  transA?: boolean;
  /** B stored [R, N, K] instead of [R, K, N]. */
  transB?: boolean;
}

/**
 * For every run r: C[r] = op(A[r]) · op(B[r]) (+ c0[r] when given), C stored [R, M, N].
 * op(A)[m, k] = A[m, k], or A[k, m] when transA; op(B)[k, n] = B[k, n], or B[n, k] when transB.
 */
export function matmulReference(
  a: ArrayLike<number>, b: ArrayLike<number>, shape: MatmulShape, c0?: ArrayLike<number>,
): Float64Array {
  const { R, M, N, K } = shape;
  const c = new Float64Array(R * M * N);
  for (let r = 0; r < R; r++) {
    const aBase = r * M * K;
    const bBase = r * K * N;
    const cBase = r * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let sum = c0 ? c0[cBase + m * N + n] : 0;
        for (let k = 0; k < K; k++) {
          const av = shape.transA ? a[aBase + k * M + m] : a[aBase + m * K + k];
          const bv = shape.transB ? b[bBase + n * K + k] : b[bBase + k * N + n];
          sum += av * bv;
        }
        c[cBase + m * N + n] = sum;
      }
    }
  }
  return c;
}

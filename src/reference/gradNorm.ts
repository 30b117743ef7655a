/** CPU reference of shaders/grad_norm.wgsl (float64). */

/** Largest finite f32: a sum of squares beyond it is Inf on the GPU, so the reference says Inf too. */
const F32_MAX = 3.4028234663852886e38;

/**
 * stats [R, 2] = (norm, clipScale) per run of `grads` [R, P]:
 * norm = sqrt(Σ g²); clipScale = min(1, maxNorm / (norm + 1e-6)) when maxNorm > 0, else 1.
 * Non-finite rule (as the kernel): NaN anywhere in the run → norm NaN; otherwise an Inf gradient, or a
 * sum of squares beyond the f32 range, → norm +Inf; in both cases clipScale = 0 (AdamW skips that run).
 */
export function gradNormReference(grads: ArrayLike<number>, R: number, P: number, maxNorm: number): Float64Array {
  const stats = new Float64Array(R * 2);
  for (let r = 0; r < R; r++) {
    let sumSq = 0;
    for (let j = 0; j < P; j++) sumSq += grads[r * P + j] * grads[r * P + j];
    if (sumSq > F32_MAX) sumSq = Infinity;
    const norm = Math.sqrt(sumSq);
    let clipScale = 1;
    if (!Number.isFinite(norm)) clipScale = 0;
    else if (maxNorm > 0) clipScale = Math.min(1, maxNorm / (norm + 1e-6));
    stats[r * 2] = norm;
    stats[r * 2 + 1] = clipScale;
  }
  return stats;
}

/** CPU reference of shaders/adamw.wgsl (float64). */

const HYPER_STRIDE = 8;

export interface AdamWReferenceInput {
  /** [R, P] parameters. */
  params: ArrayLike<number>;
  /** [R, P] gradients (before clipping). */
  grads: ArrayLike<number>;
  /** [R, P] first moment. */
  m: ArrayLike<number>;
  /** [R, P] second moment. */
  v: ArrayLike<number>;
  /** [P] weight-decay multiplier shared by all runs. */
  decay: ArrayLike<number>;
  /** [R, 8] (lr, β1, β2, eps, weightDecay, 1−β1^t, 1−β2^t, active), as `adamwHyper` fills it. */
  hyper: ArrayLike<number>;
  /** [R, 2] (norm, clipScale), as `gradNormReference` / the gradNorm kernel produce. */
  stats: ArrayLike<number>;
  R: number;
  P: number;
}

export interface AdamWState {
  params: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/**
 * One torch.optim.AdamW step for every run. Pure: the inputs are not modified; returns NEW arrays
 * (feed them back in for the next step). Runs with active = 0 or a non-finite norm are copied unchanged.
 */
export function adamwReference(input: AdamWReferenceInput): AdamWState {
  const { R, P, hyper, stats } = input;
  const params = Float64Array.from(input.params);
  const m = Float64Array.from(input.m);
  const v = Float64Array.from(input.v);
  for (let r = 0; r < R; r++) {
    const h = r * HYPER_STRIDE;
    const [lr, beta1, beta2, eps, weightDecay, bc1, bc2, active] =
      [0, 1, 2, 3, 4, 5, 6, 7].map((k) => hyper[h + k]);
    if (active === 0 || !Number.isFinite(stats[r * 2])) continue;
    const clipScale = stats[r * 2 + 1];
    for (let j = 0; j < P; j++) {
      const i = r * P + j;
      const g = input.grads[i] * clipScale;
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] *= 1 - lr * weightDecay * input.decay[j];
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
      params[i] -= (lr / bc1) * (m[i] / denom);
    }
  }
  return { params, m, v };
}

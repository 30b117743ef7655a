/**
 * How often MEAP hides the needle (issue 17): the share of a MEAP arm's training sequences in which the needle's key
 * or value is masked — there the answer cannot be predicted from the context, and the needle-visible control
 * (protect: needle-key, needle-value) removes exactly these. Counted on the study's own mask stream, and
 * computed exactly: with k of the n maskable positions masked uniformly, 1 − C(n−2, k) / C(n, k).
 */
import type { StudyConfig } from '../config/presets';
import { maskCount } from '../data/maskPolicy';
import { RunPlan } from '../engine/runPlan';

export interface MaskedNeedleShare {
  /** Share of the sampled training sequences with the needle key or value masked. */
  share: number;
  sequences: number;
  /** The exact probability under the policy (k of n maskable positions), for comparison. */
  expected: number;
  k: number;
  maskable: number;
}

/** Over the first `steps` steps of one seed's MEAP arm (the first arm with a mask ratio > 0) of `config`. */
export function maskedNeedleShare(config: StudyConfig, steps: number): MaskedNeedleShare {
  const ratio = config.arms.find((r) => r > 0);
  if (ratio === undefined) throw new RangeError('the study has no MEAP arm');
  const single: StudyConfig = { ...structuredClone(config), arms: [ratio], seedsPerArm: 1 };
  const plan = new RunPlan(single);
  const find = plan.task.protectedInputs;
  if (!find) throw new RangeError(`the ${config.task} task has no needle`);
  const B = config.batch, T = config.model.context;
  const tokens = new Uint32Array(B * (T + 1)), mask = new Uint32Array(B * T);
  let hidden = 0;
  for (let s = 0; s < steps; s++) {
    plan.nextStep(tokens, mask);
    for (let b = 0; b < B; b++) {
      const needle = find(tokens.subarray(b * (T + 1), (b + 1) * (T + 1)), T, ['needle-key', 'needle-value']);
      if (needle.some((p) => mask[b * T + p] !== 0)) hidden++;
    }
  }
  const tail = config.protectQuery ? Math.max(1, plan.task.queryLength) : 1;
  const maskable = T - tail;
  const k = maskCount(ratio, T, tail);
  // Both needle positions spared: C(n−2, k) / C(n, k) = (n−k)(n−k−1) / (n(n−1)).
  const expected = 1 - ((maskable - k) * (maskable - k - 1)) / (maskable * (maskable - 1));
  return { share: hidden / (steps * B), sequences: steps * B, expected, k, maskable };
}

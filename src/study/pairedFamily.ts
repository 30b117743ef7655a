/**
 * A family of pre-registered paired differences (arm a − arm b, seed by seed): each one's mean with a 95 % bootstrap
 * interval and a two-sided sign-flip permutation test, Holm over the family. queryAttention.ts and highRatios.ts
 * test their hypotheses this way.
 */
import { holmAdjust } from './multipleComparisons';
import { bootstrapMeanCI, mean, signFlipTest } from './stats';

export interface PairedEstimate { n: number; mean: number; lo: number; hi: number }
export interface PairedTestResult extends PairedEstimate { p: number; holm: number }

/** The differences' mean and bootstrap interval (from `seed`), no test: the descriptive rows beside a family. */
export function pairedEstimate(d: readonly number[], seed: number): PairedEstimate {
  const ci = bootstrapMeanCI(d, { seed });
  return { n: d.length, mean: mean(d), lo: ci.lo, hi: ci.hi };
}

/** Each member's estimate and sign-flip p (from its own seeds), Holm-adjusted over all members. */
export function pairedFamily(members: readonly { d: readonly number[]; bootstrapSeed: number; testSeed: number }[]): PairedTestResult[] {
  const measured = members.map((m) => ({ ...pairedEstimate(m.d, m.bootstrapSeed), p: signFlipTest(m.d, { seed: m.testSeed }).p }));
  const holm = holmAdjust(measured.map((m) => m.p));
  return measured.map((m, k) => ({ ...m, holm: holm[k] }));
}

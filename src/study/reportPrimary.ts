/**
 * The judgement of a study (issue 17): the pre-declared primary endpoint per MEAP arm (share of seeds that
 * learned retrieval by the last step, Fisher's exact test, Newcombe's interval), time to learn per arm
 * (Kaplan–Meier with exact binomial bands, log-rank test), the power statement, and the verdict vocabulary
 * shared with the secondary metrics: better / worse at p < 0.05, "no difference larger than X" only when the
 * 95 % CI lies inside ±X, and otherwise "underpowered: not measured" — never "no effect".
 */
import {
  clopperPearson, fisherDetectableDifference, fisherExact, fisherPower, kaplanMeier, logRank, newcombeDifference,
  type FisherResult, type LogRankResult, type ShareInterval,
} from './stats';
import type { PrimaryEndpoint } from './studies';

export type VerdictKind = 'better' | 'worse' | 'equivalent' | 'underpowered' | 'too few seeds';
export type Verdict =
  | 'MEAP better (p < 0.05)' | 'MEAP worse (p < 0.05)' | `no difference larger than ${string}`
  | 'underpowered: not measured' | 'too few seeds for a claim';

export function verdictText(kind: VerdictKind, margin: string): Verdict {
  switch (kind) {
    case 'better': return 'MEAP better (p < 0.05)';
    case 'worse': return 'MEAP worse (p < 0.05)';
    case 'equivalent': return `no difference larger than ${margin}`;
    case 'underpowered': return 'underpowered: not measured';
    case 'too few seeds': return 'too few seeds for a claim';
  }
}

/**
 * The verdict of one comparison: `better` is whether the MEAP arm's estimate is the better direction;
 * significant: the test's p < 0.05 (and, for a bootstrap comparison, its CI excludes 0); the interval is the
 * 95 % CI of the difference, `margin` the equivalence margin in the same unit.
 */
export function judge(
  n: readonly number[], seedsForClaim: number, significant: boolean, better: boolean, interval: { lo: number; hi: number }, margin: number,
): VerdictKind {
  if (n.some((k) => k < seedsForClaim)) return 'too few seeds';
  if (significant) return better ? 'better' : 'worse';
  if (interval.lo > -margin && interval.hi < margin) return 'equivalent';
  return 'underpowered';
}

/** Share of seeds learned by each evaluated step with its exact 95 % band. */
export interface TimeToLearnPoint { step: number; share: number; lo: number; hi: number }

export interface TimeToLearn {
  points: TimeToLearnPoint[];
  /** Seeds followed, and how many learned by the last step. */
  n: number;
  learned: number;
}

/**
 * Kaplan–Meier "time to learn" of one arm: a seed's event is its first evaluated step at the threshold, a
 * seed that never learned is censored at the last step. Every seed is followed to the last step (no censoring
 * before it), so 1 − KM is the plain share learned and its exact binomial (Clopper–Pearson) 95 % interval is
 * valid at every step — where Greenwood's log-log interval is undefined at 0 % and 100 %.
 */
export function timeToLearn(learnedSteps: readonly (number | null)[], steps: readonly number[]): TimeToLearn {
  const last = steps[steps.length - 1] ?? 0;
  const km = kaplanMeier(learnedSteps.map((s) => (s === null ? { time: last, event: false } : { time: s, event: true })));
  const n = learnedSteps.length;
  const points = steps.map((step) => {
    let survival = 1;
    for (const k of km) if (k.time <= step) survival = k.survival;
    const learned = Math.round((1 - survival) * n);
    const ci = clopperPearson(learned, n);
    return { step, share: 1 - survival, lo: ci.lo, hi: ci.hi };
  });
  return { points, n, learned: learnedSteps.filter((s) => s !== null).length };
}

/** The time-to-learn log-rank test of a MEAP arm against NTP (both censored at the last step). */
export function timeToLearnLogRank(meap: readonly (number | null)[], ntp: readonly (number | null)[], lastStep: number): LogRankResult {
  const subjects = (xs: readonly (number | null)[]) => xs.map((s) => (s === null ? { time: lastStep, event: false } : { time: s, event: true }));
  return logRank(subjects(meap), subjects(ntp));
}

export interface PrimaryResult {
  arm: number;
  label: string;
  endpoint: PrimaryEndpoint;
  /** The step by which a seed must have learned (the last evaluated step). */
  byStep: number;
  /** Seeds that met the endpoint, of how many: the MEAP arm and NTP. */
  meap: { k: number; n: number };
  ntp: { k: number; n: number };
  fisher: FisherResult;
  /** MEAP share − NTP share with Newcombe's hybrid score 95 % interval. */
  difference: ShareInterval;
  /** Time to learn, MEAP arm vs NTP. */
  logRank: LogRankResult;
  /** Smallest rise / fall of the share from NTP's observed share that Fisher's test detects with 80 % power (null: none). */
  detectableIncrease: number | null;
  detectableDecrease: number | null;
  /** Exact power of the test for the difference observed here (NTP's share vs the MEAP arm's). */
  powerAtObserved: number;
  verdictKind: VerdictKind;
  verdict: Verdict;
}

/** Points of share as text: "±20 pts". */
export function marginText(margin: number): string {
  return `±${(100 * margin).toFixed(0)} pts`;
}

export function primaryResult(
  arm: { arm: number; label: string; learnedSteps: readonly (number | null)[] }, ntp: { learnedSteps: readonly (number | null)[] },
  endpoint: PrimaryEndpoint, byStep: number, seedsForClaim: number, sequentialDecision?: boolean,
): PrimaryResult {
  const count = (xs: readonly (number | null)[]) => ({ k: xs.filter((s) => s !== null).length, n: xs.length });
  const meap = count(arm.learnedSteps), base = count(ntp.learnedSteps);
  const fisher = fisherExact(meap.k, meap.n - meap.k, base.k, base.n - base.k);
  const difference = newcombeDifference(meap.k, meap.n, base.k, base.n);
  const p0 = base.k / base.n;
  // Grown until decided: significance is the sequential rule's (its looks' levels), not p < 0.05 on the last look.
  const significant = sequentialDecision ?? fisher.p < 0.05;
  const kind = judge([meap.n, base.n], seedsForClaim, significant, difference.estimate > 0, difference, endpoint.margin);
  return {
    arm: arm.arm, label: arm.label, endpoint, byStep, meap, ntp: base, fisher, difference,
    logRank: timeToLearnLogRank(arm.learnedSteps, ntp.learnedSteps, byStep),
    detectableIncrease: fisherDetectableDifference(p0, meap.n, base.n, 1),
    detectableDecrease: fisherDetectableDifference(p0, meap.n, base.n, -1),
    powerAtObserved: fisherPower(meap.k / meap.n, meap.n, p0, base.n),
    verdictKind: kind, verdict: verdictText(kind, marginText(endpoint.margin)),
  };
}

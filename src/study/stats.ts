/**
 * Statistics of multi-seed studies (pure, deterministic): means, sample standard deviations, bootstrap
 * confidence intervals (percentile method, a fixed number of resamples drawn from a seeded generator) and
 * two-sided permutation tests of a difference of means (exact enumeration when the number of relabellings
 * is small, seeded Monte Carlo otherwise). Same inputs and seed → the same numbers, in every JS engine.
 */
import { Rng } from '../util/random';
import { learnedStep, shareLearnedByStep, type AccuracyPoint } from '../analysis/retrieval';

/** Bootstrap resamples used when none is given. */
export const DEFAULT_RESAMPLES = 10_000;
/** Permutation tests enumerate every relabelling when there are at most this many, else sample. */
export const DEFAULT_EXACT_LIMIT = 200_000;
/** Monte Carlo relabellings of a permutation test that is not exact. */
export const DEFAULT_PERMUTATIONS = 20_000;

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN below two values. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (values.length - 1));
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Quantile q of values sorted ascending, by linear interpolation between order statistics (the common
 * "type 7" rule: position q·(n − 1)). NaN when empty.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be in [0, 1], got ${q}`);
  const position = q * (n - 1);
  const lo = Math.floor(position);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
}

/** Only the finite values (diverged runs report NaN; statistics are taken over the others and say how many). */
export function finite(values: readonly number[]): number[] {
  return values.filter((v) => Number.isFinite(v));
}

export interface BootstrapOptions {
  /** Seed of the resampling generator. */
  seed: number;
  /** Number of bootstrap resamples (default 10 000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

export interface Interval {
  /** The statistic on the data itself. */
  estimate: number;
  lo: number;
  hi: number;
}

function resampledMean(values: readonly number[], rng: Rng): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[rng.int(values.length)];
  return sum / values.length;
}

function percentileInterval(statistics: Float64Array, estimate: number, level: number): Interval {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  statistics.sort();
  const alpha = 1 - level;
  return { estimate, lo: quantile(statistics, alpha / 2), hi: quantile(statistics, 1 - alpha / 2) };
}

function resampleCount(options: BootstrapOptions): number {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  return resamples;
}

/**
 * Percentile bootstrap confidence interval of the mean: `resamples` resamples of the values with
 * replacement, the interval between the α/2 and 1 − α/2 quantiles of their means. NaNs when empty.
 */
export function bootstrapMeanCI(values: readonly number[], options: BootstrapOptions): Interval {
  if (values.length === 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const resamples = resampleCount(options);
  const rng = new Rng(options.seed);
  const means = new Float64Array(resamples);
  for (let k = 0; k < resamples; k++) means[k] = resampledMean(values, rng);
  return percentileInterval(means, mean(values), options.level ?? 0.95);
}

/**
 * Percentile bootstrap confidence interval of mean(x) − mean(y): each group is resampled with
 * replacement on its own (an unpaired two-sample bootstrap). NaNs when either group is empty.
 */
export function bootstrapDiffCI(x: readonly number[], y: readonly number[], options: BootstrapOptions): Interval {
  if (x.length === 0 || y.length === 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const resamples = resampleCount(options);
  const rng = new Rng(options.seed);
  const diffs = new Float64Array(resamples);
  for (let k = 0; k < resamples; k++) diffs[k] = resampledMean(x, rng) - resampledMean(y, rng);
  return percentileInterval(diffs, mean(x) - mean(y), options.level ?? 0.95);
}

export interface PermutationOptions {
  /** Seed of the Monte Carlo relabellings (unused when the test is exact). */
  seed: number;
  /** Enumerate every relabelling when there are at most this many (default 200 000). */
  exactLimit?: number;
  /** Monte Carlo relabellings otherwise (default 20 000). */
  permutations?: number;
}

export interface PermutationResult {
  /** Two-sided p-value: the share of relabellings whose |mean difference| is at least the observed one. */
  p: number;
  /** mean(x) − mean(y) on the data. */
  observed: number;
  /** True when every relabelling was enumerated. */
  exact: boolean;
  /** Relabellings counted (all of them when exact, else the Monte Carlo draws). */
  permutations: number;
}

/** Binomial coefficient C(n, k) as a float (exact while it stays below 2^53). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= Math.min(k, n - k); i++) c = (c * (n - Math.min(k, n - k) + i)) / i;
  return Math.round(c);
}

/**
 * Two-sided permutation test of a difference of means between two independent groups: under the null
 * hypothesis the group labels are exchangeable, so the observed |mean(x) − mean(y)| is compared with its
 * value under relabellings of the pooled values. Exact (every one of the C(n, |x|) relabellings, p =
 * count / total, the observed labelling included) when there are at most `exactLimit`; otherwise
 * `permutations` random relabellings from the seed, p = (1 + count) / (1 + permutations). Differences
 * within 1e-9 of the observed one (relative to the data's scale) count as "at least as extreme", so
 * identical groups give p = 1. NaN when either group is empty.
 */
export function permutationTest(x: readonly number[], y: readonly number[], options: PermutationOptions): PermutationResult {
  const nx = x.length, ny = y.length;
  if (nx === 0 || ny === 0) return { p: Number.NaN, observed: Number.NaN, exact: false, permutations: 0 };
  const pooled = [...x, ...y];
  const n = pooled.length;
  let total = 0;
  let scale = 0;
  for (const v of pooled) {
    total += v;
    scale = Math.max(scale, Math.abs(v));
  }
  const diffOf = (sumX: number) => sumX / nx - (total - sumX) / ny;
  let sumX = 0;
  for (const v of x) sumX += v;
  const observed = diffOf(sumX);
  const threshold = Math.abs(observed) - 1e-9 * (scale + 1);
  const exactLimit = options.exactLimit ?? DEFAULT_EXACT_LIMIT;
  const combinations = binomial(n, nx);
  if (combinations <= exactLimit) {
    let count = 0;
    // Every subset of size nx of the pooled indices, in lexicographic order.
    const pick = Array.from({ length: nx }, (_, i) => i);
    for (;;) {
      let s = 0;
      for (const i of pick) s += pooled[i];
      if (Math.abs(diffOf(s)) >= threshold) count++;
      let i = nx - 1;
      while (i >= 0 && pick[i] === n - nx + i) i--;
      if (i < 0) break;
      pick[i]++;
      for (let j = i + 1; j < nx; j++) pick[j] = pick[j - 1] + 1;
    }
    return { p: count / combinations, observed, exact: true, permutations: combinations };
  }
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  if (!(Number.isInteger(permutations) && permutations >= 1)) throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  const rng = new Rng(options.seed);
  const order = pooled.slice();
  let count = 0;
  for (let k = 0; k < permutations; k++) {
    // Partial Fisher–Yates: the first nx entries are a uniform random subset.
    let s = 0;
    for (let i = 0; i < nx; i++) {
      const j = i + rng.int(n - i);
      [order[i], order[j]] = [order[j], order[i]];
      s += order[i];
    }
    if (Math.abs(diffOf(s)) >= threshold) count++;
  }
  return { p: (1 + count) / (1 + permutations), observed, exact: false, permutations };
}

/**
 * Two-sided paired permutation test (sign flips) of mean(d) = 0 for paired differences d: under the null each
 * pair's two values are exchangeable, so each difference's sign is. Exact (all 2^n sign patterns, p = count / 2^n,
 * the observed one included) when 2^n ≤ `exactLimit`; otherwise `permutations` random patterns from the seed,
 * p = (1 + count) / (1 + permutations). |mean| within 1e-9 of the observed one (relative to the data's scale) counts
 * as "at least as extreme", so all-zero differences give p = 1. NaN when there are none.
 */
export function signFlipTest(d: readonly number[], options: PermutationOptions): PermutationResult {
  const n = d.length;
  if (n === 0) return { p: Number.NaN, observed: Number.NaN, exact: false, permutations: 0 };
  let scale = 0;
  for (const v of d) scale = Math.max(scale, Math.abs(v));
  const observed = mean(d);
  const threshold = Math.abs(observed) - 1e-9 * (scale + 1);
  const exactLimit = options.exactLimit ?? DEFAULT_EXACT_LIMIT;
  // Sign patterns are bits of an int32: exact enumeration stops at 30 differences whatever the limit.
  if (n <= 30 && 2 ** n <= exactLimit) {
    let count = 0;
    for (let pattern = 0; pattern < 2 ** n; pattern++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (pattern >> i) & 1 ? -d[i] : d[i];
      if (Math.abs(s / n) >= threshold) count++;
    }
    return { p: count / 2 ** n, observed, exact: true, permutations: 2 ** n };
  }
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  if (!(Number.isInteger(permutations) && permutations >= 1)) throw new RangeError(`permutations must be a positive integer, got ${permutations}`);
  const rng = new Rng(options.seed);
  let count = 0;
  for (let k = 0; k < permutations; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.int(2) ? -d[i] : d[i];
    if (Math.abs(s / n) >= threshold) count++;
  }
  return { p: (1 + count) / (1 + permutations), observed, exact: false, permutations };
}

export interface Estimate {
  /** Number of (finite) values. */
  n: number;
  mean: number;
  std: number;
  /** Bootstrap 95 % interval of the mean. */
  lo: number;
  hi: number;
}

/** Mean, sample std and bootstrap 95 % CI of the finite values. */
export function estimate(values: readonly number[], seed: number, resamples = DEFAULT_RESAMPLES): Estimate {
  const xs = finite(values);
  const ci = bootstrapMeanCI(xs, { seed, resamples });
  return { n: xs.length, mean: mean(xs), std: sampleStd(xs), lo: ci.lo, hi: ci.hi };
}

export interface LearnedSummary {
  threshold: number;
  /** The evaluated steps and the share of runs that had learned retrieval by each. */
  steps: number[];
  share: number[];
  /** Per run: first evaluated step with accuracy ≥ threshold, or null. */
  learnedSteps: (number | null)[];
  learnedCount: number;
  total: number;
  /** Median learned step of the runs that learned (null when none did). */
  medianLearnedStep: number | null;
}

/**
 * "Share of seeds that learned retrieval by each step" over the runs of one arm, from
 * src/analysis/retrieval.ts (learnedStep, shareLearnedByStep); the histories must share their steps.
 */
export function learnedSummary(histories: readonly (readonly AccuracyPoint[])[], threshold: number): LearnedSummary {
  const steps = histories[0]?.map((p) => p.step) ?? [];
  for (const h of histories) {
    if (h.length !== steps.length || h.some((p, k) => p.step !== steps[k])) throw new RangeError('learnedSummary needs histories evaluated at the same steps');
  }
  const learnedSteps = histories.map((h) => learnedStep(h, threshold));
  const learned = learnedSteps.filter((s): s is number => s !== null);
  return {
    threshold,
    steps,
    share: shareLearnedByStep(histories, threshold).map((s) => s.share),
    learnedSteps,
    learnedCount: learned.length,
    total: histories.length,
    medianLearnedStep: learned.length === 0 ? null : median(learned),
  };
}

// The tests for counts and times, in their own files (this one holds the resampling statistics).
export {
  binomialPmf, chiSquare1UpperTail, clopperPearson, erfc, fisherExact, logChoose, newcombeDifference, normalUpperTail, wilson,
  Z_80, Z_975, type FisherResult, type ShareInterval,
} from './exactTests';
export { kaplanMeier, logRank, type KaplanMeierStep, type LogRankResult, type TimeToEvent } from './survival';
export { fisherDetectableDifference, fisherPower, normalDetectableDifference } from './power';

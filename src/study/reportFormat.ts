/**
 * How the report writes its numbers (percentages, accuracy points, losses, p-values, intervals, durations)
 * and its markdown tables; the page's report view writes them the same way.
 */
import type { Estimate, Interval } from './stats';

export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a';
}

export function formatPoints(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pts` : 'n/a';
}

export function signedPercent(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}%` : 'n/a';
}

export function formatLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : 'n/a';
}

export function signedLoss(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : 'n/a';
}

/**
 * Said instead of an interval or a p-value that fewer than two seeds stand behind: the bootstrap of one value
 * is that value ("CI [10.0%, 10.0%]") and a permutation test of one pair is p = 1 — numbers that say nothing.
 */
export const NEEDS_SEEDS = 'needs ≥ 2 seeds';

/** Whether a statistic over seeds is degenerate (`n`: seeds per group). */
function tooFewSeeds(n: number | readonly number[] | undefined): boolean {
  if (n === undefined) return false;
  return (typeof n === 'number' ? [n] : n).some((k) => k < 2);
}

/** A permutation test's p-value; with fewer than 2 seeds in either group (`n`), NEEDS_SEEDS. */
export function formatP(p: number, n?: readonly number[]): string {
  if (tooFewSeeds(n)) return NEEDS_SEEDS;
  if (!Number.isFinite(p)) return 'n/a';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

/** "p = 0.0034", "p < 0.0001" (not "p = < 0.0001"), "p n/a", or "p needs ≥ 2 seeds": formatP in a sentence. */
export function formatPIs(p: number, n?: readonly number[]): string {
  const f = formatP(p, n);
  return f.startsWith('<') || f === NEEDS_SEEDS || f === 'n/a' ? `p ${f}` : `p = ${f}`;
}

/** "43.8% [31.2%, 56.3%]". */
export function formatPercentEstimate(e: { mean: number; lo: number; hi: number; n?: number }): string {
  if (tooFewSeeds(e.n)) return `${formatPercent(e.mean)} (CI ${NEEDS_SEEDS})`;
  return `${formatPercent(e.mean)} [${formatPercent(e.lo)}, ${formatPercent(e.hi)}]`;
}

export function formatLossEstimate(e: { mean: number; lo: number; hi: number; n?: number }): string {
  if (tooFewSeeds(e.n)) return `${formatLoss(e.mean)} (CI ${NEEDS_SEEDS})`;
  return `${formatLoss(e.mean)} [${formatLoss(e.lo)}, ${formatLoss(e.hi)}]`;
}

export function formatPointsInterval(i: Interval): string {
  return `[${formatPoints(i.lo)}, ${formatPoints(i.hi)}]`;
}

/** A difference with its interval: in accuracy points, or signed loss; `n`: seeds of the two groups. */
export function formatDiff(unit: 'pct' | 'loss', i: Interval, n?: readonly number[]): string {
  if (tooFewSeeds(n)) return `${unit === 'pct' ? formatPoints(i.estimate) : signedLoss(i.estimate)} (CI ${NEEDS_SEEDS} per arm)`;
  return unit === 'pct'
    ? `${formatPoints(i.estimate)} ${formatPointsInterval(i)}`
    : `${signedLoss(i.estimate)} [${signedLoss(i.lo)}, ${signedLoss(i.hi)}]`;
}

export function formatEntropy(e: Estimate): string {
  if (tooFewSeeds(e.n)) return `${e.mean.toFixed(3)} (CI ${NEEDS_SEEDS})`;
  return `${e.mean.toFixed(3)} [${e.lo.toFixed(3)}, ${e.hi.toFixed(3)}]`;
}

export function bucketName(b: number, buckets: number): string {
  return `${Math.round((100 * b) / buckets)}–${Math.round((100 * (b + 1)) / buckets)}%`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

export function flops(x: number): string {
  return x >= 1e12 ? `${(x / 1e12).toFixed(1)} TFLOP` : `${(x / 1e9).toFixed(1)} GFLOP`;
}

export function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * Formatters the report view needs beyond src/study/report.ts's (which it shares, so the page shows the
 * numbers exactly as report.md writes them).
 */
import type { Estimate, Interval } from '../../study/stats';
import { formatPoints, formatPointsInterval, METRICS, NEEDS_SEEDS, type Metric } from '../../study/report';

function signed(x: number, digits: number, suffix = ''): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}${suffix}` : 'n/a';
}

/** A relative change as a signed percentage with its CI: "−12.3% [−20.1%, −4.0%]". */
export function formatSignedPercentEstimate(e: Estimate): string {
  const pct = (x: number) => signed(100 * x, 1, '%');
  if (e.n < 2) return `${pct(e.mean)} (CI ${NEEDS_SEEDS})`;
  return `${pct(e.mean)} [${pct(e.lo)}, ${pct(e.hi)}]`;
}

export function formatEntropyEstimate(e: Estimate): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  if (e.n < 2) return `${f(e.mean)} (CI ${NEEDS_SEEDS})`;
  return `${f(e.mean)} [${f(e.lo)}, ${f(e.hi)}]`;
}

/** A MEAP − NTP difference with its CI, in accuracy points or in loss. */
export function formatDifference(metric: Metric, i: Interval, n?: readonly number[]): string {
  if (n && n.some((k) => k < 2)) {
    return `${METRICS[metric].unit === 'pct' ? formatPoints(i.estimate) : signed(i.estimate, 4)} (CI ${NEEDS_SEEDS} per arm)`;
  }
  if (METRICS[metric].unit === 'pct') return `${formatPoints(i.estimate)} ${formatPointsInterval(i)}`;
  return `${signed(i.estimate, 4)} [${signed(i.lo, 4)}, ${signed(i.hi, 4)}]`;
}

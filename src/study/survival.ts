/**
 * Time to an event over seeds: the Kaplan–Meier estimate with Greenwood's variance and a log-log
 * confidence interval, and the log-rank test of two arms. In a study every seed is followed to the last
 * evaluated step, so a seed that never learned is censored there (and the estimate equals the plain share);
 * the general form stays so that a run cut short (diverged, or a study still running) is handled honestly.
 */
import { chiSquare1UpperTail, Z_975 } from './exactTests';

/** One subject: the time of its event, or the last time it was seen without one (censored). */
export interface TimeToEvent { time: number; event: boolean }

export interface KaplanMeierStep {
  /** A time with at least one event. */
  time: number;
  atRisk: number;
  events: number;
  /** Probability of no event through this time. */
  survival: number;
  /** Greenwood standard error of `survival`. */
  se: number;
  /** Log-log 95 % interval of `survival` (Kalbfleisch & Prentice; R survfit's conf.type = "log-log"). */
  lo: number;
  hi: number;
}

/** Kaplan–Meier product-limit estimate; ties: events before censorings at the same time (the usual rule). */
export function kaplanMeier(subjects: readonly TimeToEvent[], z = Z_975): KaplanMeierStep[] {
  const times = [...new Set(subjects.filter((s) => s.event).map((s) => s.time))].sort((a, b) => a - b);
  const out: KaplanMeierStep[] = [];
  let survival = 1;
  let greenwood = 0;
  for (const time of times) {
    const atRisk = subjects.filter((s) => s.time >= time).length;
    const events = subjects.filter((s) => s.event && s.time === time).length;
    survival *= 1 - events / atRisk;
    greenwood += atRisk > events ? events / (atRisk * (atRisk - events)) : Number.POSITIVE_INFINITY;
    const se = survival * Math.sqrt(greenwood);
    let lo: number, hi: number;
    if (survival <= 0 || !Number.isFinite(greenwood)) {
      lo = 0; hi = out.length > 0 ? out[out.length - 1].hi : 1;
    } else if (survival >= 1) {
      lo = 1; hi = 1;
    } else {
      // CI of log(−log S), variance greenwood / (log S)², mapped back: S^exp(±z·σ).
      const sigma = Math.sqrt(greenwood) / Math.abs(Math.log(survival));
      lo = survival ** Math.exp(z * sigma);
      hi = survival ** Math.exp(-z * sigma);
    }
    out.push({ time, atRisk, events, survival, se, lo, hi });
  }
  return out;
}

export interface LogRankResult {
  /** χ² statistic on 1 degree of freedom. */
  chiSquare: number;
  p: number;
  /** Observed and expected events of each group under the null hypothesis. */
  observed: [number, number];
  expected: [number, number];
}

/**
 * Log-rank (Mantel–Cox) test of two groups: at each event time the first group's observed events are set
 * against their hypergeometric expectation and variance; χ² = (O₁ − E₁)² / V. NaN p when no event occurred.
 */
export function logRank(x: readonly TimeToEvent[], y: readonly TimeToEvent[]): LogRankResult {
  const times = [...new Set([...x, ...y].filter((s) => s.event).map((s) => s.time))].sort((a, b) => a - b);
  let o1 = 0, e1 = 0, o2 = 0, e2 = 0, v = 0;
  for (const time of times) {
    const n1 = x.filter((s) => s.time >= time).length, n2 = y.filter((s) => s.time >= time).length;
    const d1 = x.filter((s) => s.event && s.time === time).length, d2 = y.filter((s) => s.event && s.time === time).length;
    const n = n1 + n2, d = d1 + d2;
    o1 += d1; o2 += d2;
    e1 += (d * n1) / n; e2 += (d * n2) / n;
    if (n > 1) v += (d * (n1 / n) * (n2 / n) * (n - d)) / (n - 1);
  }
  const chiSquare = v > 0 ? (o1 - e1) ** 2 / v : Number.NaN;
  return { chiSquare, p: chiSquare1UpperTail(chiSquare), observed: [o1, o2], expected: [e1, e2] };
}

/**
 * Tests for a family of comparisons (issue 17's controls): Holm's step-down adjustment of p-values, and the
 * exact McNemar test for two binary outcomes paired by seed (a control's MEAP arm vs needle-quick's MEAP arm
 * on the same seeds, batches and initial weights).
 */
import { binomialPmf } from './exactTests';

/**
 * Holm–Bonferroni adjusted p-values, in the input's order: sort ascending, p₍ᵢ₎ · (m − i) (i from 0), made
 * monotone and capped at 1. Rejecting where adjusted < α controls the family-wise error rate at α.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new RangeError(`a p-value must be in [0, 1], got ${p}`);
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, p * (m - rank)));
    adjusted[i] = running;
  });
  return adjusted;
}

export interface McNemarResult {
  /** Pairs where only the first / only the second outcome is a success. */
  onlyFirst: number;
  onlySecond: number;
  /** Two-sided exact p: twice the smaller binomial tail of the discordant pairs at ½, capped at 1. */
  p: number;
}

/** Exact McNemar test of paired binary outcomes (first[i], second[i] of the same pair). */
export function mcnemarExact(first: readonly boolean[], second: readonly boolean[]): McNemarResult {
  if (first.length !== second.length) throw new RangeError(`McNemar pairs outcomes: ${first.length} vs ${second.length}`);
  let onlyFirst = 0, onlySecond = 0;
  first.forEach((a, i) => {
    if (a && !second[i]) onlyFirst++;
    if (!a && second[i]) onlySecond++;
  });
  const n = onlyFirst + onlySecond;
  let tail = 0;
  for (let k = 0; k <= Math.min(onlyFirst, onlySecond); k++) tail += binomialPmf(k, n, 0.5);
  return { onlyFirst, onlySecond, p: n === 0 ? 1 : Math.min(1, 2 * tail) };
}

/**
 * Power statements: what a study of this size could have detected. For a share (the primary endpoint,
 * tested with Fisher's exact test) the power is computed exactly, by enumerating every pair of binomial
 * outcomes; for a continuous metric the minimal detectable difference uses the normal approximation.
 */
import { binomialPmf, fisherExact, Z_80, Z_975 } from './exactTests';

/**
 * Exact power of the two-sided Fisher test at level α for shares p1 (n1 seeds) and p0 (n0 seeds): the
 * probability, summed over all (n1 + 1)(n0 + 1) outcomes, of an outcome whose Fisher p is below α.
 */
export function fisherPower(p1: number, n1: number, p0: number, n0: number, alpha = 0.05): number {
  const significant = significantTables(n1, n0, alpha);
  let power = 0;
  for (let a = 0; a <= n1; a++) {
    const pa = binomialPmf(a, n1, p1);
    if (pa === 0) continue;
    for (let c = 0; c <= n0; c++) if (significant[a][c]) power += pa * binomialPmf(c, n0, p0);
  }
  return power;
}

const tableCache = new Map<string, boolean[][]>();

/** Which outcomes (a of n1, c of n0) Fisher's test calls significant at α (cached: the same n recur). */
function significantTables(n1: number, n0: number, alpha: number): boolean[][] {
  const key = `${n1}:${n0}:${alpha}`;
  let table = tableCache.get(key);
  if (!table) {
    table = Array.from({ length: n1 + 1 }, (_, a) => Array.from({ length: n0 + 1 }, (_, c) => fisherExact(a, n1 - a, c, n0 - c).p < alpha));
    tableCache.set(key, table);
  }
  return table;
}

/** Grid step of the detectable-difference search before bisection (shares). */
const SEARCH_STEP = 0.01;

/**
 * The smallest difference d (in share) with power ≥ `power` for Fisher's test at α, from a baseline share p0
 * in the direction `direction` (+1: the other arm higher, −1: lower), n1 and n0 seeds; null when even the
 * largest possible difference falls short (too few seeds for the test ever to reach α). The power is scanned
 * on a 0.01 grid and the first crossing refined by bisection (power is not strictly monotone for a discrete test:
 * this is the first difference that reaches it).
 */
export function fisherDetectableDifference(
  p0: number, n1: number, n0: number, direction: 1 | -1 = 1, power = 0.8, alpha = 0.05,
): number | null {
  const room = direction > 0 ? 1 - p0 : p0;
  const reaches = (d: number) => fisherPower(p0 + direction * d, n1, p0, n0, alpha) >= power;
  let previous = 0;
  for (let d = SEARCH_STEP; d < room + SEARCH_STEP / 2; d += SEARCH_STEP) {
    const step = Math.min(d, room);
    if (reaches(step)) {
      let lo = previous, hi = step;
      for (let i = 0; i < 30; i++) {
        const mid = (lo + hi) / 2;
        if (reaches(mid)) hi = mid; else lo = mid;
      }
      return hi;
    }
    previous = step;
  }
  return null;
}

/**
 * Minimal detectable difference of two means (two-sided α = 0.05, 80 % power) by the normal approximation:
 * (z₀.₉₇₅ + z₀.₈₀) · √(s₁²/n₁ + s₀²/n₀), from the observed standard deviations. An approximation for the
 * small n of a study (a t-based one would be larger); the report says so.
 */
export function normalDetectableDifference(sd1: number, n1: number, sd0: number, n0: number): number {
  if (n1 < 2 || n0 < 2) return Number.NaN;
  return (Z_975 + Z_80) * Math.sqrt((sd1 * sd1) / n1 + (sd0 * sd0) / n0);
}

/**
 * Exact and closed-form tests for counts (pure, deterministic): binomial and hypergeometric probabilities,
 * Fisher's exact test of a 2×2 table, the Clopper–Pearson interval of one share, Newcombe's interval of a
 * difference of two shares, and the normal / χ²(1) tail functions the other tests need. No resampling: the
 * same counts give the same numbers everywhere.
 */

/** P(X = k) for X ~ Binomial(n, p). */
export function binomialPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return 0;
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  return Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/** ln C(n, k) by summing logs (relative error ~1e-13 for the n of a study: hundreds of seeds at most). */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return Number.NEGATIVE_INFINITY;
  const m = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= m; i++) s += Math.log(n - m + i) - Math.log(i);
  return s;
}

export interface FisherResult {
  /** Two-sided p: the summed probability of every table with the same margins no more likely than the observed. */
  p: number;
  /** Sample odds ratio (a·d)/(b·c); Infinity or NaN where a cell is 0. */
  oddsRatio: number;
}

/**
 * Fisher's exact test of the 2×2 table [[a, b], [c, d]] (rows: groups, columns: event / no event), two-sided
 * by the rule of R's fisher.test and SciPy's fisher_exact: tables whose hypergeometric probability is at most
 * the observed one (within a relative 1e-7, so ties count) are summed.
 */
export function fisherExact(a: number, b: number, c: number, d: number): FisherResult {
  for (const x of [a, b, c, d]) if (!(Number.isInteger(x) && x >= 0)) throw new RangeError(`Fisher's test needs counts, got ${x}`);
  const row1 = a + b, row2 = c + d, col1 = a + c, n = row1 + row2;
  const lo = Math.max(0, col1 - row2), hi = Math.min(row1, col1);
  const logTotal = logChoose(n, col1);
  const prob = (x: number) => Math.exp(logChoose(row1, x) + logChoose(row2, col1 - x) - logTotal);
  const observed = prob(a);
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const px = prob(x);
    if (px <= observed * (1 + 1e-7)) p += px;
  }
  return { p: Math.min(1, p), oddsRatio: (a * d) / (b * c) };
}

/** Upper tail of the standard normal, 1 − Φ(z), from erfc. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** P(χ²₁ ≥ x): the p-value of a 1-degree-of-freedom χ² statistic. */
export function chiSquare1UpperTail(x: number): number {
  if (!(x >= 0)) return Number.NaN;
  return erfc(Math.sqrt(x / 2));
}

/**
 * Complementary error function: the Chebyshev-type fit of Numerical Recipes (Press et al., 2nd ed., §6.2,
 * erfcc), relative error below 1.2e-7 everywhere — far below any p-value a report prints.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** z quantiles the power statements use (two-sided α = 0.05, power 80 %), to 6 decimals. */
export const Z_975 = 1.959964;
export const Z_80 = 0.841621;

export interface ShareInterval { estimate: number; lo: number; hi: number }

/**
 * Clopper–Pearson ("exact") interval of a share k / n: the p at which P(X ≥ k) and P(X ≤ k) equal α/2,
 * found by bisection on the binomial tail (60 halvings: far below any printed digit).
 */
export function clopperPearson(k: number, n: number, level = 0.95): ShareInterval {
  if (n === 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const half = (1 - level) / 2;
  const tailAtLeast = (p: number) => { let s = 0; for (let x = k; x <= n; x++) s += binomialPmf(x, n, p); return s; };
  const tailAtMost = (p: number) => { let s = 0; for (let x = 0; x <= k; x++) s += binomialPmf(x, n, p); return s; };
  // tailAtLeast grows with p, tailAtMost falls: bisect for the p where each equals α/2.
  const solve = (below: (p: number) => boolean) => {
    let lo = 0, hi = 1;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (below(mid)) lo = mid; else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return {
    estimate: k / n,
    lo: k === 0 ? 0 : solve((p) => tailAtLeast(p) < half),
    hi: k === n ? 1 : solve((p) => tailAtMost(p) > half),
  };
}

/** Wilson score interval of k / n (the building block of Newcombe's interval). */
export function wilson(k: number, n: number, z = Z_975): ShareInterval {
  if (n === 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/**
 * Newcombe's hybrid score interval (Newcombe 1998, method 10) of the difference k1/n1 − k2/n2: from the
 * two Wilson intervals; it keeps its coverage at small n and at shares of 0 or 1, where the Wald interval fails.
 */
export function newcombeDifference(k1: number, n1: number, k2: number, n2: number, z = Z_975): ShareInterval {
  const p1 = k1 / n1, p2 = k2 / n2;
  const w1 = wilson(k1, n1, z), w2 = wilson(k2, n2, z);
  const d = p1 - p2;
  return {
    estimate: d,
    lo: d - Math.sqrt((p1 - w1.lo) ** 2 + (w2.hi - p2) ** 2),
    hi: d + Math.sqrt((w1.hi - p1) ** 2 + (p2 - w2.lo) ** 2),
  };
}

import { describe, expect, it } from 'vitest';
import {
  binomial, bootstrapDiffCI, bootstrapMeanCI, chiSquare1UpperTail, clopperPearson, estimate, finite, fisherDetectableDifference, fisherExact,
  fisherPower, kaplanMeier, learnedSummary, logRank, mean, median, newcombeDifference, normalDetectableDifference, normalUpperTail,
  permutationTest, quantile, sampleStd, signFlipTest,
} from '../src/study/stats';
import { Rng } from '../src/util/random';

describe('descriptive statistics', () => {
  it('mean, sample std, median and quantiles of known values', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    // Sum of squares 32, n − 1 = 7.
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(sampleStd([3])).toBeNaN();
    expect(mean([])).toBeNaN();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([0, 10, 20, 30, 40], 0.25)).toBe(10);
    expect(quantile([0, 10], 0.975)).toBeCloseTo(9.75, 12);
    expect(finite([1, Number.NaN, 2, Infinity])).toEqual([1, 2]);
    expect(binomial(16, 8)).toBe(12870);
    expect(binomial(5, 0)).toBe(1);
    expect(binomial(40, 20)).toBe(137846528820);
  });
});

describe('bootstrap confidence intervals', () => {
  it('are deterministic from the seed and change with it', () => {
    const xs = [0.1, 0.5, 0.3, 0.9, 0.7, 0.123, 0.456, 0.789, 0.5, 0.432];
    const a = bootstrapMeanCI(xs, { seed: 7, resamples: 2000 });
    expect(bootstrapMeanCI(xs, { seed: 7, resamples: 2000 })).toEqual(a);
    expect(bootstrapMeanCI(xs, { seed: 8, resamples: 2000 })).not.toEqual(a);
    expect(a.estimate).toBeCloseTo(mean(xs), 12);
    expect(a.lo).toBeLessThan(mean(xs));
    expect(a.hi).toBeGreaterThan(mean(xs));
    // Resample means lie within the data's range.
    expect(a.lo).toBeGreaterThanOrEqual(0.1);
    expect(a.hi).toBeLessThanOrEqual(0.9);
  });

  it('collapses to the value for constant data and is NaN for no data', () => {
    expect(bootstrapMeanCI([3, 3, 3], { seed: 1 })).toEqual({ estimate: 3, lo: 3, hi: 3 });
    expect(bootstrapMeanCI([], { seed: 1 }).lo).toBeNaN();
    expect(bootstrapDiffCI([2, 2], [0.5, 0.5, 0.5], { seed: 1 })).toEqual({ estimate: 1.5, lo: 1.5, hi: 1.5 });
  });

  it('covers the true mean in about 95% of simple normal samples', () => {
    // 200 samples of 30 draws from N(1, 2²): the percentile bootstrap should cover μ = 1 in ≈ 93–95 % of them.
    const rng = new Rng(2024);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const xs = Array.from({ length: 30 }, () => 1 + 2 * rng.normal());
      const ci = bootstrapMeanCI(xs, { seed: t, resamples: 1000 });
      if (ci.lo <= 1 && 1 <= ci.hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('puts the interval of a clear difference away from zero and a null one around it', () => {
    const rng = new Rng(99);
    const x = Array.from({ length: 12 }, () => 5 + rng.normal());
    const y = Array.from({ length: 12 }, () => rng.normal());
    const d = bootstrapDiffCI(x, y, { seed: 3 });
    expect(d.estimate).toBeCloseTo(mean(x) - mean(y), 12);
    expect(d.lo).toBeGreaterThan(3);
    expect(d.hi).toBeLessThan(7);
    const z = Array.from({ length: 12 }, () => rng.normal());
    const null_ = bootstrapDiffCI(y, z, { seed: 3 });
    expect(null_.lo).toBeLessThan(0);
    expect(null_.hi).toBeGreaterThan(0);
  });

  it('estimate() ignores non-finite values and reports how many it used', () => {
    const e = estimate([1, 2, Number.NaN, 3], 5, 500);
    expect(e.n).toBe(3);
    expect(e.mean).toBe(2);
    expect(e.std).toBe(1);
    expect(e.lo).toBeLessThanOrEqual(2);
    expect(e.hi).toBeGreaterThanOrEqual(2);
  });
});

describe('paired sign-flip test', () => {
  it('matches hand-enumerated cases', () => {
    // [1, 2, 3]: of the 8 sign patterns only +++ and −−− reach |mean| 2.
    const r = signFlipTest([1, 2, 3], { seed: 1 });
    expect(r).toEqual({ p: 2 / 8, observed: 2, exact: true, permutations: 8 });
    // [0, 1, 2]: sums ±1 ± 2, each twice (the 0's sign changes nothing); |sum| ≥ 3 in 4 of the 8 patterns.
    expect(signFlipTest([0, 1, 2], { seed: 1 }).p).toBeCloseTo(4 / 8, 15);
    expect(signFlipTest([0, 0, 0], { seed: 1 }).p).toBe(1);
    expect(signFlipTest([], { seed: 1 }).p).toBeNaN();
  });

  it('Monte Carlo: deterministic from its seed, close to the exact value; a clear shift gives the smallest p', () => {
    const d = [0.12, -0.05, 0.3, 0.08, 0.22, -0.1, 0.15, 0.05, 0.18, -0.02, 0.09, 0.11];
    const exact = signFlipTest(d, { seed: 1 });
    expect(exact.exact).toBe(true);
    const mc = signFlipTest(d, { seed: 7, exactLimit: 10, permutations: 20000 });
    expect(mc.exact).toBe(false);
    expect(signFlipTest(d, { seed: 7, exactLimit: 10, permutations: 20000 })).toEqual(mc);
    expect(Math.abs(mc.p - exact.p)).toBeLessThan(0.01);
    const shifted = Array.from({ length: 64 }, (_, i) => 1 + (i % 5) * 0.1);
    expect(signFlipTest(shifted, { seed: 3, permutations: 999 }).p).toBeCloseTo(1 / 1000, 15);
  });
});

describe('permutation test', () => {
  it('gives p = 1 for identical groups (exact and Monte Carlo)', () => {
    const g = [0.2, 0.4, 0.6, 0.8];
    const exact = permutationTest(g, [...g], { seed: 1 });
    expect(exact.exact).toBe(true);
    expect(exact.p).toBe(1);
    const mc = permutationTest(g, [...g], { seed: 1, exactLimit: 10, permutations: 999 });
    expect(mc.exact).toBe(false);
    expect(mc.p).toBe(1);
  });

  it('gives the smallest possible p for completely separated groups', () => {
    // 8 vs 8 fully separated: only the observed labelling and its mirror are as extreme: 2 / C(16, 8).
    const x = [10, 11, 12, 13, 14, 15, 16, 17];
    const y = [0, 1, 2, 3, 4, 5, 6, 7];
    const r = permutationTest(x, y, { seed: 1 });
    expect(r.exact).toBe(true);
    expect(r.permutations).toBe(12870);
    expect(r.p).toBeCloseTo(2 / 12870, 15);
    expect(r.observed).toBe(10);
    const mc = permutationTest(x, y, { seed: 4, exactLimit: 100, permutations: 5000 });
    expect(mc.p).toBeLessThan(0.005);
  });

  it('matches a hand-enumerated small case', () => {
    // x = [1, 2], y = [3]: relabellings {1,2}|3 → −1.5, {1,3}|2 → 0, {2,3}|1 → 1.5; |−1.5| is reached twice of three.
    expect(permutationTest([1, 2], [3], { seed: 1 }).p).toBeCloseTo(2 / 3, 15);
  });

  it('Monte Carlo is deterministic from its seed and close to the exact value', () => {
    const x = [0.31, 0.52, 0.44, 0.61, 0.39, 0.58];
    const y = [0.28, 0.35, 0.47, 0.30, 0.41, 0.33];
    const exact = permutationTest(x, y, { seed: 0 });
    const a = permutationTest(x, y, { seed: 11, exactLimit: 1, permutations: 20000 });
    expect(permutationTest(x, y, { seed: 11, exactLimit: 1, permutations: 20000 })).toEqual(a);
    expect(Math.abs(a.p - exact.p)).toBeLessThan(0.01);
    expect(exact.p).toBeGreaterThan(0.01);
    expect(exact.p).toBeLessThan(0.2);
  });
});

describe('share of seeds learned by step', () => {
  const h = (accs: number[]) => accs.map((retrievalAcc, k) => ({ step: 100 * (k + 1), retrievalAcc }));

  it('counts each seed from the first step at or above the threshold', () => {
    const s = learnedSummary([h([0.1, 0.6, 0.9, 0.95]), h([0.1, 0.2, 0.3, 0.7]), h([0, 0.1, 0.1, 0.1])], 0.5);
    expect(s.steps).toEqual([100, 200, 300, 400]);
    expect(s.learnedSteps).toEqual([200, 400, null]);
    expect(s.share).toEqual([0, 1 / 3, 1 / 3, 2 / 3]);
    expect(s.learnedCount).toBe(2);
    expect(s.total).toBe(3);
    expect(s.medianLearnedStep).toBe(300);
    expect(learnedSummary([h([0.1, 0.2])], 0.5).medianLearnedStep).toBeNull();
  });

  it('refuses histories evaluated at different steps', () => {
    expect(() => learnedSummary([h([0.1, 0.2]), h([0.1])], 0.5)).toThrow(/same steps/);
  });
});

// Freireich et al. (1963) leukaemia remission data as printed in Gehan (1965) and in every survival textbook
// (e.g. Kleinbaum & Klein, "Survival Analysis", 3rd ed., ch. 2; R's MASS::gehan). Weeks; '+' = censored.
const SIX_MP = '6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+';
const PLACEBO = '1 1 2 2 3 4 4 5 5 8 8 8 8 11 11 12 12 15 17 22 23';
const subjects = (s: string) => s.split(' ').map((t) => ({ time: Number.parseInt(t, 10), event: !t.endsWith('+') }));

describe("Fisher's exact test (two-sided)", () => {
  it('matches textbook tables', () => {
    // Fisher's lady tasting tea (Fisher 1935): [[3, 1], [1, 3]], two-sided p = 34/70 (R fisher.test: 0.4857).
    expect(fisherExact(3, 1, 1, 3).p).toBeCloseTo(34 / 70, 12);
    // Wikipedia "Fisher's exact test" example (men/women × studying/not): [[1, 9], [11, 3]], two-sided p = 0.002759.
    expect(fisherExact(1, 9, 11, 3).p).toBeCloseTo(0.0027594561852, 10);
    // Hand enumeration: [[4, 0], [0, 4]] — only it and its mirror (prob 1/70 each) are as unlikely: p = 2/70.
    expect(fisherExact(4, 0, 0, 4).p).toBeCloseTo(2 / 70, 14);
    // [[4, 0], [1, 3]]: hypergeometric probabilities 5, 30, 30, 5 (/70) for a = 1..4; p = 10/70.
    expect(fisherExact(4, 0, 1, 3).p).toBeCloseTo(10 / 70, 14);
    expect(fisherExact(2, 2, 2, 2).p).toBeCloseTo(1, 12);
    expect(() => fisherExact(1.5, 0, 0, 1)).toThrow(/counts/);
  });
});

describe('intervals of shares', () => {
  it('Newcombe hybrid score interval matches Newcombe (1998), Table II, method 10', () => {
    // 56/70 − 48/80: 0.0524 to 0.3339.
    const d = newcombeDifference(56, 70, 48, 80);
    expect(d.estimate).toBeCloseTo(0.2, 12);
    expect(d.lo).toBeCloseTo(0.0524, 4);
    expect(d.hi).toBeCloseTo(0.3339, 4);
  });

  it('Clopper–Pearson matches its closed forms at k = 0 and k = n', () => {
    // k = 0: hi = 1 − (α/2)^(1/n); k = n: lo = (α/2)^(1/n).
    expect(clopperPearson(0, 16).hi).toBeCloseTo(1 - 0.025 ** (1 / 16), 10);
    expect(clopperPearson(16, 16).lo).toBeCloseTo(0.025 ** (1 / 16), 10);
    expect(clopperPearson(0, 16).lo).toBe(0);
    // k = 1 of n = 2: lo solves 1 − (1 − p)² = 0.025, hi is its mirror.
    expect(clopperPearson(1, 2).lo).toBeCloseTo(1 - Math.sqrt(0.975), 10);
    expect(clopperPearson(1, 2).hi).toBeCloseTo(Math.sqrt(0.975), 10);
  });

  it('tail functions match tabulated normal and χ² quantiles', () => {
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(chiSquare1UpperTail(3.841459)).toBeCloseTo(0.05, 6);
    expect(chiSquare1UpperTail(6.634897)).toBeCloseTo(0.01, 6);
  });
});

describe('Kaplan–Meier and log-rank (Freireich 6-MP vs placebo)', () => {
  it('product-limit estimate and Greenwood SE match the textbook table of the 6-MP arm', () => {
    // Kleinbaum & Klein table / R survfit: S(t) and se at the event times 6, 7, 10, 13, 16, 22, 23.
    const km = kaplanMeier(subjects(SIX_MP));
    expect(km.map((s) => s.time)).toEqual([6, 7, 10, 13, 16, 22, 23]);
    expect(km.map((s) => s.atRisk)).toEqual([21, 17, 15, 12, 11, 7, 6]);
    const expected = [0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482];
    const se = [0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346];
    km.forEach((s, k) => {
      expect(s.survival).toBeCloseTo(expected[k], 4);
      expect(s.se).toBeCloseTo(se[k], 4);
    });
    // Log-log interval at t = 6 by hand: σ = sqrt(3/(21·18)) / |ln(6/7)|, S^exp(∓1.96σ).
    const sigma = Math.sqrt(3 / (21 * 18)) / Math.abs(Math.log(6 / 7));
    expect(km[0].lo).toBeCloseTo((6 / 7) ** Math.exp(1.959964 * sigma), 10);
    expect(km[0].hi).toBeCloseTo((6 / 7) ** Math.exp(-1.959964 * sigma), 10);
    // R survfit(conf.type = "log-log") at t = 6: 0.6197, 0.9516.
    expect(km[0].lo).toBeCloseTo(0.6197, 3);
    expect(km[0].hi).toBeCloseTo(0.9516, 3);
  });

  it('without censoring the estimate is one minus the plain share', () => {
    const km = kaplanMeier([{ time: 1, event: true }, { time: 2, event: true }, { time: 3, event: false }, { time: 3, event: false }]);
    expect(km.map((s) => s.survival)).toEqual([0.75, 0.5]);
  });

  it('log-rank statistic matches the textbook value (χ² = 16.79, O/E 9/19.25 vs 21/10.75)', () => {
    // R: survdiff(Surv(time, cens) ~ treat, data = MASS::gehan) → Chisq = 16.8 on 1 df, p = 4.17e-05.
    const r = logRank(subjects(SIX_MP), subjects(PLACEBO));
    expect(r.observed).toEqual([9, 21]);
    expect(r.expected[0]).toBeCloseTo(19.25, 2);
    expect(r.expected[1]).toBeCloseTo(10.75, 2);
    expect(r.chiSquare).toBeCloseTo(16.79, 2);
    expect(r.p).toBeCloseTo(4.17e-5, 6);
    expect(logRank([{ time: 5, event: false }], [{ time: 5, event: false }]).p).toBeNaN();
  });
});

describe('power', () => {
  it('exact Fisher power at n = 4 per arm: only the two perfect separations are significant (hand enumeration)', () => {
    // At n = 4 + 4 every other table has p ≥ 10/70, so power(p1, p0) = p1⁴(1 − p0)⁴ + p0⁴(1 − p1)⁴.
    const p1 = 0.9, p0 = 0.2;
    expect(fisherPower(p1, 4, p0, 4)).toBeCloseTo(p1 ** 4 * (1 - p0) ** 4 + p0 ** 4 * (1 - p1) ** 4, 12);
    // From p0 = 0 the smallest difference with 80 % power solves p1⁴ = 0.8.
    expect(fisherDetectableDifference(0, 4, 4)).toBeCloseTo(0.8 ** 0.25, 6);
    // At n = 3 per arm no table reaches p < 0.05 (the best is 2/20): no difference is detectable.
    expect(fisherPower(1, 3, 0, 3)).toBe(0);
    expect(fisherDetectableDifference(0, 3, 3)).toBeNull();
  });

  it('the needle-quick case: a doubling from 3/16 is far below 80 % power at 16 seeds per arm', () => {
    // Computed by the exact enumeration above (the rough "one in three" was optimistic).
    expect(fisherPower(6 / 16, 16, 3 / 16, 16)).toBeCloseTo(0.1150, 4);
    expect(fisherDetectableDifference(3 / 16, 16, 16)).toBeGreaterThan(0.5);
  });

  it('normal-approximation minimal detectable difference: (1.96 + 0.84)·√(s²/n + s²/n)', () => {
    expect(normalDetectableDifference(0.3, 16, 0.3, 16)).toBeCloseTo(2.801585 * 0.3 * Math.sqrt(2 / 16), 12);
    expect(normalDetectableDifference(0.3, 1, 0.3, 16)).toBeNaN();
  });
});

describe('p-values in sentences', () => {
  it('reads "p = 0.0034", "p < 0.0001", never "p = < 0.0001"', async () => {
    const { formatPIs, NEEDS_SEEDS } = await import('../src/study/reportFormat');
    expect(formatPIs(0.00341)).toBe('p = 0.0034');
    expect(formatPIs(0.00001)).toBe('p < 0.0001');
    expect(formatPIs(Number.NaN)).toBe('p n/a');
    expect(formatPIs(0.5, [1, 8])).toBe(`p ${NEEDS_SEEDS}`);
  });
});

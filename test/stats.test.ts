import { describe, expect, it } from 'vitest';
import {
  binomial, bootstrapDiffCI, bootstrapMeanCI, estimate, finite, learnedSummary, mean, median, permutationTest, quantile, sampleStd,
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

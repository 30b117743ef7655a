import { describe, expect, it } from 'vitest';
import { normalQuantileUpper, obrienFlemingSpent, sequentialLooks } from '../src/study/sequential';
import { fisherExact } from '../src/study/stats';
import { primaryResult } from '../src/study/reportPrimary';
import { DEFAULT_PRIMARY_ENDPOINT } from '../src/study/studies';

describe("O'Brien–Fleming-type alpha spending (Lan & DeMets 1983)", () => {
  it('spends the tabulated α at each information fraction (two-sided α = 0.05)', () => {
    // α(t) = 2 − 2Φ(1.959964 / √t). Jennison & Turnbull, "Group Sequential Methods" (2000), §7.2, and the
    // gsDesign / ldbounds defaults: t = 0.25 → 8.9e-5, t = 0.5 → 0.0056, t = 0.75 → 0.0236, t = 1 → 0.05.
    expect(obrienFlemingSpent(0.25)).toBeCloseTo(8.9e-5, 6);
    expect(obrienFlemingSpent(0.5)).toBeCloseTo(0.005575, 5);
    expect(obrienFlemingSpent(0.75)).toBeCloseTo(0.0236, 4);
    expect(obrienFlemingSpent(1)).toBe(0.05);
    expect(obrienFlemingSpent(0)).toBe(0);
    expect(normalQuantileUpper(0.025)).toBeCloseTo(1.959964, 5);
  });

  it('tests each look at the α spent since the previous one; the levels sum to α at the maximum', () => {
    const at = (n: number, meap: number, ntp: number) => ({ meap: { k: meap, n }, ntp: { k: ntp, n } });
    const rule = { maxSeedsPerArm: 16, alpha: 0.05, spending: 'obrien-fleming' as const };
    const none = sequentialLooks([at(4, 1, 1), at(8, 2, 2), at(12, 3, 3), at(16, 4, 4)], rule);
    expect(none.decidedAt).toBeNull();
    expect(none.exhausted).toBe(true);
    expect(none.looks.reduce((a, l) => a + l.level, 0)).toBeCloseTo(0.05, 12);
    expect(none.looks[1].level).toBeCloseTo(obrienFlemingSpent(0.5) - obrienFlemingSpent(0.25), 12);
    // 8 of 8 vs 0 of 8 at the second look: Fisher p = 2 / 12870 ≈ 0.000155 < 0.0055 → decided, the rest not run.
    const early = sequentialLooks([at(4, 4, 0), at(8, 8, 0), at(12, 12, 0)], rule);
    expect(early.looks[0].p).toBeCloseTo(fisherExact(4, 0, 0, 4).p, 12);
    expect(early.looks[0].decided).toBe(false); // 2/70 ≈ 0.029 is above the first look's 8.9e-5
    expect(early.decidedAt).toBe(1);
    expect(early.looks).toHaveLength(2);
    expect(early.exhausted).toBe(false);
    // Stopped before the maximum without a decision: neither decided nor exhausted (resumable).
    expect(sequentialLooks([at(4, 1, 1)], rule)).toMatchObject({ decidedAt: null, exhausted: false });
  });
});

describe('the primary verdict of a grown study', () => {
  it("is the sequential rule's: p < 0.05 on the last look alone does not make 'MEAP better'", () => {
    const meap = { arm: 1, label: 'MEAP 15%', learnedSteps: Array(8).fill(100) as number[] };
    const ntp = { learnedSteps: Array(8).fill(null) as null[] };
    expect(primaryResult(meap, ntp, DEFAULT_PRIMARY_ENDPOINT, 800, 8).verdict).toBe('MEAP better (p < 0.05)');
    expect(primaryResult(meap, ntp, DEFAULT_PRIMARY_ENDPOINT, 800, 8, true).verdict).toBe('MEAP better (p < 0.05)');
    expect(primaryResult(meap, ntp, DEFAULT_PRIMARY_ENDPOINT, 800, 8, false).verdict).toBe('underpowered: not measured');
  });
});

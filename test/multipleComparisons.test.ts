import { describe, expect, it } from 'vitest';
import { holmAdjust, mcnemarExact } from '../src/study/multipleComparisons';

describe('Holm adjustment', () => {
  it('matches R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02', () => {
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(adjusted[i]).toBeCloseTo(x, 12));
  });
  it('caps at 1, keeps a single p, and refuses a non-p-value', () => {
    expect(holmAdjust([0.4, 0.5, 0.9])).toEqual([1, 1, 1]);
    expect(holmAdjust([0.02])).toEqual([0.02]);
    expect(holmAdjust([])).toEqual([]);
    expect(() => holmAdjust([Number.NaN])).toThrow(/p-value/);
  });
});

describe('exact McNemar test', () => {
  it('matches R: binom.test(2, 12)$p.value = 0.03857422 (10 vs 2 discordant pairs)', () => {
    const first = [...Array(10).fill(true), ...Array(2).fill(false), true, false];
    const second = [...Array(10).fill(false), ...Array(2).fill(true), true, false];
    const r = mcnemarExact(first, second);
    expect([r.onlyFirst, r.onlySecond]).toEqual([10, 2]);
    expect(r.p).toBeCloseTo(158 / 4096, 12);
    expect(r.p).toBeCloseTo(0.03857422, 8);
  });
  it('is 1 without discordant pairs or when they balance, and needs pairs', () => {
    expect(mcnemarExact([true, false], [true, false]).p).toBe(1);
    expect(mcnemarExact([true, false], [false, true]).p).toBe(1);
    expect(() => mcnemarExact([true], [])).toThrow(/pairs/);
  });
});

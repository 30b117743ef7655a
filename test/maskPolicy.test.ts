import { describe, expect, it } from 'vitest';
import { fillMask, maskCount, samplePositions } from '../src/data/maskPolicy';
import { Rng } from '../src/util/random';

describe('MEAP mask policy', () => {
  it('k = max(1, floor(P·T)), and 0 for NTP', () => {
    expect(maskCount(0, 64)).toBe(0);
    expect(maskCount(0.15, 64)).toBe(9);
    expect(maskCount(0.01, 64)).toBe(1);
    expect(maskCount(0.2, 10)).toBe(2);
    expect(maskCount(0.99, 10)).toBe(9);
    expect(() => maskCount(1, 64)).toThrow(/\[0, 1\)/);
    expect(() => maskCount(Number.NaN, 64)).toThrow(RangeError);
  });

  it('masks exactly k positions per sequence and never the last input', () => {
    const B = 50, T = 33;
    const mask = new Uint32Array(B * T);
    fillMask(mask, B, T, { ratio: 0.15, sharedAcrossBatch: false }, new Rng(7));
    for (let b = 0; b < B; b++) {
      const row = mask.subarray(b * T, (b + 1) * T);
      expect(row.reduce((s, v) => s + v, 0)).toBe(maskCount(0.15, T));
      expect(row[T - 1]).toBe(0);
    }
  });

  it('draws positions uniformly over 0..T-2 (chi-square within sampling error)', () => {
    const T = 16, B = 4000, k = maskCount(0.15, T);
    const mask = new Uint32Array(B * T);
    fillMask(mask, B, T, { ratio: 0.15, sharedAcrossBatch: false }, new Rng(3));
    const counts = new Array(T).fill(0);
    for (let i = 0; i < mask.length; i++) counts[i % T] += mask[i];
    expect(counts[T - 1]).toBe(0);
    const expected = (B * k) / (T - 1);
    const chi2 = counts.slice(0, T - 1).reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 14 degrees of freedom: P(χ² > 36.1) ≈ 0.001.
    expect(chi2).toBeLessThan(36.1);
  });

  it('shares one set of positions across the batch when asked', () => {
    const B = 5, T = 20;
    const mask = new Uint32Array(B * T);
    fillMask(mask, B, T, { ratio: 0.2, sharedAcrossBatch: true }, new Rng(1));
    for (let b = 1; b < B; b++) expect([...mask.subarray(b * T, (b + 1) * T)]).toEqual([...mask.subarray(0, T)]);
    fillMask(mask, B, T, { ratio: 0.2, sharedAcrossBatch: false }, new Rng(1));
    const rows = new Set(Array.from({ length: B }, (_, b) => mask.subarray(b * T, (b + 1) * T).join(',')));
    expect(rows.size).toBeGreaterThan(1);
  });

  it('is a pure function of the seed', () => {
    const a = new Uint32Array(8 * 32), b = new Uint32Array(8 * 32);
    fillMask(a, 8, 32, { ratio: 0.15, sharedAcrossBatch: false }, new Rng(42));
    fillMask(b, 8, 32, { ratio: 0.15, sharedAcrossBatch: false }, new Rng(42));
    expect(b).toEqual(a);
  });

  it('samples distinct sorted positions', () => {
    const p = samplePositions(new Rng(5), 10, 10);
    expect(p).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('never masking the query tokens (an option, not the paper default)', () => {
  it('protectedTail keeps the last positions unmasked and draws from the rest', () => {
    const B = 400, T = 12;
    const mask = new Uint32Array(B * T);
    fillMask(mask, B, T, { ratio: 0.2, sharedAcrossBatch: false, protectedTail: 2 }, new Rng(9));
    const counts = new Array(T).fill(0);
    for (let i = 0; i < mask.length; i++) counts[i % T] += mask[i];
    expect(counts[T - 1]).toBe(0);
    expect(counts[T - 2]).toBe(0);
    expect(counts.slice(0, T - 2).every((c) => c > 0)).toBe(true);
    for (let b = 0; b < B; b++) expect(mask.subarray(b * T, (b + 1) * T).reduce((s, v) => s + v, 0)).toBe(maskCount(0.2, T, 2));
    expect(maskCount(0.99, 10, 2)).toBe(8);
    expect(() => fillMask(mask, B, T, { ratio: 0.2, sharedAcrossBatch: false, protectedTail: 0 }, new Rng(1))).toThrow(/protectedTail/);
  });
});

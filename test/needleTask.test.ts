import { describe, expect, it } from 'vitest';
import { needleVocab, Special } from '../src/data/needleVocab';
import { depthBucket, needleEvalSet, needleTrainingBatch, Segment } from '../src/data/needleTask';
import { Rng } from '../src/util/random';

const vocab = needleVocab();

describe('needle-in-a-haystack task', () => {
  it('uses the needle-s vocabulary of 264 ids with [MASK] reserved', () => {
    expect(vocab.size).toBe(264);
    expect(vocab.maskId).toBe(Special.MASK);
  });

  it('builds blocks of T+1 tokens: filler, K : V, filler, ? K, V', () => {
    const T = 64, B = 20;
    const batch = needleTrainingBatch(vocab, B, T, new Rng(1));
    for (let b = 0; b < B; b++) {
      const row = Array.from(batch.tokens.subarray(b * (T + 1), (b + 1) * (T + 1)));
      const seg = Array.from(batch.segments.subarray(b * (T + 1), (b + 1) * (T + 1)));
      expect(row).not.toContain(vocab.maskId);
      const needleAt = seg.indexOf(Segment.NEEDLE);
      const key = row[needleAt];
      expect(row[needleAt + 1]).toBe(Special.COLON);
      expect(row[T - 2]).toBe(Special.QUERY);
      expect(row[T - 1]).toBe(key);
      expect(row[T]).toBe(row[needleAt + 2]);
      expect(row[T]).toBe(batch.answers[b]);
      expect(seg[T]).toBe(Segment.ANSWER);
      expect(row.filter((t) => t === key)).toHaveLength(2);
      expect(needleAt / (T - 5)).toBeCloseTo(batch.depths[b], 6);
    }
  });

  it('spreads the evaluation set evenly over depth buckets, and is fixed by its seed', () => {
    const set = needleEvalSet(vocab, 500, 64, 5, 99);
    const perBucket = new Array(5).fill(0);
    for (const d of set.depths) perBucket[depthBucket(d, 5)]++;
    expect(perBucket).toEqual([100, 100, 100, 100, 100]);
    expect(needleEvalSet(vocab, 500, 64, 5, 99).tokens).toEqual(set.tokens);
    expect(needleEvalSet(vocab, 500, 64, 5, 98).tokens).not.toEqual(set.tokens);
  });

  it('refuses a context too short for the needle', () => {
    expect(() => needleTrainingBatch(vocab, 1, 3, new Rng(0))).toThrow(/T ≥ 5/);
  });
});

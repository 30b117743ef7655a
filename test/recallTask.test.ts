import { describe, expect, it } from 'vitest';
import { needleVocab, Special } from '../src/data/needleVocab';
import { Segment } from '../src/data/needleTask';
import { minRecallContext, recallEvalSet, recallTrainingBatch } from '../src/data/recallTask';
import type { RetrievalBatch } from '../src/data/retrievalLayout';
import { createTask } from '../src/data/task';
import { Rng } from '../src/util/random';

const vocab = needleVocab(); // 264 ids as in recall-s
const isKey = (id: number) => id >= vocab.keyStart && id < vocab.valueStart;
const isValue = (id: number) => id >= vocab.valueStart && id < vocab.size;
const isFiller = (id: number) => id >= vocab.fillerStart && id < vocab.keyStart;

function row(batch: RetrievalBatch, b: number) {
  const { T } = batch;
  return {
    tokens: Array.from(batch.tokens.subarray(b * (T + 1), (b + 1) * (T + 1))),
    segments: Array.from(batch.segments.subarray(b * (T + 1), (b + 1) * (T + 1))),
  };
}

/** Every invariant of one recall block; returns the queried pair's ordinal as read from the tokens. */
function checkBlock(batch: RetrievalBatch, b: number, pairs: number): number {
  const { T } = batch;
  const { tokens, segments } = row(batch, b);
  expect(tokens).toHaveLength(T + 1);
  expect(tokens).not.toContain(vocab.maskId);
  for (const t of tokens) expect(t).toBeLessThan(vocab.size);
  // Ends in ? K V, labelled query, query, answer.
  expect(tokens[T - 2]).toBe(Special.QUERY);
  expect(segments.slice(T - 2)).toEqual([Segment.QUERY, Segment.QUERY, Segment.ANSWER]);
  const key = tokens[T - 1], value = tokens[T];
  expect(isKey(key)).toBe(true);
  expect(value).toBe(batch.answers[b]);
  // Exactly `pairs` K : V pairs in the context, with distinct keys and distinct values; the rest is filler.
  const colons = tokens.slice(0, T - 2).flatMap((t, i) => (t === Special.COLON ? [i] : []));
  expect(colons).toHaveLength(pairs);
  const keys = colons.map((i) => tokens[i - 1]), values = colons.map((i) => tokens[i + 1]);
  expect(keys.every(isKey) && values.every(isValue)).toBe(true);
  expect(new Set(keys).size).toBe(pairs);
  expect(new Set(values).size).toBe(pairs);
  const inPairs = new Set(colons.flatMap((i) => [i - 1, i, i + 1]));
  for (let i = 0; i < T - 2; i++) if (!inPairs.has(i)) expect(isFiller(tokens[i])).toBe(true);
  // The needle is the queried pair, three tokens labelled needle; before it only `before`, after it `after`.
  const start = segments.indexOf(Segment.NEEDLE);
  expect(start).toBe(batch.needleStarts[b]);
  expect(tokens.slice(start, start + 3)).toEqual([key, Special.COLON, value]);
  expect(segments.slice(0, start).every((s) => s === Segment.BEFORE)).toBe(true);
  expect(segments.slice(start, start + 3).every((s) => s === Segment.NEEDLE)).toBe(true);
  expect(segments.slice(start + 3, T - 2).every((s) => s === Segment.AFTER)).toBe(true);
  // The key and value occur exactly twice each: in the needle and in the query / answer.
  expect(tokens.filter((t) => t === key)).toHaveLength(2);
  expect(tokens.filter((t) => t === value)).toHaveLength(2);
  const ordinal = colons.indexOf(start + 1);
  expect(ordinal).toBe(batch.ordinals[b]);
  expect(batch.depths[b]).toBeCloseTo(start / (T - 5), 6);
  return ordinal;
}

describe('multi-key associative recall task', () => {
  it('builds blocks of T+1 tokens: pairs in filler, then ? K → V of one of them', () => {
    const T = 64, B = 64, pairs = 4;
    const batch = recallTrainingBatch(vocab, pairs, B, T, new Rng(1));
    const ordinals = new Set<number>();
    const starts: number[] = [];
    for (let b = 0; b < B; b++) {
      ordinals.add(checkBlock(batch, b, pairs));
      starts.push(batch.needleStarts[b]);
    }
    // Every pair gets asked, and the queried pair is found early and late.
    expect([...ordinals].sort()).toEqual([0, 1, 2, 3]);
    expect(Math.min(...starts)).toBeLessThan(16);
    expect(Math.max(...starts)).toBeGreaterThan(40);
  });

  it('is a pure function of the generator state', () => {
    const a = recallTrainingBatch(vocab, 3, 8, 32, new Rng(7));
    expect(recallTrainingBatch(vocab, 3, 8, 32, new Rng(7)).tokens).toEqual(a.tokens);
    expect(recallTrainingBatch(vocab, 3, 8, 32, new Rng(8)).tokens).not.toEqual(a.tokens);
  });

  it('fits the shortest context exactly (no filler) and refuses a shorter one', () => {
    expect(minRecallContext(4)).toBe(14);
    const batch = recallTrainingBatch(vocab, 4, 6, 14, new Rng(3));
    for (let b = 0; b < 6; b++) checkBlock(batch, b, 4);
    expect(() => recallTrainingBatch(vocab, 4, 1, 13, new Rng(0))).toThrow(/T ≥ 14/);
  });

  it('balances the evaluation set over the queried pair ordinal, and is fixed by its seed', () => {
    const T = 64, pairs = 4;
    const set = recallEvalSet(vocab, pairs, 400, T, 4, 99);
    const perOrdinal = [0, 0, 0, 0];
    for (let b = 0; b < 400; b++) {
      const ordinal = checkBlock(set, b, pairs);
      expect(ordinal).toBe(b % 4);
      perOrdinal[ordinal]++;
    }
    expect(perOrdinal).toEqual([100, 100, 100, 100]);
    expect(recallEvalSet(vocab, pairs, 400, T, 4, 99).tokens).toEqual(set.tokens);
    expect(recallEvalSet(vocab, pairs, 400, T, 4, 98).tokens).not.toEqual(set.tokens);
  });

  it('groups ordinals into fewer buckets evenly and refuses more buckets than pairs', () => {
    const task = createTask('recall', { fillerWords: 128, keys: 64, values: 64, pairs: 6 });
    const set = task.evalSet(300, 48, 3, 5);
    expect(set.hasRetrieval).toBe(true);
    expect(set.bucketCount).toBe(3);
    const perBucket = [0, 0, 0];
    for (let i = 0; i < 300; i++) {
      perBucket[set.buckets[i]]++;
      // Bucket b holds ordinals 2b and 2b+1 (6 pairs in 3 buckets).
      const start = Array.from(set.segments.subarray(i * 49, (i + 1) * 49)).indexOf(Segment.NEEDLE);
      const colonsBefore = Array.from(set.tokens.subarray(i * 49, i * 49 + start)).filter((t) => t === Special.COLON).length;
      expect(Math.floor(colonsBefore / 2)).toBe(set.buckets[i]);
      // The answer is the clean next token of the stated input position.
      expect(set.answerPositions[i]).toBe(47);
      expect(set.tokens[i * 49 + set.answerPositions[i] + 1]).toBe(set.answers[i]);
    }
    expect(perBucket).toEqual([100, 100, 100]);
    expect(() => task.evalSet(10, 48, 7, 5)).toThrow(/buckets must be an integer in 1\.\.6/);
  });
});

import { describe, expect, it } from 'vitest';
import { needleVocab, Special } from '../src/data/needleVocab';
import { Segment } from '../src/data/needleTask';
import { minMultidocContext, multidocEvalSet, multidocTrainingBatch } from '../src/data/multidocTask';
import type { RetrievalBatch } from '../src/data/retrievalLayout';
import { createTask } from '../src/data/task';
import { Rng } from '../src/util/random';

const vocab = needleVocab(); // 264 ids as in multidoc-s
const isKey = (id: number) => id >= vocab.keyStart && id < vocab.valueStart;
const isValue = (id: number) => id >= vocab.valueStart && id < vocab.size;
const isFiller = (id: number) => id >= vocab.fillerStart && id < vocab.keyStart;

/** Every invariant of one multidoc block; returns the answer document's index as read from the tokens. */
function checkBlock(batch: RetrievalBatch, b: number, documents: number): number {
  const { T } = batch;
  const tokens = Array.from(batch.tokens.subarray(b * (T + 1), (b + 1) * (T + 1)));
  const segments = Array.from(batch.segments.subarray(b * (T + 1), (b + 1) * (T + 1)));
  expect(tokens).not.toContain(vocab.maskId);
  for (const t of tokens) expect(t).toBeLessThan(vocab.size);
  expect(tokens[T - 2]).toBe(Special.QUERY);
  expect(segments.slice(T - 2)).toEqual([Segment.QUERY, Segment.QUERY, Segment.ANSWER]);
  const key = tokens[T - 1], value = tokens[T];
  expect(value).toBe(batch.answers[b]);
  // `documents` documents, each opened by [DOC], holding one fact K : V and filler; lengths differ by ≤ 1.
  expect(tokens[0]).toBe(Special.DOC);
  const docStarts = tokens.flatMap((t, i) => (t === Special.DOC ? [i] : []));
  expect(docStarts).toHaveLength(documents);
  const bounds = [...docStarts, T - 2];
  const lengths = docStarts.map((s, d) => bounds[d + 1] - s);
  expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
  const facts: { key: number; value: number; at: number }[] = [];
  docStarts.forEach((s, d) => {
    const body = tokens.slice(s + 1, bounds[d + 1]);
    const colon = body.indexOf(Special.COLON);
    expect(body.filter((t) => t === Special.COLON)).toHaveLength(1);
    expect(isKey(body[colon - 1]) && isValue(body[colon + 1])).toBe(true);
    body.forEach((t, i) => { if (Math.abs(i - colon) > 1) expect(isFiller(t)).toBe(true); });
    facts.push({ key: body[colon - 1], value: body[colon + 1], at: s + colon });
  });
  expect(new Set(facts.map((f) => f.key)).size).toBe(documents);
  expect(new Set(facts.map((f) => f.value)).size).toBe(documents);
  // The needle is the answer document's fact; it is the only fact with the queried key.
  const answerDoc = facts.findIndex((f) => f.key === key);
  expect(facts[answerDoc].value).toBe(value);
  expect(answerDoc).toBe(batch.ordinals[b]);
  const start = facts[answerDoc].at;
  expect(batch.needleStarts[b]).toBe(start);
  expect(segments.slice(0, start).every((s) => s === Segment.BEFORE)).toBe(true);
  expect(segments.slice(start, start + 3).every((s) => s === Segment.NEEDLE)).toBe(true);
  expect(segments.slice(start + 3, T - 2).every((s) => s === Segment.AFTER)).toBe(true);
  return answerDoc;
}

describe('multi-document QA task (lost in the middle)', () => {
  it('builds blocks of T+1 tokens: [DOC]-separated documents with one fact each, then ? K → V', () => {
    const T = 64, B = 48, documents = 6;
    const batch = multidocTrainingBatch(vocab, documents, B, T, new Rng(2));
    const asked = new Set<number>();
    for (let b = 0; b < B; b++) asked.add(checkBlock(batch, b, documents));
    expect([...asked].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('is a pure function of the generator state', () => {
    const a = multidocTrainingBatch(vocab, 4, 8, 40, new Rng(7));
    expect(multidocTrainingBatch(vocab, 4, 8, 40, new Rng(7)).tokens).toEqual(a.tokens);
    expect(multidocTrainingBatch(vocab, 4, 8, 40, new Rng(8)).tokens).not.toEqual(a.tokens);
  });

  it('fits the shortest context exactly (no filler) and refuses a shorter one', () => {
    expect(minMultidocContext(6)).toBe(26);
    const batch = multidocTrainingBatch(vocab, 6, 6, 26, new Rng(3));
    for (let b = 0; b < 6; b++) checkBlock(batch, b, 6);
    expect(() => multidocTrainingBatch(vocab, 6, 1, 25, new Rng(0))).toThrow(/T ≥ 26/);
  });

  it('balances the evaluation set over the answer document, and is fixed by its seed', () => {
    const set = multidocEvalSet(vocab, 6, 600, 64, 6, 11);
    const perDoc = new Array(6).fill(0);
    for (let b = 0; b < 600; b++) {
      const doc = checkBlock(set, b, 6);
      expect(doc).toBe(b % 6);
      perDoc[doc]++;
    }
    expect(perDoc).toEqual([100, 100, 100, 100, 100, 100]);
    expect(multidocEvalSet(vocab, 6, 600, 64, 6, 11).tokens).toEqual(set.tokens);
    expect(multidocEvalSet(vocab, 6, 600, 64, 6, 12).tokens).not.toEqual(set.tokens);
  });

  it('reports the answer document as the bucket through the Task interface', () => {
    const task = createTask('multidoc', { fillerWords: 128, keys: 64, values: 64, documents: 6 });
    expect(task.vocabSize).toBe(264);
    expect(task.maxBuckets).toBe(6);
    const set = task.evalSet(120, 64, 6, 3);
    expect(set.hasRetrieval).toBe(true);
    expect(set.bucketCount).toBe(6);
    for (let i = 0; i < 120; i++) {
      const docsBefore = Array.from(set.tokens.subarray(i * 65, i * 65 + Array.from(set.segments.subarray(i * 65, (i + 1) * 65))
        .indexOf(Segment.NEEDLE))).filter((t) => t === Special.DOC).length;
      expect(set.buckets[i]).toBe(docsBefore - 1);
      expect(set.tokens[i * 65 + set.answerPositions[i] + 1]).toBe(set.answers[i]);
    }
    // Three buckets of two documents each.
    const grouped = task.evalSet(90, 64, 3, 3);
    expect(Array.from(grouped.buckets).filter((b) => b === 2)).toHaveLength(30);
    expect(() => task.evalSet(10, 64, 7, 3)).toThrow(/buckets must be an integer in 1\.\.6/);
    expect(task.contextProblem(25)).toMatch(/T ≥ 26/);
    expect(task.contextProblem(26)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { needleVocab, Special, type NeedleVocab } from '../src/data/needleVocab';
import { Segment } from '../src/data/needleTask';
import { minQaContext, qaAnswerSpan, qaContextProblem, qaEvalSet, qaTrainingBatch, type QaBatch, type QaShape } from '../src/data/qaTask';
import { createTask, validateTaskOptions, type QaTaskOptions } from '../src/data/task';
import { studyConfigIssue } from '../src/config/schema';
import { validateStudyConfig } from '../src/config/validate';
import { preset, type StudyConfig } from '../src/config/presets';
import { Rng } from '../src/util/random';

const vocab = needleVocab(); // 264 ids as in multidoc-s
const shape: QaShape = { documents: 6, answerMin: 3, answerMax: 6 };
const options: QaTaskOptions = { fillerWords: 128, keys: 64, values: 64, ...shape };

/** Every invariant of one qa block; returns the answer document's index as read from the tokens. */
function checkBlock(batch: QaBatch, b: number, v: NeedleVocab, s: QaShape): number {
  const { T } = batch;
  const isKey = (id: number) => id >= v.keyStart && id < v.valueStart;
  const isValue = (id: number) => id >= v.valueStart && id < v.size;
  const isFiller = (id: number) => id >= v.fillerStart && id < v.keyStart;
  const tokens = Array.from(batch.tokens.subarray(b * (T + 1), (b + 1) * (T + 1)));
  const segments = Array.from(batch.segments.subarray(b * (T + 1), (b + 1) * (T + 1)));
  expect(tokens).not.toContain(v.maskId);
  for (const t of tokens) expect(t).toBeLessThan(v.size);
  // The answer: L value words ending at T, right after `? K`; answerSpan reads the generator's span.
  const L = batch.answerLengths[b];
  const start = batch.answerStarts[b];
  expect(L).toBeGreaterThanOrEqual(s.answerMin);
  expect(L).toBeLessThanOrEqual(s.answerMax);
  expect(start + L - 1).toBe(T);
  expect(qaAnswerSpan(tokens, T)).toEqual({ start, length: L });
  expect(tokens[start - 2]).toBe(Special.QUERY);
  expect(tokens.filter((t) => t === Special.QUERY)).toHaveLength(1);
  const key = tokens[start - 1];
  expect(isKey(key)).toBe(true);
  const answer = tokens.slice(start);
  expect(answer.every(isValue)).toBe(true);
  expect(answer[0]).toBe(batch.answers[b]);
  expect(segments.slice(start - 2, start)).toEqual([Segment.QUERY, Segment.QUERY]);
  expect(segments.slice(start).every((x) => x === Segment.ANSWER)).toBe(true);
  // `documents` documents, each opened by [DOC], holding one fact K : phrase and filler; filler shared evenly.
  expect(tokens[0]).toBe(Special.DOC);
  const docStarts = tokens.flatMap((t, i) => (t === Special.DOC ? [i] : []));
  expect(docStarts).toHaveLength(s.documents);
  const bounds = [...docStarts, start - 2];
  const facts: { key: number; phrase: number[]; at: number; fillers: number }[] = [];
  docStarts.forEach((ds, d) => {
    const body = tokens.slice(ds + 1, bounds[d + 1]);
    expect(body.filter((t) => t === Special.COLON)).toHaveLength(1);
    const colon = body.indexOf(Special.COLON);
    expect(isKey(body[colon - 1])).toBe(true);
    let end = colon + 1;
    while (end < body.length && isValue(body[end])) end++;
    const phrase = body.slice(colon + 1, end);
    expect(phrase.length).toBeGreaterThanOrEqual(s.answerMin);
    expect(phrase.length).toBeLessThanOrEqual(s.answerMax);
    expect(new Set(phrase).size).toBe(phrase.length); // the words of one phrase are distinct
    const rest = [...body.slice(0, colon - 1), ...body.slice(end)];
    expect(rest.every(isFiller)).toBe(true);
    facts.push({ key: body[colon - 1], phrase, at: ds + colon, fillers: rest.length });
  });
  const fillers = facts.map((f) => f.fillers);
  expect(Math.max(...fillers) - Math.min(...fillers)).toBeLessThanOrEqual(1);
  expect(new Set(facts.map((f) => f.key)).size).toBe(s.documents);
  expect(new Set(facts.map((f) => f.phrase[0])).size).toBe(s.documents); // distinct first words
  // The needle is the answer document's fact; its phrase is the answer.
  const answerDoc = facts.findIndex((f) => f.key === key);
  expect(facts[answerDoc].phrase).toEqual(answer);
  expect(answerDoc).toBe(batch.ordinals[b]);
  const needle = facts[answerDoc].at;
  expect(batch.needleStarts[b]).toBe(needle);
  expect(segments.slice(0, needle).every((x) => x === Segment.BEFORE)).toBe(true);
  expect(segments.slice(needle, needle + 2 + L).every((x) => x === Segment.NEEDLE)).toBe(true);
  expect(segments.slice(needle + 2 + L, start - 2).every((x) => x === Segment.AFTER)).toBe(true);
  return answerDoc;
}

describe('qa task: multi-document QA with phrase answers', () => {
  it('builds blocks of T+1 tokens: documents with K : phrase facts, then ? K_i and document i\'s phrase ending at T', () => {
    const T = 80, B = 64;
    const batch = qaTrainingBatch(vocab, shape, B, T, new Rng(2));
    const asked = new Set<number>();
    const lengths = new Set<number>();
    for (let b = 0; b < B; b++) {
      asked.add(checkBlock(batch, b, vocab, shape));
      lengths.add(batch.answerLengths[b]);
    }
    expect([...asked].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...lengths].sort()).toEqual([3, 4, 5, 6]);
  });

  it('is a pure function of the generator state', () => {
    const a = qaTrainingBatch(vocab, shape, 8, 70, new Rng(7));
    const again = qaTrainingBatch(vocab, shape, 8, 70, new Rng(7));
    expect(again.tokens).toEqual(a.tokens);
    expect(again.segments).toEqual(a.segments);
    expect(again.answerLengths).toEqual(a.answerLengths);
    expect(qaTrainingBatch(vocab, shape, 8, 70, new Rng(8)).tokens).not.toEqual(a.tokens);
    const task = createTask('qa', options);
    expect(task.trainingBatch(new Rng(7), 8, 70)).toEqual(a.tokens);
  });

  it('fits the shortest context (all phrases at answerMax, no filler) and refuses a shorter one', () => {
    expect(minQaContext(6, 6)).toBe(61);
    expect(minQaContext(6, 1)).toBe(26); // = multidoc's minimum: one-token answers
    const fixed: QaShape = { documents: 6, answerMin: 6, answerMax: 6 };
    const batch = qaTrainingBatch(vocab, fixed, 6, 61, new Rng(3));
    for (let b = 0; b < 6; b++) {
      checkBlock(batch, b, vocab, fixed);
      expect(batch.tokens.subarray(b * 62, (b + 1) * 62).every((t) => t < vocab.fillerStart || t >= vocab.keyStart)).toBe(true);
    }
    expect(() => qaTrainingBatch(vocab, shape, 1, 60, new Rng(0))).toThrow(/T ≥ 61/);
  });

  it('balances the evaluation set over the answer document, and is fixed by its seed', () => {
    const set = qaEvalSet(vocab, shape, 600, 72, 6, 11);
    const perDoc = new Array(6).fill(0);
    for (let b = 0; b < 600; b++) {
      const doc = checkBlock(set, b, vocab, shape);
      expect(doc).toBe(b % 6);
      perDoc[doc]++;
    }
    expect(perDoc).toEqual([100, 100, 100, 100, 100, 100]);
    expect(qaEvalSet(vocab, shape, 600, 72, 6, 11).tokens).toEqual(set.tokens);
    expect(qaEvalSet(vocab, shape, 600, 72, 6, 12).tokens).not.toEqual(set.tokens);
    expect(() => qaEvalSet(vocab, shape, 10, 72, 7, 1)).toThrow(/buckets must be an integer in 1\.\.6/);
  });

  it('gives the engine the first answer token, its position, the answer length and the bucket through the Task interface', () => {
    const task = createTask('qa', options);
    expect(task.name).toBe('qa');
    expect(task.vocabSize).toBe(264);
    expect(task.maxBuckets).toBe(6);
    expect(task.queryLength).toBe(2);
    expect(task.bucketLabel).toBe('answer document (first … last)');
    const T = 64;
    const set = task.evalSet(120, T, 6, 3);
    expect(set.hasRetrieval).toBe(true);
    expect(set.bucketCount).toBe(6);
    expect(set.answerLengths).toHaveLength(120);
    for (let i = 0; i < 120; i++) {
      const block = set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1));
      const span = task.answerSpan!(block, T);
      expect(set.answerPositions[i]).toBe(span.start - 1);
      expect(set.answerLengths![i]).toBe(span.length);
      expect(block[span.start]).toBe(set.answers[i]);
      expect(block[set.answerPositions[i]]).toBeGreaterThanOrEqual(vocab.keyStart); // the queried key
      const needle = Array.from(set.segments.subarray(i * (T + 1), (i + 1) * (T + 1))).indexOf(Segment.NEEDLE);
      const docsBefore = Array.from(block.subarray(0, needle)).filter((t) => t === Special.DOC).length;
      expect(set.buckets[i]).toBe(docsBefore - 1);
      expect(set.buckets[i]).toBe(i % 6);
    }
    // answerSpan works on training blocks too.
    const tokens = task.trainingBatch(new Rng(5), 4, T);
    for (let b = 0; b < 4; b++) {
      const block = tokens.subarray(b * (T + 1), (b + 1) * (T + 1));
      const { start, length } = task.answerSpan!(block, T);
      expect(block[start - 2]).toBe(Special.QUERY);
      expect(start + length).toBe(T + 1);
    }
    // Three buckets of two documents each, balanced.
    const grouped = task.evalSet(90, T, 3, 3);
    for (let b = 0; b < 3; b++) expect(Array.from(grouped.buckets).filter((x) => x === b)).toHaveLength(30);
    expect(() => task.evalSet(10, T, 7, 3)).toThrow(/buckets must be an integer in 1\.\.6/);
  });

  it('answerSpan refuses a block without a query, or whose query leaves no answer', () => {
    const block = new Uint32Array(11).fill(vocab.fillerStart);
    expect(() => qaAnswerSpan(block, 10)).toThrow(/no query/);
    block[9] = Special.QUERY;
    expect(() => qaAnswerSpan(block, 10)).toThrow(/leaves no answer/);
    block[8] = Special.QUERY; block[9] = vocab.keyStart;
    expect(qaAnswerSpan(block, 10)).toEqual({ start: 10, length: 1 });
    expect(() => qaAnswerSpan(block, 11)).toThrow(/T \+ 1 = 12 tokens/);
  });

  it('names its options in the context problem', () => {
    const task = createTask('qa', options);
    expect(task.contextProblem(60)).toBe('the qa task with taskOptions.documents = 6 and taskOptions.answerMax = 6 needs a context T ≥ 61 ' +
      '(3 + answerMax per document + 2 for the query + answerMax for the answer − 1), got 60');
    expect(task.contextProblem(61)).toBeNull();
    expect(task.contextProblem(61.5)).toMatch(/T ≥ 61/);
    expect(qaContextProblem(25, 6, 1)).toMatch(/T ≥ 26/);
  });

  it.each([
    [{ ...options, fillerWords: 0 }, /taskOptions\.fillerWords must be a positive integer for the qa task, got 0/],
    [{ ...options, keys: 2.5 }, /taskOptions\.keys must be a positive integer for the qa task, got 2\.5/],
    [{ ...options, values: -1 }, /taskOptions\.values must be a positive integer for the qa task, got -1/],
    [{ ...options, documents: 0 }, /taskOptions\.documents must be a positive integer for the qa task, got 0/],
    [{ ...options, answerMin: 0 }, /taskOptions\.answerMin must be a positive integer for the qa task, got 0/],
    [{ ...options, answerMax: undefined }, /taskOptions\.answerMax must be a positive integer for the qa task, got undefined/],
    [{ ...options, answerMin: 4, answerMax: 3 }, /taskOptions\.answerMax \(3\) must be ≥ taskOptions\.answerMin \(4\) for the qa task/],
    [{ ...options, keys: 5 }, /taskOptions\.keys \(5\) must be ≥ taskOptions\.documents \(6\): the documents of one block have distinct keys/],
    [{ ...options, values: 5, answerMax: 4 }, /taskOptions\.values \(5\) must be ≥ taskOptions\.documents \(6\): the phrases of one block have distinct first words/],
    [{ ...options, values: 8, answerMax: 9 }, /taskOptions\.values \(8\) must be ≥ taskOptions\.answerMax \(9\): the words of one phrase are distinct/],
  ])('refuses bad options: %j', (bad, message) => {
    expect(() => validateTaskOptions('qa', bad)).toThrow(message);
    expect(() => createTask('qa', bad as QaTaskOptions)).toThrow(message);
  });

  it('has a study config schema: a qa study is accepted, and the schema refuses what validateTaskOptions refuses', () => {
    const config = { ...preset('multidoc-s'), task: 'qa', taskOptions: options } as StudyConfig;
    expect(() => validateStudyConfig(config)).not.toThrow();
    expect(studyConfigIssue({ ...config, taskOptions: { ...options, answerMin: 7 } })?.message)
      .toBe('taskOptions.answerMax (6) must be ≥ taskOptions.answerMin (7) for the qa task');
    expect(studyConfigIssue({ ...config, taskOptions: { ...options, extra: 1 } })?.path).toBe('taskOptions.extra');
    expect(() => validateStudyConfig({ ...config, model: { ...config.model, context: 57 } })).toThrow('model.context: the qa task with ' +
      'taskOptions.documents = 6 and taskOptions.answerMax = 6 needs a context T ≥ 61 (3 + answerMax per document + 2 for the query + answerMax for the answer − 1), got 57');
    expect(() => validateStudyConfig({ ...config, evaluation: { ...config.evaluation, buckets: 7 } }))
      .toThrow(/evaluation\.buckets \(7\) must be ≤ taskOptions\.documents \(6\) for the qa task/);
  });

  it('holds every invariant for any valid options and context (property)', () => {
    const arbitrary = fc.record({
      documents: fc.integer({ min: 1, max: 8 }),
      answerMin: fc.integer({ min: 1, max: 5 }),
      extra: fc.integer({ min: 0, max: 4 }),
      fillerWords: fc.integer({ min: 1, max: 12 }),
      spareKeys: fc.integer({ min: 0, max: 4 }),
      spareValues: fc.integer({ min: 0, max: 4 }),
      spareContext: fc.integer({ min: 0, max: 40 }),
      seed: fc.integer({ min: 0, max: 0xffff_ffff }),
      buckets: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(fc.property(arbitrary, (p) => {
      const s: QaShape = { documents: p.documents, answerMin: p.answerMin, answerMax: p.answerMin + p.extra };
      const o: QaTaskOptions = {
        fillerWords: p.fillerWords, keys: p.documents + p.spareKeys,
        values: Math.max(p.documents, s.answerMax) + p.spareValues, ...s,
      };
      validateTaskOptions('qa', o);
      const v = needleVocab(o.fillerWords, o.keys, o.values);
      const T = minQaContext(s.documents, s.answerMax) + p.spareContext;
      const task = createTask('qa', o);
      expect(task.contextProblem(T)).toBeNull();
      const batch = qaTrainingBatch(v, s, 3, T, new Rng(p.seed));
      for (let b = 0; b < 3; b++) checkBlock(batch, b, v, s);
      const buckets = Math.min(p.buckets, s.documents);
      const set = qaEvalSet(v, s, 2 * buckets, T, buckets, p.seed);
      for (let b = 0; b < 2 * buckets; b++) checkBlock(set, b, v, s);
      if (T > minQaContext(s.documents, s.answerMax)) expect(task.contextProblem(minQaContext(s.documents, s.answerMax) - 1)).not.toBeNull();
    }), { seed: 0x9a, numRuns: 150 });
  });
});

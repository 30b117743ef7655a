import type { Rng } from '../util/random';
import { needleVocab, tokenName as tokenNameOf, type NeedleVocab } from './needleVocab';
import { depthBucket, minNeedleContext, needleEvalSet, needleTrainingBatch, type NeedleBatch } from './needleTask';
import { minRecallContext, recallEvalSet, recallTrainingBatch } from './recallTask';
import { minMultidocContext, multidocEvalSet, multidocTrainingBatch } from './multidocTask';
import { qaAnswerSpan, qaContextProblem, qaEvalSet, qaTrainingBatch, type QaShape } from './qaTask';
import { ordinalBucket, type RetrievalBatch } from './retrievalLayout';
import { protectedInputPositions, type ProtectedSegment } from './protectedSegments';
import { CHAR_SPECIAL_COUNT, alphabetProblem, charTokenizer, normalizeText } from './charTokenizer';
import { CORPUS_CHARACTERS } from './corpus';
import {
  MAX_CORPUS_DOCUMENTS, generatedStreams, prepareUserText, textContextProblem, textEvalWindows, textTrainingBatch,
  type TextStreams, type TextTaskOptions,
} from './textTask';

/**
 * A task produces clean training blocks [B, T+1] from a generator, and a fixed held-out evaluation
 * set whose answers are scored greedily. Every token carries a segment label for the attention views.
 */
export interface EvalSet {
  count: number;
  T: number;
  tokens: Uint32Array;      // [count, T+1]
  segments: Uint8Array;     // [count, T+1]
  /**
   * False for tasks without retrieval answers (text): then `answers` are merely the final next token of each
   * example (at `answerPositions` = T − 1), every example is in bucket 0 of 1, and the segments are all 0;
   * a retrieval accuracy should not be reported.
   */
  hasRetrieval: boolean;
  /** Input position whose prediction is the (first) answer token. */
  answerPositions: Uint32Array;
  /** The (first) answer token of each example. */
  answers: Uint32Array;
  /**
   * Answer length in tokens of each example ([count]; qa: the phrase length L, the answer occupying block
   * positions answerPositions[i] + 1 … answerPositions[i] + L = T). Absent: every answer is 1 token.
   */
  answerLengths?: Uint32Array;
  /** Bucket of each example (needle depth, queried pair ordinal, or answer document index). */
  buckets: Uint32Array;
  bucketCount: number;
}

export interface Task {
  name: TaskName;
  vocabSize: number;
  maskId: number;
  trainingBatch(rng: Rng, B: number, T: number): Uint32Array;
  evalSet(count: number, T: number, buckets: number, seed: number): EvalSet;
  tokenName(id: number): string;
  /** Why blocks of context T cannot be made (too short, or longer than a text), or null when they can. */
  contextProblem(T: number): string | null;
  /** Most evaluation buckets the task can fill (Infinity when any number works). */
  maxBuckets: number;
  /** What an evaluation bucket stands for, for chart axes ('' when the task has no retrieval). */
  bucketLabel: string;
  /** Input positions of the final query (`? K` → 2), which `protectQuery` keeps unmasked; 0 for text. */
  queryLength: number;
  /**
   * Tasks whose answers span several tokens (qa): the answer of one block (its T + 1 tokens, any block the
   * task made), read from the tokens — `start` = block position of the first answer token; the answer ends
   * at position T, so length = T + 1 − start. Throws a RangeError on a block without a query.
   */
  answerSpan?(block: ArrayLike<number>, T: number): { start: number; length: number };
  /** Ids a `replace: random` control draws from: every token a task writes except the special ones. */
  ordinaryIds: readonly number[];
  /** Ids a `replace: random-filler` control draws from (the filler words); absent when the task has none (text). */
  fillerIds?: readonly number[];
  /** Retrieval tasks: the key ids, in order (the analyses' key-swap probe, src/data/retrievalTokens.ts). */
  keyIds?: readonly number[];
  /**
   * Retrieval tasks: the input positions (< T, increasing) of the listed segments in one clean block (the
   * `protect` control; src/data/protectedSegments.ts). Absent for text, which has no needle or query.
   */
  protectedInputs?(block: ArrayLike<number>, T: number, segments: readonly ProtectedSegment[]): number[];
  /** Character tasks only: the ids of a (normalised) prompt text, and the text of ids. */
  encode?(text: string): number[];
  decode?(ids: ArrayLike<number>): string;
}

/** needle: one K : V needle in filler, then `? K` → V (src/data/needleTask.ts). */
export interface NeedleTaskOptions {
  fillerWords: number;
  keys: number;
  values: number;
}

/** recall: `pairs` K : V pairs in filler, then `? K` → V for one of them (src/data/recallTask.ts). */
export interface RecallTaskOptions extends NeedleTaskOptions {
  pairs: number;
}

/** multidoc: `documents` [DOC]-separated documents with one fact each, then a query (src/data/multidocTask.ts). */
export interface MultidocTaskOptions extends NeedleTaskOptions {
  documents: number;
}

/**
 * qa: `documents` [DOC]-separated documents, each with one fact `K : v₁ … v_L` (an answer phrase of L tokens,
 * L uniform in answerMin..answerMax), then `? K_i` and document i's phrase (src/data/qaTask.ts). The words
 * of one phrase are distinct and the first words of one block's phrases are distinct: values ≥ documents
 * and values ≥ answerMax.
 */
export interface QaTaskOptions extends NeedleTaskOptions {
  documents: number;
  answerMin: number;
  answerMax: number;
}

export type { TextSource, TextTaskOptions } from './textTask';

/** The options of each task, by task name. */
export interface TaskOptionsByName {
  needle: NeedleTaskOptions;
  recall: RecallTaskOptions;
  multidoc: MultidocTaskOptions;
  qa: QaTaskOptions;
  text: TextTaskOptions;
}

export type TaskName = keyof TaskOptionsByName;
export const TASK_NAMES = ['needle', 'recall', 'multidoc', 'qa', 'text'] as const satisfies readonly TaskName[];

/** Options of any task (not tied to a name: use TaskChoice where the pairing matters). */
export type TaskOptions = TaskOptionsByName[TaskName];

/** A task name with its matching options: the discriminated union a StudyConfig holds. */
export type TaskChoice = { [N in TaskName]: { task: N; taskOptions: TaskOptionsByName[N] } }[TaskName];

export function isTaskName(name: unknown): name is TaskName {
  return typeof name === 'string' && (TASK_NAMES as readonly string[]).includes(name);
}

/**
 * Checks the shape of a task's options; throws a RangeError naming the field (`taskOptions.pairs …`).
 * A user text's content is checked when the task is created (createTask).
 */
export function validateTaskOptions(name: unknown, options: unknown): void {
  if (!isTaskName(name)) throw new RangeError(`task must be one of ${TASK_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  if (typeof options !== 'object' || options === null) throw new RangeError(`taskOptions must be an object for the ${name} task`);
  const o = options as Record<string, unknown>;
  const positiveInt = (field: string) => {
    const value = o[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`taskOptions.${field} must be a positive integer for the ${name} task, got ${String(value)}`);
    }
    return value;
  };
  switch (name) {
    case 'needle':
    case 'recall':
    case 'multidoc': {
      positiveInt('fillerWords');
      const keys = positiveInt('keys');
      const values = positiveInt('values');
      if (name === 'needle') return;
      const field = name === 'recall' ? 'pairs' : 'documents';
      const n = positiveInt(field);
      const distinct = name === 'recall' ? 'the pairs of one block' : 'the documents of one block';
      if (keys < n) throw new RangeError(`taskOptions.keys (${keys}) must be ≥ taskOptions.${field} (${n}): ${distinct} have distinct keys`);
      if (values < n) throw new RangeError(`taskOptions.values (${values}) must be ≥ taskOptions.${field} (${n}): ${distinct} have distinct values`);
      return;
    }
    case 'qa': {
      positiveInt('fillerWords');
      const keys = positiveInt('keys');
      const values = positiveInt('values');
      const documents = positiveInt('documents');
      const answerMin = positiveInt('answerMin');
      const answerMax = positiveInt('answerMax');
      if (answerMax < answerMin) throw new RangeError(`taskOptions.answerMax (${answerMax}) must be ≥ taskOptions.answerMin (${answerMin}) for the qa task`);
      if (keys < documents) throw new RangeError(`taskOptions.keys (${keys}) must be ≥ taskOptions.documents (${documents}): the documents of one block have distinct keys`);
      if (values < documents) throw new RangeError(`taskOptions.values (${values}) must be ≥ taskOptions.documents (${documents}): the phrases of one block have distinct first words`);
      if (values < answerMax) throw new RangeError(`taskOptions.values (${values}) must be ≥ taskOptions.answerMax (${answerMax}): the words of one phrase are distinct`);
      return;
    }
    case 'text': {
      const problem = alphabetProblem(o.alphabet);
      if (problem) throw new RangeError(`taskOptions.alphabet ${problem}`);
      const source = o.source as Record<string, unknown> | null | undefined;
      if (typeof source !== 'object' || source === null) throw new RangeError('taskOptions.source must be { kind: "generated", seed, documents } or { kind: "user", text }');
      if (source.kind === 'generated') {
        const seed = source.seed;
        if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
          throw new RangeError(`taskOptions.source.seed must be an integer in 0..4294967295, got ${String(seed)}`);
        }
        const documents = source.documents;
        if (typeof documents !== 'number' || !Number.isInteger(documents) || documents < 1 || documents > MAX_CORPUS_DOCUMENTS) {
          throw new RangeError(`taskOptions.source.documents must be an integer in 1..${MAX_CORPUS_DOCUMENTS}, got ${String(documents)}`);
        }
        const alphabet = new Set(Array.from(o.alphabet as string));
        const missing = Array.from(CORPUS_CHARACTERS).filter((c) => !alphabet.has(c));
        if (missing.length > 0) {
          throw new RangeError(`taskOptions.alphabet lacks ${missing.length} character(s) of the generated corpus: ${JSON.stringify(missing.join(''))}`);
        }
        return;
      }
      if (source.kind === 'user') {
        if (typeof source.text !== 'string') throw new RangeError(`taskOptions.source.text must be a string, got ${typeof source.text}`);
        return;
      }
      throw new RangeError(`taskOptions.source.kind must be "generated" or "user", got ${JSON.stringify(source.kind)}`);
    }
  }
}

/** Builds a task; throws a RangeError naming the field when its options are invalid. */
export function createTask<N extends TaskName>(name: N, options: TaskOptionsByName[N]): Task {
  validateTaskOptions(name, options);
  const choice = { task: name, taskOptions: options } as TaskChoice;
  switch (choice.task) {
    case 'needle': {
      const o = choice.taskOptions;
      return needleTask(needleVocab(o.fillerWords, o.keys, o.values));
    }
    case 'recall': {
      const o = choice.taskOptions;
      return recallTask(needleVocab(o.fillerWords, o.keys, o.values), o.pairs);
    }
    case 'multidoc': {
      const o = choice.taskOptions;
      return multidocTask(needleVocab(o.fillerWords, o.keys, o.values), o.documents);
    }
    case 'qa': {
      const o = choice.taskOptions;
      return qaTask(needleVocab(o.fillerWords, o.keys, o.values), { documents: o.documents, answerMin: o.answerMin, answerMax: o.answerMax });
    }
    case 'text':
      return textTask(choice.taskOptions);
  }
}

/** What every task on the synthetic retrieval vocabulary shares: replacement ids and protected positions. */
function retrievalControls(vocab: NeedleVocab, answerStart: (block: ArrayLike<number>, T: number) => number = (_, T) => T)
  : Pick<Task, 'ordinaryIds' | 'fillerIds' | 'keyIds' | 'protectedInputs'> {
  const range = (start: number, count: number) => Array.from({ length: count }, (_, i) => start + i);
  return {
    ordinaryIds: range(vocab.fillerStart, vocab.size - vocab.fillerStart),
    fillerIds: range(vocab.fillerStart, vocab.fillerCount),
    keyIds: range(vocab.keyStart, vocab.keyCount),
    protectedInputs: (block, T, segments) => protectedInputPositions(block, T, answerStart(block, T), segments),
  };
}

function toEvalSet(batch: NeedleBatch, buckets: number): EvalSet {
  const count = batch.B;
  return {
    count, T: batch.T, tokens: batch.tokens, segments: batch.segments,
    hasRetrieval: true,
    answerPositions: new Uint32Array(count).fill(batch.T - 1),
    answers: batch.answers,
    buckets: Uint32Array.from(batch.depths, (d) => depthBucket(d, buckets)),
    bucketCount: buckets,
  };
}

function needleContextProblem(T: number): string | null {
  return Number.isInteger(T) && T >= minNeedleContext() ? null : `the needle task needs a context T ≥ ${minNeedleContext()}, got ${T}`;
}

function needleTask(vocab: NeedleVocab): Task {
  return {
    name: 'needle',
    ...retrievalControls(vocab),
    vocabSize: vocab.size,
    maskId: vocab.maskId,
    trainingBatch: (rng, B, T) => needleTrainingBatch(vocab, B, T, rng).tokens,
    evalSet: (count, T, buckets, seed) => toEvalSet(needleEvalSet(vocab, count, T, buckets, seed), buckets),
    tokenName: (id) => tokenNameOf(vocab, id),
    contextProblem: needleContextProblem,
    maxBuckets: Number.POSITIVE_INFINITY,
    bucketLabel: 'needle depth',
    queryLength: 2,
  };
}

/** Eval set of the multi-fact tasks: bucket = the queried fact's ordinal among `n`, grouped into `buckets`. */
function retrievalEvalSet(batch: RetrievalBatch, n: number, buckets: number): EvalSet {
  const count = batch.B;
  return {
    count, T: batch.T, tokens: batch.tokens, segments: batch.segments,
    hasRetrieval: true,
    answerPositions: new Uint32Array(count).fill(batch.T - 1),
    answers: batch.answers,
    buckets: Uint32Array.from(batch.ordinals, (o) => ordinalBucket(o, n, buckets)),
    bucketCount: buckets,
  };
}

function recallTask(vocab: NeedleVocab, pairs: number): Task {
  return {
    name: 'recall',
    ...retrievalControls(vocab),
    vocabSize: vocab.size,
    maskId: vocab.maskId,
    trainingBatch: (rng, B, T) => recallTrainingBatch(vocab, pairs, B, T, rng).tokens,
    evalSet: (count, T, buckets, seed) => retrievalEvalSet(recallEvalSet(vocab, pairs, count, T, buckets, seed), pairs, buckets),
    tokenName: (id) => tokenNameOf(vocab, id),
    contextProblem: (T) => (Number.isInteger(T) && T >= minRecallContext(pairs) ? null
      : `the recall task with taskOptions.pairs = ${pairs} needs a context T ≥ ${minRecallContext(pairs)} (3 per pair + 3 for the query − 1), got ${T}`),
    maxBuckets: pairs,
    bucketLabel: 'queried pair (first … last)',
    queryLength: 2,
  };
}

function multidocTask(vocab: NeedleVocab, documents: number): Task {
  return {
    name: 'multidoc',
    ...retrievalControls(vocab),
    vocabSize: vocab.size,
    maskId: vocab.maskId,
    trainingBatch: (rng, B, T) => multidocTrainingBatch(vocab, documents, B, T, rng).tokens,
    evalSet: (count, T, buckets, seed) => retrievalEvalSet(multidocEvalSet(vocab, documents, count, T, buckets, seed), documents, buckets),
    tokenName: (id) => tokenNameOf(vocab, id),
    contextProblem: (T) => (Number.isInteger(T) && T >= minMultidocContext(documents) ? null
      : `the multidoc task with taskOptions.documents = ${documents} needs a context T ≥ ${minMultidocContext(documents)} (4 per document + 3 for the query − 1), got ${T}`),
    maxBuckets: documents,
    bucketLabel: 'answer document (first … last)',
    queryLength: 2,
  };
}

function qaTask(vocab: NeedleVocab, shape: QaShape): Task {
  const { documents } = shape;
  return {
    name: 'qa',
    ...retrievalControls(vocab, (block, T) => qaAnswerSpan(block, T).start),
    vocabSize: vocab.size,
    maskId: vocab.maskId,
    trainingBatch: (rng, B, T) => qaTrainingBatch(vocab, shape, B, T, rng).tokens,
    evalSet: (count, T, buckets, seed) => {
      const batch = qaEvalSet(vocab, shape, count, T, buckets, seed);
      return {
        count, T, tokens: batch.tokens, segments: batch.segments,
        hasRetrieval: true,
        answerPositions: batch.answerStarts.map((start) => start - 1),
        answers: batch.answers,
        answerLengths: batch.answerLengths,
        buckets: Uint32Array.from(batch.ordinals, (o) => ordinalBucket(o, documents, buckets)),
        bucketCount: buckets,
      };
    },
    tokenName: (id) => tokenNameOf(vocab, id),
    contextProblem: (T) => qaContextProblem(T, documents, shape.answerMax),
    maxBuckets: documents,
    bucketLabel: 'answer document (first … last)',
    queryLength: 2,
    answerSpan: qaAnswerSpan,
  };
}

function textTask(options: TextTaskOptions): Task {
  const tokenizer = charTokenizer(options.alphabet);
  const { source } = options;
  const streams: TextStreams = source.kind === 'generated'
    ? generatedStreams(source.seed, source.documents, tokenizer)
    : prepareUserText(source.text, tokenizer);
  return {
    name: 'text',
    vocabSize: tokenizer.size,
    ordinaryIds: Array.from({ length: tokenizer.size - CHAR_SPECIAL_COUNT }, (_, i) => CHAR_SPECIAL_COUNT + i),
    maskId: tokenizer.maskId,
    trainingBatch: (rng, B, T) => textTrainingBatch(streams, B, T, rng),
    evalSet: (count, T, _buckets, seed) => {
      const tokens = textEvalWindows(streams, count, T, seed);
      return {
        count, T, tokens,
        segments: new Uint8Array(count * (T + 1)),
        hasRetrieval: false,
        answerPositions: new Uint32Array(count).fill(T - 1),
        answers: Uint32Array.from({ length: count }, (_, i) => tokens[i * (T + 1) + T]),
        buckets: new Uint32Array(count),
        bucketCount: 1,
      };
    },
    tokenName: (id) => tokenizer.tokenName(id),
    contextProblem: (T) => textContextProblem(streams, T),
    maxBuckets: Number.POSITIVE_INFINITY,
    bucketLabel: '',
    queryLength: 0,
    encode: (text) => Array.from(tokenizer.encode(normalizeText(text))),
    decode: (ids) => tokenizer.decode(ids),
  };
}

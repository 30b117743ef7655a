import type { Rng } from '../util/random';
import { needleVocab, tokenName as tokenNameOf, type NeedleVocab } from './needleVocab';
import { depthBucket, needleEvalSet, needleTrainingBatch, type NeedleBatch } from './needleTask';

/**
 * A task produces clean training blocks [B, T+1] from a generator, and a fixed held-out evaluation
 * set whose answers are scored greedily. Every token carries a segment label for the attention views.
 */
export interface EvalSet {
  count: number;
  T: number;
  tokens: Uint32Array;      // [count, T+1]
  segments: Uint8Array;     // [count, T+1]
  /** Input position whose prediction is the (first) answer token. */
  answerPositions: Uint32Array;
  answers: Uint32Array;
  /** Depth bucket of each example (needle depth, or answer document index). */
  buckets: Uint32Array;
  bucketCount: number;
}

export interface Task {
  name: string;
  vocabSize: number;
  maskId: number;
  trainingBatch(rng: Rng, B: number, T: number): Uint32Array;
  evalSet(count: number, T: number, buckets: number, seed: number): EvalSet;
  tokenName(id: number): string;
}

export type TaskName = 'needle';

export interface TaskOptions {
  fillerWords: number;
  keys: number;
  values: number;
}

export function createTask(name: TaskName, options: TaskOptions): Task {
  switch (name) {
    case 'needle': return needleTask(needleVocab(options.fillerWords, options.keys, options.values));
  }
}

function toEvalSet(batch: NeedleBatch, buckets: number): EvalSet {
  const count = batch.B;
  return {
    count, T: batch.T, tokens: batch.tokens, segments: batch.segments,
    answerPositions: new Uint32Array(count).fill(batch.T - 1),
    answers: batch.answers,
    buckets: Uint32Array.from(batch.depths, (d) => depthBucket(d, buckets)),
    bucketCount: buckets,
  };
}

function needleTask(vocab: NeedleVocab): Task {
  return {
    name: 'needle',
    vocabSize: vocab.size,
    maskId: vocab.maskId,
    trainingBatch: (rng, B, T) => needleTrainingBatch(vocab, B, T, rng).tokens,
    evalSet: (count, T, buckets, seed) => toEvalSet(needleEvalSet(vocab, count, T, buckets, seed), buckets),
    tokenName: (id) => tokenNameOf(vocab, id),
  };
}

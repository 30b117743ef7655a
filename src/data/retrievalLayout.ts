/**
 * Shared pieces of the multi-pair retrieval tasks (recall, multidoc): the batch they produce, sampling of
 * distinct keys and values, and the balanced split of the evaluation set into buckets.
 */
import type { Rng } from '../util/random';
import type { NeedleVocab } from './needleVocab';

/**
 * A batch of retrieval blocks, each T + 1 tokens ending in `? K V`: the answer V sits at position T and is
 * predicted from input position T − 1. Segment labels follow `Segment` (src/data/needleTask.ts).
 */
export interface RetrievalBatch {
  B: number;
  T: number;
  tokens: Uint32Array;    // [B, T+1]
  segments: Uint8Array;   // [B, T+1]
  /** The value id that must be produced at input position T − 1. */
  answers: Uint32Array;   // [B]
  /**
   * Ordinal of the queried fact among the example's facts in order of appearance (recall: which pair,
   * 0 = first; multidoc: which document, 0 = first).
   */
  ordinals: Uint32Array;  // [B]
  /** Position of the queried key token in the block (the start of the needle segment). */
  needleStarts: Uint32Array; // [B]
  /** Needle depth as a fraction in [0, 1]: 0 = at the start, 1 = as late as the layout allows. */
  depths: Float32Array;   // [B]
}

export function emptyRetrievalBatch(B: number, T: number): RetrievalBatch {
  return {
    B, T,
    tokens: new Uint32Array(B * (T + 1)), segments: new Uint8Array(B * (T + 1)),
    answers: new Uint32Array(B), ordinals: new Uint32Array(B), needleStarts: new Uint32Array(B), depths: new Float32Array(B),
  };
}

/** `k` distinct integers from 0..n−1 in random order (partial Fisher–Yates; n is small). */
export function drawDistinct(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k);
}

/** `k` distinct keys and `k` distinct values (ids) of the vocabulary; the i-th key maps to the i-th value. */
export function drawFacts(rng: Rng, vocab: NeedleVocab, k: number): { keys: number[]; values: number[] } {
  return {
    keys: drawDistinct(rng, vocab.keyCount, k).map((i) => vocab.keyStart + i),
    values: drawDistinct(rng, vocab.valueCount, k).map((i) => vocab.valueStart + i),
  };
}

/** A random filler word id. */
export function filler(rng: Rng, vocab: NeedleVocab): number {
  return vocab.fillerStart + rng.int(vocab.fillerCount);
}

/**
 * Which of `buckets` buckets ordinal `o` of `n` falls in: bucket b holds the ordinals o with
 * floor(o · buckets / n) = b, so with buckets = n every ordinal is its own bucket. Needs buckets ≤ n.
 */
export function ordinalBucket(o: number, n: number, buckets: number): number {
  return Math.floor((o * buckets) / n);
}

/** Evaluation example i belongs to bucket i mod buckets; this draws an ordinal of that bucket uniformly. */
export function ordinalForBucket(rng: Rng, bucket: number, n: number, buckets: number): number {
  const lo = Math.ceil((bucket * n) / buckets);
  const hi = Math.ceil(((bucket + 1) * n) / buckets);
  return lo + rng.int(hi - lo);
}

export function checkEvalBuckets(task: string, count: number, buckets: number, n: number, what: string): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`${task} evaluation set: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > n) {
    throw new RangeError(`${task} evaluation set: buckets must be an integer in 1..${n} (one bucket per ${what} at most), got ${buckets}`);
  }
}

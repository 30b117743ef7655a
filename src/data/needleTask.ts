import { Rng } from '../util/random';
import { Special, type NeedleVocab } from './needleVocab';

/** Every token of a retrieval example is labelled with the segment it belongs to (for the attention views). */
export const Segment = { BEFORE: 0, NEEDLE: 1, AFTER: 2, QUERY: 3, ANSWER: 4 } as const;
export const SEGMENT_NAMES = ['context before', 'needle', 'context after', 'query', 'answer'] as const;

/**
 * A batch of needle-in-a-haystack blocks, each T + 1 tokens:
 *   filler × d · K : V · filler × a · ? K · V
 * where d + a = T − 5 and the last token V (position T) is the answer, predicted from input position T − 1.
 */
export interface NeedleBatch {
  B: number;
  T: number;
  tokens: Uint32Array;    // [B, T+1]
  segments: Uint8Array;   // [B, T+1]
  /** Needle depth as a fraction in [0, 1]: 0 = right after the start, 1 = just before the query. */
  depths: Float32Array;   // [B]
  answers: Uint32Array;   // [B] the value id that must be produced at input position T − 1
}

export const NEEDLE_OVERHEAD = 6; // K : V ? K V

export function minNeedleContext(): number {
  return NEEDLE_OVERHEAD - 1;
}

/** One example with its needle at filler depth `d` (0..T−5). */
function writeExample(batch: NeedleBatch, b: number, vocab: NeedleVocab, rng: Rng, d: number): void {
  const { T } = batch;
  const fillerTotal = T + 1 - NEEDLE_OVERHEAD;
  const key = vocab.keyStart + rng.int(vocab.keyCount);
  const value = vocab.valueStart + rng.int(vocab.valueCount);
  const row = b * (T + 1);
  let p = row;
  const put = (id: number, segment: number) => { batch.tokens[p] = id; batch.segments[p] = segment; p++; };
  for (let i = 0; i < d; i++) put(vocab.fillerStart + rng.int(vocab.fillerCount), Segment.BEFORE);
  put(key, Segment.NEEDLE); put(Special.COLON, Segment.NEEDLE); put(value, Segment.NEEDLE);
  for (let i = d; i < fillerTotal; i++) put(vocab.fillerStart + rng.int(vocab.fillerCount), Segment.AFTER);
  put(Special.QUERY, Segment.QUERY); put(key, Segment.QUERY);
  put(value, Segment.ANSWER);
  batch.depths[b] = fillerTotal === 0 ? 0 : d / fillerTotal;
  batch.answers[b] = value;
}

function emptyBatch(B: number, T: number): NeedleBatch {
  if (!Number.isInteger(T) || T < minNeedleContext()) {
    throw new RangeError(`needle task needs a context T ≥ ${minNeedleContext()}, got ${T}`);
  }
  return {
    B, T, tokens: new Uint32Array(B * (T + 1)), segments: new Uint8Array(B * (T + 1)),
    depths: new Float32Array(B), answers: new Uint32Array(B),
  };
}

/** A training batch: depths uniform over all positions. */
export function needleTrainingBatch(vocab: NeedleVocab, B: number, T: number, rng: Rng): NeedleBatch {
  const batch = emptyBatch(B, T);
  const fillerTotal = T + 1 - NEEDLE_OVERHEAD;
  for (let b = 0; b < B; b++) writeExample(batch, b, vocab, rng, rng.int(fillerTotal + 1));
  return batch;
}

/**
 * The fixed held-out evaluation set: `count` examples whose depths are spread evenly over
 * `buckets` depth buckets (example i is in bucket i mod buckets), from its own seed.
 */
export function needleEvalSet(vocab: NeedleVocab, count: number, T: number, buckets: number, seed: number): NeedleBatch {
  const batch = emptyBatch(count, T);
  const rng = new Rng(seed);
  const fillerTotal = T + 1 - NEEDLE_OVERHEAD;
  for (let b = 0; b < count; b++) {
    const bucket = b % buckets;
    const lo = Math.ceil((bucket * (fillerTotal + 1)) / buckets);
    const hi = Math.ceil(((bucket + 1) * (fillerTotal + 1)) / buckets);
    writeExample(batch, b, vocab, rng, lo + rng.int(Math.max(1, hi - lo)));
  }
  return batch;
}

/** Which of `buckets` equal depth buckets a depth fraction falls in. */
export function depthBucket(depth: number, buckets: number): number {
  return Math.min(buckets - 1, Math.floor(depth * buckets));
}

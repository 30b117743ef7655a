/**
 * Multi-key associative recall: several key→value pairs spread through filler (the other pairs are the
 * distractors), then a query for one of them.
 *
 *   f… K₀ : V₀ f… K₁ : V₁ f… … K₍ₚ₋₁₎ : V₍ₚ₋₁₎ f… ? K_q V_q
 *
 * One block is T + 1 tokens: `pairs` pairs of 3 tokens, `? K_q V_q` (3 tokens) and T + 1 − 3·pairs − 3
 * filler words split at random between the p + 1 gaps (every arrangement of pairs among the filler equally
 * likely). Keys of one block are distinct, and so are its values, so the answer V_q occurs exactly once in
 * the context. The answer V_q is the last token (position T), predicted from input position T − 1.
 *
 * Segments (Segment in needleTask.ts): everything before the queried pair, other pairs included, is
 * `context before`; the queried pair K_q : V_q is the `needle`; everything between it and the query is
 * `context after`; `? K_q` is the `query`; the final V_q is the `answer`.
 *
 * Buckets: the queried pair's ordinal among the pairs in order of appearance (0 = first pair), grouped
 * into `buckets` ≤ pairs equal ranges (bucket b holds the ordinals o with ⌊o·buckets/pairs⌋ = b; with
 * buckets = pairs each ordinal is its own bucket). Evaluation example i is in bucket i mod buckets.
 */
import { Rng } from '../util/random';
import { Special, type NeedleVocab } from './needleVocab';
import { Segment } from './needleTask';
import {
  checkEvalBuckets, drawDistinct, drawFacts, emptyRetrievalBatch, filler, ordinalForBucket, type RetrievalBatch,
} from './retrievalLayout';

/** Tokens of a block besides filler: 3 per pair, plus `? K V`. */
export function recallOverhead(pairs: number): number {
  return 3 * pairs + 3;
}

/** Shortest context T that holds `pairs` pairs and the query (no filler). */
export function minRecallContext(pairs: number): number {
  return recallOverhead(pairs) - 1;
}

function checkContext(T: number, pairs: number): void {
  if (!Number.isInteger(T) || T < minRecallContext(pairs)) {
    throw new RangeError(`recall task with ${pairs} pairs needs a context T ≥ ${minRecallContext(pairs)} (3 per pair + 3 for the query − 1), got ${T}`);
  }
}

/** One example whose query asks for the pair at ordinal q (0 = first pair in the block). */
function writeExample(batch: RetrievalBatch, b: number, vocab: NeedleVocab, pairs: number, rng: Rng, q: number): void {
  const { T } = batch;
  const fillerTotal = T + 1 - recallOverhead(pairs);
  const items = fillerTotal + pairs;
  const isPair = new Uint8Array(items);
  for (const slot of drawDistinct(rng, items, pairs)) isPair[slot] = 1;
  const { keys, values } = drawFacts(rng, vocab, pairs);
  let p = b * (T + 1);
  const put = (id: number, segment: number) => { batch.tokens[p] = id; batch.segments[p] = segment; p++; };
  let ordinal = 0;
  for (let item = 0; item < items; item++) {
    const segment = ordinal <= q ? Segment.BEFORE : Segment.AFTER;
    if (!isPair[item]) { put(filler(rng, vocab), segment); continue; }
    if (ordinal === q) {
      batch.needleStarts[b] = p - b * (T + 1);
      put(keys[ordinal], Segment.NEEDLE); put(Special.COLON, Segment.NEEDLE); put(values[ordinal], Segment.NEEDLE);
    } else {
      put(keys[ordinal], segment); put(Special.COLON, segment); put(values[ordinal], segment);
    }
    ordinal++;
  }
  put(Special.QUERY, Segment.QUERY); put(keys[q], Segment.QUERY);
  put(values[q], Segment.ANSWER);
  batch.answers[b] = values[q];
  batch.ordinals[b] = q;
  const latest = T + 1 - 6; // the latest start of a 3-token pair before `? K V`
  batch.depths[b] = latest === 0 ? 0 : batch.needleStarts[b] / latest;
}

/** A training batch: the queried ordinal uniform over the pairs, the arrangement uniform. */
export function recallTrainingBatch(vocab: NeedleVocab, pairs: number, B: number, T: number, rng: Rng): RetrievalBatch {
  checkContext(T, pairs);
  const batch = emptyRetrievalBatch(B, T);
  for (let b = 0; b < B; b++) writeExample(batch, b, vocab, pairs, rng, rng.int(pairs));
  return batch;
}

/**
 * The fixed held-out evaluation set: example i is in bucket i mod `buckets` (see the file comment), its
 * ordinal drawn uniformly within that bucket, everything from its own seed.
 */
export function recallEvalSet(vocab: NeedleVocab, pairs: number, count: number, T: number, buckets: number, seed: number): RetrievalBatch {
  checkContext(T, pairs);
  checkEvalBuckets('recall', count, buckets, pairs, 'pair');
  const batch = emptyRetrievalBatch(count, T);
  const rng = new Rng(seed);
  for (let b = 0; b < count; b++) writeExample(batch, b, vocab, pairs, rng, ordinalForBucket(rng, b % buckets, pairs, buckets));
  return batch;
}

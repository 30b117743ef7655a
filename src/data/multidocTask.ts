/**
 * Multi-document QA ("lost in the middle"): `documents` short documents, each opened by a [DOC] token and
 * holding a few filler words and one key→value fact, then a query for the fact of one document.
 *
 *   [DOC] f… K₀ : V₀ f…  [DOC] f… K₁ : V₁ f…  …  [DOC] f… K₍ₙ₋₁₎ : V₍ₙ₋₁₎ f…  ? K_i V_i
 *
 * One block is T + 1 tokens: 4 per document ([DOC] K : V), `? K_i V_i` (3 tokens), and
 * F = T + 1 − 4·documents − 3 filler words shared as evenly as possible between the documents (document d
 * gets ⌊(d+1)·F/n⌋ − ⌊d·F/n⌋), so the answer document's index sets its position in the block. Within a
 * document the fact sits after a uniform number of its filler words. Keys of one block are distinct, and so
 * are its values. The answer V_i is the last token (position T), predicted from input position T − 1.
 *
 * Segments (Segment in needleTask.ts): everything before the answer document's fact K_i — the earlier
 * documents and the answer document's own [DOC] and leading filler — is `context before`; the fact
 * K_i : V_i is the `needle`; the rest of the documents is `context after`; `? K_i` is the `query`; the
 * final V_i is the `answer`.
 *
 * Buckets: the answer document's index (0 = first document), grouped into `buckets` ≤ documents equal
 * ranges (bucket b holds the indices d with ⌊d·buckets/documents⌋ = b; with buckets = documents each
 * document is its own bucket: the lost-in-the-middle curve). Evaluation example i is in bucket i mod buckets.
 */
import { Rng } from '../util/random';
import { Special, type NeedleVocab } from './needleVocab';
import { Segment } from './needleTask';
import { checkEvalBuckets, drawFacts, emptyRetrievalBatch, filler, ordinalForBucket, type RetrievalBatch } from './retrievalLayout';

/** Tokens of a block besides filler: 4 per document ([DOC] K : V), plus `? K V`. */
export function multidocOverhead(documents: number): number {
  return 4 * documents + 3;
}

/** Shortest context T that holds the documents' separators and facts and the query (no filler). */
export function minMultidocContext(documents: number): number {
  return multidocOverhead(documents) - 1;
}

function checkContext(T: number, documents: number): void {
  if (!Number.isInteger(T) || T < minMultidocContext(documents)) {
    throw new RangeError(`multidoc task with ${documents} documents needs a context T ≥ ${minMultidocContext(documents)} (4 per document + 3 for the query − 1), got ${T}`);
  }
}

/** One example whose query asks for the fact of document `answerDoc`. */
function writeExample(batch: RetrievalBatch, b: number, vocab: NeedleVocab, documents: number, rng: Rng, answerDoc: number): void {
  const { T } = batch;
  const fillerTotal = T + 1 - multidocOverhead(documents);
  const { keys, values } = drawFacts(rng, vocab, documents);
  let p = b * (T + 1);
  const put = (id: number, segment: number) => { batch.tokens[p] = id; batch.segments[p] = segment; p++; };
  for (let d = 0; d < documents; d++) {
    const words = Math.floor(((d + 1) * fillerTotal) / documents) - Math.floor((d * fillerTotal) / documents);
    const lead = rng.int(words + 1);
    const early = d <= answerDoc ? Segment.BEFORE : Segment.AFTER;
    const late = d < answerDoc ? Segment.BEFORE : Segment.AFTER;
    put(Special.DOC, early);
    for (let i = 0; i < lead; i++) put(filler(rng, vocab), early);
    if (d === answerDoc) {
      batch.needleStarts[b] = p - b * (T + 1);
      put(keys[d], Segment.NEEDLE); put(Special.COLON, Segment.NEEDLE); put(values[d], Segment.NEEDLE);
    } else {
      put(keys[d], late); put(Special.COLON, late); put(values[d], late);
    }
    for (let i = lead; i < words; i++) put(filler(rng, vocab), late);
  }
  put(Special.QUERY, Segment.QUERY); put(keys[answerDoc], Segment.QUERY);
  put(values[answerDoc], Segment.ANSWER);
  batch.answers[b] = values[answerDoc];
  batch.ordinals[b] = answerDoc;
  const latest = T + 1 - 6; // the latest start of the 3-token fact before `? K V`
  batch.depths[b] = latest === 0 ? 0 : batch.needleStarts[b] / latest;
}

/** A training batch: the answer document uniform over the documents. */
export function multidocTrainingBatch(vocab: NeedleVocab, documents: number, B: number, T: number, rng: Rng): RetrievalBatch {
  checkContext(T, documents);
  const batch = emptyRetrievalBatch(B, T);
  for (let b = 0; b < B; b++) writeExample(batch, b, vocab, documents, rng, rng.int(documents));
  return batch;
}

/**
 * The fixed held-out evaluation set: example i is in bucket i mod `buckets` (see the file comment), its
 * answer document drawn uniformly within that bucket, everything from its own seed.
 */
export function multidocEvalSet(vocab: NeedleVocab, documents: number, count: number, T: number, buckets: number, seed: number): RetrievalBatch {
  checkContext(T, documents);
  checkEvalBuckets('multidoc', count, buckets, documents, 'document');
  const batch = emptyRetrievalBatch(count, T);
  const rng = new Rng(seed);
  for (let b = 0; b < count; b++) writeExample(batch, b, vocab, documents, rng, ordinalForBucket(rng, b % buckets, documents, buckets));
  return batch;
}

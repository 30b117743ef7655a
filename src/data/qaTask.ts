/**
 * Multi-document QA with phrase answers (for SFT vs MEAP-SFT fine-tuning, MEAP.md "Fine-tuning variant"):
 * like multidoc (src/data/multidocTask.ts), but every document's fact maps its key to an answer PHRASE of
 * L value-word tokens, and the block ends with the queried document's whole phrase.
 *
 *   [DOC] f… K₀ : v… f…  [DOC] f… K₁ : v… f…  …  [DOC] f… K₍ₙ₋₁₎ : v… f…  ? K_i v₁ … v_L
 *
 * One block is T + 1 tokens: 3 + L_d per document ([DOC] K : phrase), `? K_i` (2 tokens) and the answer
 * phrase (L_i tokens), which ENDS at position T (the last token); F = T + 1 − those filler words are shared
 * as evenly as possible between the documents (document d gets ⌊(d+1)·F/n⌋ − ⌊d·F/n⌋), so the answer
 * document's index sets its position in the block. Within a document the fact sits after a uniform number
 * of its filler words. Each phrase length L is drawn uniformly in answerMin..answerMax, per fact.
 *
 * Phrases: the first words of one block's phrases are distinct (so the phrases are distinct and the answer
 * is determined by retrieval, not guessable from a first word seen elsewhere), and the words of ONE phrase
 * are distinct (so copying a phrase is never ambiguous inside it); a later word may recur in another
 * document's phrase. Hence taskOptions.values ≥ documents and ≥ answerMax. Keys of one block are distinct.
 *
 * Segments (Segment in needleTask.ts): everything before the answer document's key K_i is `context before`;
 * the fact K_i : phrase is the `needle`; the rest of the documents is `context after`; `? K_i` is the
 * `query`; the final phrase is the `answer`. The first answer token sits at `answerStarts[b]` and is
 * predicted from input position answerStarts[b] − 1 (the queried key); the last one is at position T.
 *
 * Buckets: the answer document's index, grouped as in multidoc (ordinalBucket); evaluation example i is in
 * bucket i mod buckets.
 */
import { Rng } from '../util/random';
import { Special, type NeedleVocab } from './needleVocab';
import { Segment } from './needleTask';
import {
  checkEvalBuckets, drawDistinct, emptyRetrievalBatch, filler, ordinalForBucket, type RetrievalBatch,
} from './retrievalLayout';

/** The shape of a qa block: documents, and the range of answer-phrase lengths (in tokens). */
export interface QaShape {
  documents: number;
  answerMin: number;
  answerMax: number;
}

/**
 * A batch of qa blocks. `answers` holds each block's FIRST answer token; `ordinals` the answer document;
 * `needleStarts` the position of the queried key in its document; `depths` that start as a fraction of the
 * latest start the block's lengths allow.
 */
export interface QaBatch extends RetrievalBatch {
  /** Block position of the first answer token (the answer runs from there to position T). */
  answerStarts: Uint32Array;  // [B]
  /** Answer phrase length L (tokens), answerMin..answerMax. */
  answerLengths: Uint32Array; // [B]
}

/** Shortest context T that holds every block of this shape (all phrases at answerMax, no filler). */
export function minQaContext(documents: number, answerMax: number): number {
  return documents * (3 + answerMax) + 2 + answerMax - 1;
}

/** Why blocks of context T cannot be made, or null when they can (the message names the options). */
export function qaContextProblem(T: number, documents: number, answerMax: number): string | null {
  const min = minQaContext(documents, answerMax);
  return Number.isInteger(T) && T >= min ? null
    : `the qa task with taskOptions.documents = ${documents} and taskOptions.answerMax = ${answerMax} needs a context T ≥ ${min} ` +
      `(3 + answerMax per document + 2 for the query + answerMax for the answer − 1), got ${T}`;
}

/**
 * The answer span of any qa block (its T + 1 tokens): the answer starts right after the key that follows
 * the LAST `?` token and ends at position T. Throws a RangeError on a block without a query.
 */
export function qaAnswerSpan(block: ArrayLike<number>, T: number): { start: number; length: number } {
  if (!Number.isInteger(T) || T < 1 || block.length < T + 1) {
    throw new RangeError(`qa answer span: the block must hold T + 1 = ${T + 1} tokens, got ${block.length}`);
  }
  let q = -1;
  for (let p = T; p >= 0; p--) {
    if (block[p] === Special.QUERY) { q = p; break; }
  }
  if (q < 0) throw new RangeError('qa answer span: the block has no query (no `?` token), so it has no answer');
  const start = q + 2;
  if (start > T) throw new RangeError(`qa answer span: the last query (\`?\` at position ${q}) leaves no answer before position ${T}`);
  return { start, length: T - start + 1 };
}

function checkShape(shape: QaShape): void {
  for (const field of ['documents', 'answerMin', 'answerMax'] as const) {
    const value = shape[field];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`qa task: ${field} must be a positive integer, got ${value}`);
  }
  if (shape.answerMax < shape.answerMin) throw new RangeError(`qa task: answerMax (${shape.answerMax}) must be ≥ answerMin (${shape.answerMin})`);
}

function checkContext(T: number, shape: QaShape): void {
  checkShape(shape);
  const problem = qaContextProblem(T, shape.documents, shape.answerMax);
  if (problem) throw new RangeError(problem);
}

function checkVocab(vocab: NeedleVocab, shape: QaShape): void {
  if (vocab.keyCount < shape.documents) throw new RangeError(`qa task: ${vocab.keyCount} keys cannot give ${shape.documents} documents distinct keys`);
  if (vocab.valueCount < Math.max(shape.documents, shape.answerMax)) {
    throw new RangeError(`qa task: ${vocab.valueCount} values cannot give ${shape.documents} phrases distinct first words and ${shape.answerMax} distinct words each`);
  }
}

export function emptyQaBatch(B: number, T: number): QaBatch {
  return { ...emptyRetrievalBatch(B, T), answerStarts: new Uint32Array(B), answerLengths: new Uint32Array(B) };
}

/**
 * The facts of one block, drawn in this order (the twin follows it): the keys (distinct), the phrases'
 * first words (distinct), then per document its length L and its other L − 1 words (distinct, ≠ its first).
 */
function drawQaFacts(rng: Rng, vocab: NeedleVocab, shape: QaShape): { keys: number[]; phrases: number[][] } {
  const { documents, answerMin, answerMax } = shape;
  const keys = drawDistinct(rng, vocab.keyCount, documents).map((i) => vocab.keyStart + i);
  const firsts = drawDistinct(rng, vocab.valueCount, documents);
  const phrases = firsts.map((first) => {
    const length = answerMin + rng.int(answerMax - answerMin + 1);
    const rest = drawDistinct(rng, vocab.valueCount - 1, length - 1).map((i) => (i >= first ? i + 1 : i));
    return [first, ...rest].map((i) => vocab.valueStart + i);
  });
  return { keys, phrases };
}

/** One example whose query asks for the phrase of document `answerDoc`. */
function writeExample(batch: QaBatch, b: number, vocab: NeedleVocab, shape: QaShape, rng: Rng, answerDoc: number): void {
  const { T } = batch;
  const { documents } = shape;
  const { keys, phrases } = drawQaFacts(rng, vocab, shape);
  const answer = phrases[answerDoc];
  const fixed = phrases.reduce((sum, phrase) => sum + 3 + phrase.length, 0) + 2 + answer.length;
  const fillerTotal = T + 1 - fixed;
  const row = b * (T + 1);
  let p = row;
  const put = (id: number, segment: number) => { batch.tokens[p] = id; batch.segments[p] = segment; p++; };
  for (let d = 0; d < documents; d++) {
    const words = Math.floor(((d + 1) * fillerTotal) / documents) - Math.floor((d * fillerTotal) / documents);
    const lead = rng.int(words + 1);
    const early = d <= answerDoc ? Segment.BEFORE : Segment.AFTER;
    const late = d < answerDoc ? Segment.BEFORE : Segment.AFTER;
    put(Special.DOC, early);
    for (let i = 0; i < lead; i++) put(filler(rng, vocab), early);
    const factSegment = d === answerDoc ? Segment.NEEDLE : late;
    if (d === answerDoc) batch.needleStarts[b] = p - row;
    put(keys[d], factSegment); put(Special.COLON, factSegment);
    for (const word of phrases[d]) put(word, factSegment);
    for (let i = lead; i < words; i++) put(filler(rng, vocab), late);
  }
  put(Special.QUERY, Segment.QUERY); put(keys[answerDoc], Segment.QUERY);
  batch.answerStarts[b] = p - row;
  for (const word of answer) put(word, Segment.ANSWER);
  batch.answers[b] = answer[0];
  batch.answerLengths[b] = answer.length;
  batch.ordinals[b] = answerDoc;
  const latest = T + 1 - 2 * (answer.length + 2); // the latest start of the fact K : phrase before `? K phrase`
  batch.depths[b] = latest <= 0 ? 0 : batch.needleStarts[b] / latest;
}

/** A training batch: the answer document uniform over the documents. */
export function qaTrainingBatch(vocab: NeedleVocab, shape: QaShape, B: number, T: number, rng: Rng): QaBatch {
  checkContext(T, shape);
  checkVocab(vocab, shape);
  const batch = emptyQaBatch(B, T);
  for (let b = 0; b < B; b++) writeExample(batch, b, vocab, shape, rng, rng.int(shape.documents));
  return batch;
}

/**
 * The fixed held-out evaluation set: example i is in bucket i mod `buckets` (see the file comment), its
 * answer document drawn uniformly within that bucket, everything from its own seed.
 */
export function qaEvalSet(vocab: NeedleVocab, shape: QaShape, count: number, T: number, buckets: number, seed: number): QaBatch {
  checkContext(T, shape);
  checkVocab(vocab, shape);
  checkEvalBuckets('qa', count, buckets, shape.documents, 'document');
  const batch = emptyQaBatch(count, T);
  const rng = new Rng(seed);
  for (let b = 0; b < count; b++) writeExample(batch, b, vocab, shape, rng, ordinalForBucket(rng, b % buckets, shape.documents, buckets));
  return batch;
}

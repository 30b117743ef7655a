/**
 * Plain character-level language modelling: training blocks are T + 1-character windows of a text stream,
 * either the generated corpus (src/data/corpus.ts) or a text the user gives.
 *
 * Streams: a generated corpus is `documents` documents from `seed` for training and ⌈documents / 10⌉
 * further documents (from a seed derived from `seed`) held out for evaluation; every document starts with
 * [BOS]. A user text is normalised (charTokenizer.normalizeText), encoded, and split: the last
 * ⌊n / 10⌋ characters are held out for evaluation, the rest is for training (no [BOS]).
 *
 * Windows start uniformly at any offset of their stream that leaves T + 1 ids. The evaluation set is
 * `count` windows of the held-out stream drawn from its own seed; it has no retrieval answers
 * (`hasRetrieval: false`): its segments are all 0, its one bucket holds every example, and its
 * `answers` / `answerPositions` are the final next character (position T, predicted from T − 1) so that
 * code reading them still works — they are not a retrieval score.
 */
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import { normalizeText, type CharTokenizer } from './charTokenizer';
import { generateCorpus } from './corpus';

/** Largest user text accepted, in characters (UTF-16 code units before normalisation). */
export const MAX_TEXT_CHARACTERS = 2_000_000;
/** Largest uploaded text file, in bytes (UTF-8 is at most 4 bytes a character): refused before it is decoded. */
export const MAX_TEXT_BYTES = 4 * MAX_TEXT_CHARACTERS;
/** Largest generated corpus, in documents (≈ 600 characters each). */
export const MAX_CORPUS_DOCUMENTS = 10_000;
/** A user text is refused when more than this share of its characters is outside the alphabet. */
export const MAX_UNKNOWN_SHARE = 0.25;
/** …or when more than this share is control characters / U+FFFD (or it holds any NUL): binary data. */
export const MAX_CONTROL_SHARE = 0.01;

export type TextSource =
  /** The procedurally generated corpus. */
  | { kind: 'generated'; seed: number; documents: number }
  /** The user's own text (at most MAX_TEXT_CHARACTERS). */
  | { kind: 'user'; text: string };

export interface TextTaskOptions {
  /** Characters of the vocabulary besides the 4 specials (see charTokenizer.ts); each once. */
  alphabet: string;
  source: TextSource;
}

/** The encoded training and held-out streams. */
export interface TextStreams {
  train: Uint16Array;
  heldOut: Uint16Array;
  /** What the streams came from, for messages ("the generated corpus of 2000 documents", "the text"). */
  description: string;
}

function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) || (code >= 0x7f && code <= 0x9f) || code === 0xfffd;
}

/**
 * Checks and encodes a user text; throws a RangeError saying what is wrong (not a string, too long,
 * binary, empty, mostly outside the alphabet). Length against the context is checked by textContextProblem.
 */
export function prepareUserText(text: unknown, tokenizer: CharTokenizer): TextStreams {
  if (typeof text !== 'string') throw new RangeError(`taskOptions.source.text must be a string, got ${typeof text}`);
  if (text.length > MAX_TEXT_CHARACTERS) {
    throw new RangeError(`taskOptions.source.text has ${text.length} characters; at most ${MAX_TEXT_CHARACTERS} are accepted`);
  }
  let controls = 0;
  let firstControl = -1;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) {
      throw new RangeError(`taskOptions.source.text looks binary: it contains a NUL character (at offset ${i}); give plain UTF-8 text`);
    }
    if (isControl(code)) {
      controls++;
      if (firstControl < 0) firstControl = i;
    }
  }
  if (controls > MAX_CONTROL_SHARE * text.length) {
    throw new RangeError(`taskOptions.source.text looks binary: ${controls} of its ${text.length} characters are control characters or U+FFFD ` +
      `(undecodable bytes), the first at offset ${firstControl}; give plain UTF-8 text`);
  }
  const normal = normalizeText(text);
  if (normal.trim() === '') throw new RangeError('taskOptions.source.text is empty (after normalisation: only whitespace or nothing)');
  const ids = tokenizer.encode(normal);
  let unknown = 0;
  for (const id of ids) if (id === tokenizer.unkId) unknown++;
  if (unknown > MAX_UNKNOWN_SHARE * ids.length) {
    throw new RangeError(`taskOptions.source.text: ${unknown} of its ${ids.length} characters (${(100 * unknown / ids.length).toFixed(1)}%) are outside ` +
      `taskOptions.alphabet (at most ${100 * MAX_UNKNOWN_SHARE}% may become [UNK]); give an alphabet that covers the text`);
  }
  const heldOut = Math.floor(ids.length / 10);
  return {
    train: Uint16Array.from(ids.subarray(0, ids.length - heldOut)),
    heldOut: Uint16Array.from(ids.subarray(ids.length - heldOut)),
    description: `the text (${ids.length} characters after normalisation)`,
  };
}

/**
 * The text of an uploaded file (the CLI's --text-file; any upload form should use it too): refuses a file over
 * MAX_TEXT_BYTES with its size before decoding anything, then decodes UTF-8 leniently — undecodable bytes
 * become U+FFFD, which prepareUserText counts as binary, so a file that is not UTF-8 text is refused there
 * with the offset of its first bad character. A leading byte-order mark is dropped.
 */
export function userTextFromBytes(bytes: Uint8Array, name = 'the file'): string {
  if (!(bytes instanceof Uint8Array)) throw new RangeError(`${name} must be bytes (a Uint8Array), got ${typeof bytes}`);
  if (bytes.length > MAX_TEXT_BYTES) {
    throw new RangeError(`${name} has ${bytes.length} bytes; at most ${MAX_TEXT_BYTES} bytes (${MAX_TEXT_CHARACTERS} characters) are accepted`);
  }
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
}

function encodeDocuments(documents: string[], tokenizer: CharTokenizer): Uint16Array {
  const encoded = documents.map((d) => tokenizer.encode(d));
  const out = new Uint16Array(encoded.reduce((n, e) => n + 1 + e.length, 0));
  let p = 0;
  for (const e of encoded) {
    out[p++] = tokenizer.bosId;
    out.set(e, p);
    p += e.length;
  }
  return out;
}

/** The generated corpus's streams: `documents` training documents, ⌈documents / 10⌉ held-out ones. */
export function generatedStreams(seed: number, documents: number, tokenizer: CharTokenizer): TextStreams {
  return {
    train: encodeDocuments(generateCorpus(seed, documents), tokenizer),
    heldOut: encodeDocuments(generateCorpus(deriveSeed(seed, 'held-out'), Math.ceil(documents / 10)), tokenizer),
    description: `the generated corpus of ${documents} documents`,
  };
}

/** Why blocks of context T cannot be cut from the streams (null when they can). */
export function textContextProblem(streams: TextStreams, T: number): string | null {
  if (!Number.isInteger(T) || T < 1) return `the text task needs a positive integer context T, got ${T}`;
  const need = T + 1;
  if (streams.train.length >= need && streams.heldOut.length >= need) return null;
  return `${streams.description} is too short for context T = ${T}: one window is T + 1 = ${need} characters and the training part has ` +
    `${streams.train.length}, the held-out part ${streams.heldOut.length} (a user text needs at least ${10 * need} characters: ` +
    `the last tenth is held out)`;
}

function checkContext(streams: TextStreams, T: number): void {
  const problem = textContextProblem(streams, T);
  if (problem) throw new RangeError(problem);
}

function copyWindow(stream: Uint16Array, out: Uint32Array, row: number, T: number, rng: Rng): void {
  const start = rng.int(stream.length - T);
  for (let i = 0; i <= T; i++) out[row * (T + 1) + i] = stream[start + i];
}

/** B windows of T + 1 ids from the training stream, [B, T+1]. */
export function textTrainingBatch(streams: TextStreams, B: number, T: number, rng: Rng): Uint32Array {
  checkContext(streams, T);
  const tokens = new Uint32Array(B * (T + 1));
  for (let b = 0; b < B; b++) copyWindow(streams.train, tokens, b, T, rng);
  return tokens;
}

/** `count` windows of the held-out stream from its own seed, [count, T+1]. */
export function textEvalWindows(streams: TextStreams, count: number, T: number, seed: number): Uint32Array {
  checkContext(streams, T);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`text evaluation set: count must be a positive integer, got ${count}`);
  const tokens = new Uint32Array(count * (T + 1));
  const rng = new Rng(seed);
  for (let b = 0; b < count; b++) copyWindow(streams.heldOut, tokens, b, T, rng);
  return tokens;
}

/**
 * The five single tokens of a retrieval example (needle, recall, multidoc) that the answer position can read
 * the answer from: the needle's `K : V` and the final query `? K`, whose key is the answer position itself.
 * The report's segment mass lumps `?` with the answer position ("query") and `K : V` together ("needle"); this
 * splits them, so a shift of attention can be told apart: off `?` or off itself, onto the needle's key or value.
 */
import { Segment } from './needleTask';

export const RETRIEVAL_TOKEN_NAMES = ['needle key', 'needle :', 'needle value', 'query ?', 'query key (itself)'] as const;

/**
 * Positions of RETRIEVAL_TOKEN_NAMES in one example, or null when its layout is not a retrieval block: the
 * answer position must end a `? K` query run of exactly two positions, and the positions before it must hold
 * exactly one needle run, of exactly three (`K : V`). `segments` labels the T input positions.
 */
export function retrievalTokenPositions(segments: ArrayLike<number>, answerPosition: number): number[] | null {
  const a = answerPosition;
  if (!(Number.isInteger(a) && a >= 1 && a < segments.length)) return null;
  if (segments[a] !== Segment.QUERY || segments[a - 1] !== Segment.QUERY || (a >= 2 && segments[a - 2] === Segment.QUERY)) return null;
  const needle: number[] = [];
  for (let t = 0; t < a - 1; t++) if (segments[t] === Segment.NEEDLE) needle.push(t);
  if (needle.length !== 3 || needle[2] - needle[0] !== 2) return null;
  return [...needle, a - 1, a];
}

/**
 * The prompt (its T + 1 tokens) with the query key replaced by a key id absent from the inputs: the needle key's
 * next key in `keyIds`, cyclically, skipping any key the inputs hold. A model that reads the key cannot find this
 * one in the context; a model that copies the context's value answers the needle's value all the same. Null when
 * every key is in the inputs, or the positions are not a retrieval block's (retrievalTokenPositions).
 */
export function keySwappedPrompt(tokens: ArrayLike<number>, positions: readonly number[] | null, keyIds: readonly number[]): Uint32Array | null {
  if (!positions || positions.length !== RETRIEVAL_TOKEN_NAMES.length) return null;
  const query = positions[4];
  const present = new Set(Array.from({ length: query + 1 }, (_, t) => tokens[t]));
  const at = keyIds.indexOf(tokens[positions[0]]);
  if (at < 0) return null;
  for (let j = 1; j < keyIds.length; j++) {
    const key = keyIds[(at + j) % keyIds.length];
    if (present.has(key)) continue;
    const swapped = Uint32Array.from(tokens as ArrayLike<number>);
    swapped[query] = key;
    return swapped;
  }
  return null;
}

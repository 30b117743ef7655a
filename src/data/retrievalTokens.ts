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

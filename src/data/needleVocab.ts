/**
 * The synthetic vocabulary of the retrieval tasks: 8 special ids (one of them the reserved [MASK],
 * never produced by a task), then filler words, keys and values in disjoint ranges so that a key
 * appears in a sequence only in its needle and in the query.
 */
export const Special = {
  PAD: 0,
  BOS: 1,
  MASK: 2,
  COLON: 3,
  QUERY: 4,
  SEP: 5,
  DOC: 6,
  EOS: 7,
} as const;

export const SPECIAL_COUNT = 8;

export interface NeedleVocab {
  size: number;
  maskId: number;
  fillerStart: number; fillerCount: number;
  keyStart: number; keyCount: number;
  valueStart: number; valueCount: number;
}

export function needleVocab(fillerCount = 128, keyCount = 64, valueCount = 64): NeedleVocab {
  const fillerStart = SPECIAL_COUNT;
  const keyStart = fillerStart + fillerCount;
  const valueStart = keyStart + keyCount;
  return {
    size: valueStart + valueCount, maskId: Special.MASK,
    fillerStart, fillerCount, keyStart, keyCount, valueStart, valueCount,
  };
}

/** Human-readable token names, for attention-view axes and the "try the models" box. */
export function tokenName(vocab: NeedleVocab, id: number): string {
  const special = Object.entries(Special).find(([, v]) => v === id);
  if (special) return special[0] === 'COLON' ? ':' : special[0] === 'QUERY' ? '?' : `[${special[0]}]`;
  if (id < vocab.keyStart) return `w${id - vocab.fillerStart}`;
  if (id < vocab.valueStart) return `K${id - vocab.keyStart}`;
  if (id < vocab.size) return `V${id - vocab.valueStart}`;
  return `<${id}?>`;
}

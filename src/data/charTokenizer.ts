/**
 * Character-level tokenizer of the language-modelling task. Ids 0..3 are specials, then one id per
 * character of the alphabet in the order given:
 *
 *   0 [PAD]   never produced by encode (padding of short prompts)
 *   1 [BOS]   never produced by encode; the text task puts one at the start of every document
 *   2 [MASK]  reserved for MEAP; never produced by encode or by any task
 *   3 [UNK]   what encode produces for every character outside the alphabet
 *   4 …       the alphabet's characters (Unicode code points)
 *
 * `encode` maps code point by code point and does not normalise; run `normalizeText` first (the text
 * task does) so that line endings and tabs match the alphabet.
 */

export const CharSpecial = { PAD: 0, BOS: 1, MASK: 2, UNK: 3 } as const;
export const CHAR_SPECIAL_NAMES = ['[PAD]', '[BOS]', '[MASK]', '[UNK]'] as const;
export const CHAR_SPECIAL_COUNT = CHAR_SPECIAL_NAMES.length;

/** Largest alphabet accepted (the vocabulary stays at a few hundred ids). */
export const MAX_ALPHABET = 256;

/** Space, newline, letters, digits and plain punctuation: 75 characters, vocabulary 79. */
export const DEFAULT_ALPHABET =
  ' \n' + 'abcdefghijklmnopqrstuvwxyz' + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' + '0123456789' + '.,;:!?\'"-()';

export interface CharTokenizer {
  alphabet: string;
  /** Specials + alphabet. */
  size: number;
  maskId: number;
  unkId: number;
  bosId: number;
  padId: number;
  /** Ids of the text's code points; characters outside the alphabet become [UNK]. */
  encode(text: string): Uint32Array;
  /** Text of the ids; specials other than [PAD] (dropped) appear as their bracketed names. */
  decode(ids: ArrayLike<number>): string;
  /** A visible name of one id: the character (space as ␣, newline as ↵) or the special's name. */
  tokenName(id: number): string;
}

// The normal form every text goes through before encoding (in util/: the page normalises typed prompts alike).
export { normalizeText } from '../util/text';

/** Why an alphabet cannot be used (null when it can). */
export function alphabetProblem(alphabet: unknown): string | null {
  if (typeof alphabet !== 'string') return `must be a string of characters, got ${typeof alphabet}`;
  const chars = Array.from(alphabet);
  if (chars.length === 0) return 'must not be empty';
  if (chars.length > MAX_ALPHABET) return `has ${chars.length} characters, at most ${MAX_ALPHABET} are allowed`;
  const seen = new Set<string>();
  for (const c of chars) {
    if (seen.has(c)) return `lists ${JSON.stringify(c)} twice`;
    seen.add(c);
    const code = c.codePointAt(0)!;
    if (c !== '\n' && (code < 0x20 || (code >= 0x7f && code <= 0x9f))) {
      return `contains the control character U+${code.toString(16).toUpperCase().padStart(4, '0')} (only newline is allowed; text is normalised: tabs → space, CR LF → LF)`;
    }
    if (c === '\uFFFD') return 'contains U+FFFD (the replacement character of undecodable bytes)';
    if (c.normalize('NFC') !== c) return `contains ${JSON.stringify(c)}, which is not in Unicode NFC (text is normalised to NFC)`;
  }
  return null;
}

export function charTokenizer(alphabet: string = DEFAULT_ALPHABET): CharTokenizer {
  const problem = alphabetProblem(alphabet);
  if (problem) throw new RangeError(`alphabet ${problem}`);
  const chars = Array.from(alphabet);
  const ids = new Map<string, number>(chars.map((c, i) => [c, CHAR_SPECIAL_COUNT + i]));
  const size = CHAR_SPECIAL_COUNT + chars.length;
  return {
    alphabet,
    size,
    maskId: CharSpecial.MASK,
    unkId: CharSpecial.UNK,
    bosId: CharSpecial.BOS,
    padId: CharSpecial.PAD,
    encode(text) {
      const out: number[] = [];
      for (const c of text) out.push(ids.get(c) ?? CharSpecial.UNK);
      return Uint32Array.from(out);
    },
    decode(list) {
      let text = '';
      for (let i = 0; i < list.length; i++) {
        const id = list[i];
        if (id === CharSpecial.PAD) continue;
        text += id < CHAR_SPECIAL_COUNT ? CHAR_SPECIAL_NAMES[id] : id < size ? chars[id - CHAR_SPECIAL_COUNT] : `<${id}?>`;
      }
      return text;
    },
    tokenName(id) {
      if (id < CHAR_SPECIAL_COUNT) return CHAR_SPECIAL_NAMES[id];
      if (id >= size) return `<${id}?>`;
      const c = chars[id - CHAR_SPECIAL_COUNT];
      return c === ' ' ? '␣' : c === '\n' ? '↵' : c;
    },
  };
}

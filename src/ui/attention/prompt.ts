/**
 * Prompts for "Try the models" are typed with the task's own vocabulary: space-separated token names
 * such as `w3 K5 : V7 ? K5` (filler words w…, keys K…, values V…, `:` and `?`, specials in brackets),
 * or, for a character task, plain text (encoded with the vocabulary the Worker sent in 'built').
 */
import { normalizeText } from '../../util/text';
import type { TaskView } from '../../session/protocol';

export interface CharacterCodec {
  /** Ids of a text, normalised as the task normalises it; a character outside the alphabet becomes [UNK]. */
  encode(text: string): number[];
  /** The text of ids, as the task decodes them. */
  decode(ids: readonly number[]): string;
}

/** A character task's encoding from its vocabulary (TaskView.characters): one id per character of the alphabet. */
export function characterCodec(characters: NonNullable<TaskView['characters']>): CharacterCodec {
  const ids = new Map<string, number>();
  characters.texts.forEach((text, id) => {
    // Only the alphabet's characters are typed; specials decode to bracketed names and [PAD] to nothing.
    if (Array.from(text).length === 1 && !ids.has(text)) ids.set(text, id);
  });
  return {
    encode: (text) => Array.from(normalizeText(text), (c) => ids.get(c) ?? characters.unknownId),
    decode: (list) => list.map((id) => characters.texts[id] ?? `<${id}?>`).join(''),
  };
}

/** name → id for every id of the vocabulary (the first id wins if two share a name). */
export function vocabularyMap(vocabSize: number, tokenName: (id: number) => string): Map<string, number> {
  const map = new Map<string, number>();
  for (let id = 0; id < vocabSize; id++) {
    const name = tokenName(id);
    if (!map.has(name)) map.set(name, id);
  }
  return map;
}

export type ParsedPrompt =
  | { ok: true; ids: number[] }
  | { ok: false; error: string; /** Index of the offending token, or -1 for the prompt as a whole. */ index: number };

/**
 * Token ids of a space-separated prompt, or the first problem: an empty prompt, an unknown token
 * (with a near miss suggested when only the letter case differs), or more than `maxTokens` tokens.
 */
export function parsePrompt(text: string, vocabulary: ReadonlyMap<string, number>, maxTokens = Infinity): ParsedPrompt {
  const names = text.trim().split(/\s+/).filter((s) => s.length > 0);
  if (names.length === 0) return { ok: false, error: 'Type at least one token, e.g. "w3 K5 : V7 ? K5".', index: -1 };
  const ids: number[] = [];
  for (let k = 0; k < names.length; k++) {
    const id = vocabulary.get(names[k]);
    if (id === undefined) {
      const lower = names[k].toLowerCase();
      const nearMiss = [...vocabulary.keys()].find((name) => name.toLowerCase() === lower);
      const hint = nearMiss ? ` — did you mean "${nearMiss}"?` : ' (tokens look like w3, K5, :, V7, ?)';
      return { ok: false, error: `Unknown token "${names[k]}" at position ${k + 1}${hint}`, index: k };
    }
    ids.push(id);
  }
  if (ids.length > maxTokens) {
    return { ok: false, error: `The prompt has ${ids.length} tokens; the model's context holds ${maxTokens}.`, index: -1 };
  }
  return { ok: true, ids };
}

/** How many tokens a greedy continuation can add before the prompt fills the context of T positions. */
export function continuationRoom(promptLength: number, T: number, cap = 8): number {
  return Math.max(0, Math.min(cap, T - promptLength + 1));
}

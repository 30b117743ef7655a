/**
 * Zero-shot needle prompts written in the language of the generated corpus (src/data/corpus.ts), for the
 * pretrain-then-probe study. Each prompt is exactly T + 1 characters, like a training window:
 *
 *   …filler sentences… | Zorbak lives in Tronford. | filler sentences | Where does Zorbak live? Zorbak lives in | Tronford
 *        before              needle                    after                      query                          answer
 *
 * The filler talks about a distractor cast with their own invented names, towns (including "X lives in Y."
 * facts: hard distractors), jobs and pets, in the corpus's sentence forms; the target person appears only
 * in the needle and the query. The before-part is cut from the left at a character (training windows
 * start anywhere too). The answer (the town) ends at position T; the model is right when greedy decoding
 * reproduces every character of it (equivalently: every teacher-forced argmax is the answer's character).
 *
 * The word lists, name syllables and sentence helpers are corpus.ts's own, so the prompts are in the same
 * language; a test checks that every character is in the corpus's character set.
 */
import { Rng } from '../util/random';
import { Segment } from './needleTask';
import type { CharTokenizer } from './charTokenizer';
import {
  ADJECTIVES, article, DAYS, FOODS, inventName, JOBS, PETS, pick, PLACES, TOWN_ENDINGS, type Person,
} from './corpus';

function unique(make: () => string, taken: Set<string>): string {
  for (;;) {
    const name = make();
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

function person(rng: Rng, taken: Set<string>): Person {
  return {
    name: unique(() => inventName(rng, 2 + rng.int(2)), taken),
    town: unique(() => inventName(rng, 1 + rng.int(2)) + pick(rng, TOWN_ENDINGS), taken),
    job: pick(rng, JOBS), age: 8 + rng.int(82), food: pick(rng, FOODS), pet: pick(rng, PETS),
    petName: unique(() => inventName(rng, 1 + rng.int(2)), taken),
  };
}

/** One filler sentence about the distractor cast, in one of the corpus's forms. */
function fillerSentence(rng: Rng, cast: readonly Person[]): string {
  const p = pick(rng, cast);
  const q = cast.length > 1 ? pick(rng, cast.filter((o) => o !== p)) : p;
  switch (rng.int(10)) {
    case 0: return `${p.name} lives in ${p.town}.`;
    case 1: return `${p.name} is ${article(p.job)}.`;
    case 2: return `${p.name} is ${p.age} years old.`;
    case 3: return `${p.name} likes ${p.food}.`;
    case 4: return `${p.name} has ${article(p.pet)} called ${p.petName}.`;
    case 5: return `What does ${p.name} do? ${p.name} is ${article(p.job)}.`;
    case 6: return `On ${pick(rng, DAYS)}, ${p.name} and ${q.name} went to ${q.town}.`;
    case 7: return `${p.name} met ${q.name} at the ${pick(rng, PLACES)}.`;
    case 8: return `It was ${article(pick(rng, ADJECTIVES))} day in ${p.town}.`;
    default: return `${p.name} gave ${p.petName} some ${p.food}.`;
  }
}

export interface TextProbeSet {
  count: number;
  T: number;
  /** [count, T+1] character ids. */
  tokens: Uint32Array;
  /** [count, T+1] segment labels (Segment of src/data/needleTask.ts). */
  segments: Uint8Array;
  /** Position of the answer's first character (its last is at T). */
  answerStart: Uint32Array;
  /** Depth of the needle: 0 = at the start, 1 = right before the query. */
  depths: Float32Array;
  buckets: Uint32Array;
  bucketCount: number;
  /** The prompts as text (for the report and for tests). */
  texts: string[];
}

/** Input positions whose predictions are example i's answer characters (answerStart − 1 … T − 1). */
export function answerRows(set: TextProbeSet, i: number): number[] {
  const start = set.answerStart[i];
  return Array.from({ length: set.T + 1 - start }, (_, k) => start - 1 + k);
}

/**
 * `count` prompts of T + 1 characters, `count / buckets` (rounded up for the first ones) per depth bucket,
 * a pure function of the seed. Each answer has at most `maxAnswer` characters (the probe's logit rows).
 */
export function textProbeSet(tokenizer: CharTokenizer, count: number, T: number, buckets: number, seed: number, maxAnswer: number): TextProbeSet {
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`text probe: count must be a positive integer, got ${count}`);
  if (!(Number.isInteger(buckets) && buckets >= 1)) throw new RangeError(`text probe: buckets must be a positive integer, got ${buckets}`);
  const rng = new Rng(seed);
  const set: TextProbeSet = {
    count, T, tokens: new Uint32Array(count * (T + 1)), segments: new Uint8Array(count * (T + 1)),
    answerStart: new Uint32Array(count), depths: new Float32Array(count), buckets: new Uint32Array(count), bucketCount: buckets, texts: [],
  };
  for (let i = 0; i < count; i++) {
    const bucket = i % buckets;
    let made: ReturnType<typeof makePrompt> = null;
    for (let attempt = 0; attempt < 2000 && made === null; attempt++) made = makePrompt(rng, T, bucket, buckets, maxAnswer);
    if (made === null) throw new RangeError(`text probe: cannot fit a prompt at depth bucket ${bucket} of ${buckets} into T + 1 = ${T + 1} characters`);
    const ids = tokenizer.encode(made.text);
    for (const id of ids) {
      if (id === tokenizer.unkId) throw new RangeError('text probe: the tokenizer\'s alphabet lacks a character of the corpus language');
    }
    set.tokens.set(ids, i * (T + 1));
    set.segments.set(made.segments, i * (T + 1));
    set.answerStart[i] = T + 1 - made.answerLength;
    set.depths[i] = made.depth;
    set.buckets[i] = bucket;
    set.texts.push(made.text);
  }
  return set;
}

/** One prompt whose needle depth falls in `bucket`, or null when this draw does not fit. */
function makePrompt(rng: Rng, T: number, bucket: number, buckets: number, maxAnswer: number) {
  const taken = new Set<string>();
  const target = person(rng, taken);
  const cast = Array.from({ length: 2 + rng.int(3) }, () => person(rng, taken));
  const needle = `${target.name} lives in ${target.town}. `;
  const query = `Where does ${target.name} live? ${target.name} lives in `;
  const answer = target.town;
  if (answer.length > maxAnswer) return null;
  const fillerTotal = T + 1 - needle.length - query.length - answer.length;
  if (fillerTotal < 0) return null;
  // Target depth uniform in the bucket; the after-part is whole sentences filling its share, the
  // before-part takes the rest (so the actual depth can drift up by the unfilled gap: rejected if it leaves the bucket).
  const targetBefore = Math.round(((bucket + rng.next()) / buckets) * fillerTotal);
  let after = '';
  for (let tries = 0; tries < 40 && after.length < fillerTotal - targetBefore; tries++) {
    const sentence = `${fillerSentence(rng, cast)} `;
    if (after.length + sentence.length <= fillerTotal - targetBefore) after += sentence;
  }
  const beforeLength = fillerTotal - after.length;
  const depth = fillerTotal === 0 ? 0 : beforeLength / fillerTotal;
  if (Math.min(buckets - 1, Math.floor(depth * buckets)) !== bucket) return null;
  let before = '';
  while (before.length < beforeLength) before += `${fillerSentence(rng, cast)} `;
  before = before.slice(before.length - beforeLength);
  const text = before + needle + after + query + answer;
  const segments = [
    ...new Array<number>(before.length).fill(Segment.BEFORE),
    ...new Array<number>(needle.length - 1).fill(Segment.NEEDLE), Segment.AFTER,
    ...new Array<number>(after.length).fill(Segment.AFTER),
    ...new Array<number>(query.length).fill(Segment.QUERY),
    ...new Array<number>(answer.length).fill(Segment.ANSWER),
  ];
  if (text.length !== T + 1 || segments.length !== T + 1) throw new Error(`text probe: built ${text.length} characters, expected ${T + 1}`);
  return { text, segments, answerLength: answer.length, depth };
}

/** Whether run r's logits (rows × V, at answerRows) reproduce every answer character greedily. */
export function answerCorrect(set: TextProbeSet, i: number, logits: ArrayLike<number>, V: number): boolean {
  const rows = answerRows(set, i);
  for (let k = 0; k < rows.length; k++) {
    const want = set.tokens[i * (set.T + 1) + rows[k] + 1];
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[k * V + v] > logits[k * V + best]) best = v;
    if (best !== want) return false;
  }
  return true;
}

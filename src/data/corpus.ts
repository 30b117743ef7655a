/**
 * A procedurally generated English-like corpus for the language-modelling task: no downloaded data, every
 * document a pure function of the generator state.
 *
 * Each document has a small cast of people with invented names (syllables, so they cannot be memorised
 * across documents) and facts about them (town, job, age, food, a pet with an invented name). The first
 * paragraph states the facts; later paragraphs restate them, ask and answer questions about them and tell
 * small events with the same names. A name or fact that appeared earlier in the document is therefore
 * often predictable by copying it from the context — the in-context retrieval MEAP is meant to help.
 *
 * Only characters of DEFAULT_ALPHABET (src/data/charTokenizer.ts) are produced; see CORPUS_CHARACTERS.
 */
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';

export const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'dr', 'kl', 'st', 'tr', 'sh', 'h', 'j'];
export const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ee', 'ia'];
export const CODAS = ['', '', '', 'n', 'r', 'l', 's', 'm', 'th', 'k'];
export const TOWN_ENDINGS = ['ton', 'ford', 'burg', 'wick', 'dale', 'mouth', 'field', 'port'];
export const JOBS = ['baker', 'farmer', 'teacher', 'doctor', 'painter', 'sailor', 'miller', 'singer', 'builder', 'cook', 'driver', 'writer'];
export const PETS = ['dog', 'cat', 'horse', 'goat', 'parrot', 'rabbit', 'duck', 'pig'];
export const FOODS = ['apples', 'bread', 'cheese', 'soup', 'fish', 'honey', 'rice', 'pears', 'cake', 'beans', 'plums', 'eggs'];
export const PLACES = ['market', 'river', 'school', 'bakery', 'harbour', 'library', 'garden', 'station', 'mill', 'square'];
export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
export const ADJECTIVES = ['cold', 'warm', 'quiet', 'busy', 'long', 'bright', 'grey', 'windy', 'calm', 'wet'];
const NOUNS = ['road', 'sky', 'house', 'wind', 'water', 'evening', 'morning', 'field', 'door', 'fire'];
const VERBS = ['walked to', 'ran to', 'looked at', 'cleaned', 'painted', 'visited'];

/** Exactly the characters a generated document can contain (61, all in DEFAULT_ALPHABET). */
export const CORPUS_CHARACTERS = ' \n".,:?0123456789abcdefghijklmnopqrstuvwyzBDFGHIJKLMNOPRSTVWZ';

/** A member of a document's cast (textProbe.ts writes its prompts about such people too). */
export interface Person {
  name: string;
  town: string;
  job: string;
  age: number;
  food: string;
  pet: string;
  petName: string;
}

export function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)];
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

export function inventName(rng: Rng, syllables: number): string {
  let word = '';
  for (let i = 0; i < syllables; i++) word += pick(rng, ONSETS) + pick(rng, VOWELS) + (i === syllables - 1 ? pick(rng, CODAS) : '');
  return capitalise(word);
}

export function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** Names unique within the document (people, pets and towns never collide). */
function uniqueNames(count: number, make: () => string, taken: Set<string>): string[] {
  const names: string[] = [];
  while (names.length < count) {
    const name = make();
    if (taken.has(name)) continue;
    taken.add(name);
    names.push(name);
  }
  return names;
}

/** The facts of a person as sentences (the "knowledge" the document repeats). */
function factSentences(p: Person): string[] {
  return [
    `${p.name} lives in ${p.town}.`,
    `${p.name} is ${article(p.job)}.`,
    `${p.name} is ${p.age} years old.`,
    `${p.name} likes ${p.food}.`,
    `${p.name} has ${article(p.pet)} called ${p.petName}.`,
  ];
}

/** A question about a fact and its answer, both naming the person again. */
function questionAnswer(rng: Rng, p: Person): string {
  switch (rng.int(5)) {
    case 0: return `Where does ${p.name} live? ${p.name} lives in ${p.town}.`;
    case 1: return `What does ${p.name} do? ${p.name} is ${article(p.job)}.`;
    case 2: return `How old is ${p.name}? ${p.name} is ${p.age}.`;
    case 3: return `What does ${p.name} like? ${p.name} likes ${p.food}.`;
    default: return `Who is ${p.petName}? ${p.petName} is the ${p.pet} of ${p.name}.`;
  }
}

function eventSentence(rng: Rng, cast: Person[]): string {
  const p = pick(rng, cast);
  const q = cast.length > 1 ? pick(rng, cast.filter((other) => other !== p)) : p;
  switch (rng.int(7)) {
    case 0: return `On ${pick(rng, DAYS)}, ${p.name} and ${q.name} went to ${q.town}.`;
    case 1: return `${p.name} gave ${p.petName} some ${p.food}.`;
    case 2: return `${p.name} met ${q.name} at the ${pick(rng, PLACES)}.`;
    case 3: return `${p.name} said: "I like ${p.food}, and ${p.petName} does too."`;
    case 4: return `${p.name} ${pick(rng, VERBS)} the ${pick(rng, PLACES)} with ${p.petName}.`;
    case 5: return `It was ${article(pick(rng, ADJECTIVES))} day in ${p.town}.`;
    default: return `The ${pick(rng, NOUNS)} was ${pick(rng, ADJECTIVES)}, so ${p.name} stayed at home.`;
  }
}

/** One document (ends with a newline). */
export function generateDocument(rng: Rng): string {
  const people = 2 + rng.int(3);
  const taken = new Set<string>();
  const names = uniqueNames(people, () => inventName(rng, 2 + rng.int(2)), taken);
  const petNames = uniqueNames(people, () => inventName(rng, 1 + rng.int(2)), taken);
  const towns = uniqueNames(people, () => inventName(rng, 1 + rng.int(2)) + pick(rng, TOWN_ENDINGS), taken);
  const cast: Person[] = names.map((name, i) => ({
    name, town: towns[i], job: pick(rng, JOBS), age: 8 + rng.int(82), food: pick(rng, FOODS), pet: pick(rng, PETS), petName: petNames[i],
  }));
  const paragraphs: string[] = [];
  // The first paragraph introduces everyone with three or more of their facts.
  const intro: string[] = [];
  for (const p of cast) {
    const facts = factSentences(p);
    const order = facts.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    for (const i of order.slice(0, 3 + rng.int(3))) intro.push(facts[i]);
  }
  paragraphs.push(intro.join(' '));
  // Later paragraphs restate, question and use the facts.
  const more = 2 + rng.int(3);
  for (let k = 0; k < more; k++) {
    const sentences: string[] = [];
    const length = 3 + rng.int(4);
    for (let s = 0; s < length; s++) {
      const p = pick(rng, cast);
      const kind = rng.int(3);
      sentences.push(kind === 0 ? pick(rng, factSentences(p)) : kind === 1 ? questionAnswer(rng, p) : eventSentence(rng, cast));
    }
    paragraphs.push(sentences.join(' '));
  }
  return paragraphs.join('\n') + '\n';
}

/** `documents` documents from a seed; document i depends only on (seed, i). */
export function generateCorpus(seed: number, documents: number): string[] {
  if (!Number.isInteger(documents) || documents < 1) throw new RangeError(`documents must be a positive integer, got ${documents}`);
  return Array.from({ length: documents }, (_, i) => generateDocument(new Rng(deriveSeed(seed, i, 'document'))));
}

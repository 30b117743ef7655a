import { describe, expect, it } from 'vitest';
import {
  CHAR_SPECIAL_COUNT, CharSpecial, DEFAULT_ALPHABET, MAX_ALPHABET, alphabetProblem, charTokenizer, normalizeText,
} from '../src/data/charTokenizer';
import { CORPUS_CHARACTERS, generateCorpus, generateDocument } from '../src/data/corpus';
import { createTask } from '../src/data/task';
import {
  MAX_TEXT_CHARACTERS, generatedStreams, prepareUserText, textContextProblem, textEvalWindows, textTrainingBatch,
} from '../src/data/textTask';
import { Rng } from '../src/util/random';

const tokenizer = charTokenizer();

/** Ids as a string of code units, so windows can be searched for with indexOf. */
function asString(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += String.fromCharCode(ids[i]);
  return s;
}

describe('character tokenizer', () => {
  it('has 4 specials, then the alphabet; [MASK] is reserved', () => {
    expect(CharSpecial).toEqual({ PAD: 0, BOS: 1, MASK: 2, UNK: 3 });
    expect(Array.from(DEFAULT_ALPHABET)).toHaveLength(75);
    expect(tokenizer.size).toBe(79);
    expect(tokenizer.maskId).toBe(2);
    expect(tokenizer.encode('ab')).toEqual(Uint32Array.from([CHAR_SPECIAL_COUNT + 2, CHAR_SPECIAL_COUNT + 3]));
    expect(tokenizer.tokenName(tokenizer.maskId)).toBe('[MASK]');
    expect(tokenizer.tokenName(tokenizer.encode(' ')[0])).toBe('␣');
    expect(tokenizer.tokenName(tokenizer.encode('\n')[0])).toBe('↵');
  });

  it('round-trips text of the alphabet and maps other characters to [UNK]', () => {
    const text = 'Hello, World!\n"Quoted" (42) - yes; no: maybe?';
    expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(Array.from(tokenizer.encode('a€b🙂'))).toEqual([...tokenizer.encode('a'), CharSpecial.UNK, ...tokenizer.encode('b'), CharSpecial.UNK]);
    expect(tokenizer.decode([CharSpecial.BOS, ...tokenizer.encode('x'), CharSpecial.UNK, CharSpecial.PAD])).toBe('[BOS]x[UNK]');
  });

  it('never produces [MASK], [PAD] or [BOS], even for their names or for any code point', () => {
    const strange = '[MASK][PAD][BOS]\u0000\u0002\u0003' + Array.from({ length: 2000 }, (_, i) => String.fromCodePoint(i * 37)).join('');
    const ids = tokenizer.encode(strange);
    for (const special of [CharSpecial.MASK, CharSpecial.PAD, CharSpecial.BOS]) expect(ids).not.toContain(special);
    for (const id of ids) expect(id).toBeLessThan(tokenizer.size);
  });

  it('normalises line endings, tabs, a byte-order mark and composed characters', () => {
    expect(normalizeText('\uFEFFa\r\nb\rc\td')).toBe('a\nb\nc d');
    expect(normalizeText('e\u0301')).toBe('\u00e9');
  });

  it('refuses bad alphabets with the reason', () => {
    expect(alphabetProblem('')).toMatch(/empty/);
    expect(alphabetProblem('abca')).toMatch(/"a" twice/);
    expect(alphabetProblem('ab\t')).toMatch(/control character U\+0009/);
    expect(alphabetProblem('x'.repeat(1) + Array.from({ length: MAX_ALPHABET }, (_, i) => String.fromCodePoint(0x100 + i)).join(''))).toMatch(/at most 256/);
    expect(alphabetProblem('e\u0301')).toBeNull(); // two code points, each fine on its own
    expect(alphabetProblem(42)).toMatch(/string/);
    expect(() => charTokenizer('aa')).toThrow(/alphabet lists "a" twice/);
  });
});

describe('generated corpus', () => {
  it('is a pure function of the seed', () => {
    expect(generateCorpus(3, 5)).toEqual(generateCorpus(3, 5));
    expect(generateCorpus(4, 5)).not.toEqual(generateCorpus(3, 5));
    expect(generateDocument(new Rng(9))).toBe(generateDocument(new Rng(9)));
  });

  it('uses only characters of the default alphabet', () => {
    const used = new Set(generateCorpus(1, 200).join(''));
    const allowed = new Set(CORPUS_CHARACTERS);
    for (const c of used) expect(allowed.has(c), JSON.stringify(c)).toBe(true);
    for (const c of CORPUS_CHARACTERS) expect(DEFAULT_ALPHABET).toContain(c);
    // Every listed character does show up, so the list is exact.
    expect(used.size).toBe(CORPUS_CHARACTERS.length);
  });

  it('repeats names within a document, so copying from the context pays off', () => {
    for (const doc of generateCorpus(2, 50)) {
      expect(doc.length).toBeGreaterThan(200);
      expect(doc.endsWith('\n')).toBe(true);
      const words = doc.match(/[A-Z][a-z]+/g)!.filter((w) => !['On', 'It', 'The', 'Who', 'What', 'Where', 'How', 'I'].includes(w));
      const seen = new Set<string>();
      let repeats = 0;
      for (const w of words) {
        if (seen.has(w)) repeats++;
        seen.add(w);
      }
      // Most name occurrences are of a name already seen in the same document.
      expect(repeats / words.length).toBeGreaterThan(0.6);
    }
    // Names are invented per document: two documents share few names.
    const [a, b] = generateCorpus(5, 2).map((d) => new Set(d.match(/[A-Z][a-z]{3,}/g)));
    const shared = [...a].filter((w) => b.has(w) && !['What', 'Where', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].includes(w));
    expect(shared.length).toBeLessThan(3);
  });
});

describe('language-modelling task', () => {
  const streams = generatedStreams(1, 40, tokenizer);
  const train = asString(streams.train);
  const heldOut = asString(streams.heldOut);

  it('cuts T+1-character windows of the training stream, deterministic from the generator', () => {
    const T = 64, B = 16;
    const tokens = textTrainingBatch(streams, B, T, new Rng(1));
    expect(tokens).toHaveLength(B * (T + 1));
    expect(textTrainingBatch(streams, B, T, new Rng(1))).toEqual(tokens);
    expect(textTrainingBatch(streams, B, T, new Rng(2))).not.toEqual(tokens);
    for (let b = 0; b < B; b++) {
      const window = tokens.subarray(b * (T + 1), (b + 1) * (T + 1));
      expect(train.indexOf(asString(window))).toBeGreaterThanOrEqual(0);
      for (const id of window) {
        expect(id).not.toBe(tokenizer.maskId);
        expect(id).not.toBe(CharSpecial.PAD);
        expect(id).not.toBe(CharSpecial.UNK);
        expect(id).toBeLessThan(tokenizer.size);
      }
    }
    // Documents start with [BOS] and are otherwise plain characters.
    expect(streams.train[0]).toBe(CharSpecial.BOS);
    expect(streams.train.filter((id) => id === CharSpecial.BOS)).toHaveLength(40);
    expect(streams.heldOut.filter((id) => id === CharSpecial.BOS)).toHaveLength(4);
  });

  it('evaluates on held-out windows without retrieval answers', () => {
    const task = createTask('text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: 1, documents: 40 } });
    expect(task.vocabSize).toBe(79);
    const T = 48, count = 30;
    const set = task.evalSet(count, T, 5, 17);
    expect(set.hasRetrieval).toBe(false);
    expect(set.bucketCount).toBe(1);
    expect(Array.from(set.buckets)).toEqual(new Array(count).fill(0));
    expect(set.segments.every((s) => s === 0)).toBe(true);
    expect(task.evalSet(count, T, 5, 17).tokens).toEqual(set.tokens);
    expect(task.evalSet(count, T, 5, 18).tokens).not.toEqual(set.tokens);
    for (let i = 0; i < count; i++) {
      const window = asString(set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1)));
      expect(heldOut.indexOf(window)).toBeGreaterThanOrEqual(0);
      expect(train.indexOf(window)).toBe(-1);
      expect(set.answerPositions[i]).toBe(T - 1);
      expect(set.answers[i]).toBe(set.tokens[i * (T + 1) + T]);
    }
    expect(task.decode!(task.encode!('Hi\r\nthere'))).toBe('Hi\nthere');
  });

  it('trains on a user text and holds out its last tenth', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(40); // 1800 characters
    const user = prepareUserText(text, tokenizer);
    expect(user.train.length + user.heldOut.length).toBe(text.length);
    expect(user.heldOut.length).toBe(180);
    expect(asString(user.heldOut)).toBe(asString(tokenizer.encode(text.slice(-180))));
    const task = createTask('text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'user', text } });
    const tokens = task.trainingBatch(new Rng(4), 8, 32);
    for (let b = 0; b < 8; b++) expect(text.slice(0, -180)).toContain(tokenizer.decode(tokens.subarray(b * 33, (b + 1) * 33)));
    expect(task.contextProblem(32)).toBeNull();
  });

  it('refuses a text too short for one window, naming the sizes', () => {
    const task = createTask('text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'user', text: 'short text. '.repeat(25) } });
    expect(task.contextProblem(29)).toBeNull(); // 300 characters: 270 + 30
    const problem = task.contextProblem(64);
    expect(problem).toMatch(/the text \(300 characters after normalisation\) is too short for context T = 64/);
    expect(problem).toMatch(/training part has 270, the held-out part 30/);
    expect(problem).toMatch(/at least 650 characters/);
    expect(() => task.trainingBatch(new Rng(0), 1, 64)).toThrow(/too short for context T = 64/);
    expect(() => task.evalSet(4, 64, 1, 0)).toThrow(/too short/);
    expect(textContextProblem(generatedStreams(1, 1, tokenizer), 4000)).toMatch(/generated corpus of 1 documents is too short/);
    expect(() => textEvalWindows(streams, 0, 16, 1)).toThrow(/count must be a positive integer/);
  });

  it.each([
    ['empty', '', /empty/],
    ['whitespace only', ' \r\n\t \n', /empty/],
    ['binary (NUL)', 'abc\u0000def', /looks binary: it contains a NUL character \(at offset 3\)/],
    ['binary (undecodable bytes)', 'ab\uFFFD\uFFFDcd\u0007'.repeat(50), /looks binary: 150 of its 350 characters/],
    ['too long', 'a'.repeat(MAX_TEXT_CHARACTERS + 1), /has 2000001 characters; at most 2000000/],
    ['outside the alphabet', 'Привет, мир! '.repeat(50), /characters \(\d+\.\d%\) are outside taskOptions\.alphabet/],
    ['not a string', 42, /must be a string/],
  ])('refuses a user text that is %s', (_, text, message) => {
    expect(() => prepareUserText(text, tokenizer)).toThrow(RangeError);
    expect(() => prepareUserText(text, tokenizer)).toThrow(message);
  });

  it('keeps a few unknown characters as [UNK]', () => {
    const text = 'Café au lait, s\'il vous plaît. '.repeat(30);
    const user = prepareUserText(text, tokenizer);
    expect(Array.from(user.train)).toContain(CharSpecial.UNK);
    expect(Array.from(user.train)).not.toContain(CharSpecial.MASK);
  });
});

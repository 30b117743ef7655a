import { describe, expect, it } from 'vitest';
import { needleVocab, tokenName } from '../src/data/needleVocab';
import { continuationRoom, parsePrompt, vocabularyMap } from '../src/ui/attention/prompt';

describe('prompts in the task vocabulary', () => {
  const vocab = needleVocab(16, 8, 8);
  const names = vocabularyMap(vocab.size, (id) => tokenName(vocab, id));

  it('maps every token name of the vocabulary to its id', () => {
    expect(names.size).toBe(vocab.size);
    expect(names.get('w3')).toBe(vocab.fillerStart + 3);
    expect(names.get('K5')).toBe(vocab.keyStart + 5);
    expect(names.get('V7')).toBe(vocab.valueStart + 7);
    expect(names.get(':')).toBe(3);
    expect(names.get('?')).toBe(4);
    expect(names.get('[MASK]')).toBe(vocab.maskId);
  });

  it('tokenises a space-separated prompt, whatever the spacing', () => {
    const parsed = parsePrompt('  w3 K5  : V7\t? K5 ', names);
    expect(parsed).toEqual({ ok: true, ids: [vocab.fillerStart + 3, vocab.keyStart + 5, 3, vocab.valueStart + 7, 4, vocab.keyStart + 5] });
  });

  it('reports the first unknown token, with a near miss when only the case differs', () => {
    const wrongCase = parsePrompt('w3 k5 : V7', names);
    expect(wrongCase.ok).toBe(false);
    if (!wrongCase.ok) {
      expect(wrongCase.index).toBe(1);
      expect(wrongCase.error).toMatch(/"k5" at position 2.*"K5"/);
    }
    const unknown = parsePrompt('w3 K99 x', names);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) {
      expect(unknown.index).toBe(1);
      expect(unknown.error).toMatch(/Unknown token "K99"/);
    }
  });

  it('refuses an empty prompt and one longer than the context', () => {
    expect(parsePrompt('   ', names).ok).toBe(false);
    const long = parsePrompt('w1 w2 w3', names, 2);
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.error).toMatch(/3 tokens.*holds 2/);
    expect(parsePrompt('w1 w2', names, 2).ok).toBe(true);
  });

  it('leaves room for the continuation up to position T', () => {
    expect(continuationRoom(16, 16)).toBe(1);
    expect(continuationRoom(14, 16)).toBe(3);
    expect(continuationRoom(2, 64)).toBe(8);
    expect(continuationRoom(2, 64, 100)).toBe(63);
    expect(continuationRoom(20, 16)).toBe(0);
  });
});

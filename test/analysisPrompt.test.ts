import { describe, expect, it } from 'vitest';
import { needleVocab, tokenName } from '../src/data/needleVocab';
import { characterCodec, continuationRoom, parsePrompt, vocabularyMap } from '../src/ui/attention/prompt';
import { createTask } from '../src/data/task';
import { taskView } from '../src/session/taskView';
import { presetConfig } from '../src/store/configCodec';

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

describe('prompts of a character task, with the vocabulary the Worker sends', () => {
  const config = presetConfig('text-s');
  const task = createTask(config.task, config.taskOptions);
  const view = taskView({ task, evalSet: task.evalSet(4, config.model.context, 1, 1) });
  const codec = characterCodec(view.characters!);

  it('is sent for character tasks only', () => {
    expect(view.characters!.texts).toHaveLength(task.vocabSize);
    expect(view.tokenNames[view.characters!.unknownId]).toBe('[UNK]');
    expect(view.bucketLabel).toBe('');
    const needle = createTask('needle', presetConfig('tiny').taskOptions as never);
    expect(taskView({ task: needle, evalSet: needle.evalSet(2, 32, 2, 1) }).characters).toBeNull();
  });

  it('encodes and decodes as the task itself does (normalised text, [UNK] outside the alphabet, specials by name)', () => {
    for (const text of ['Hello, world.', 'tab\there\r\nand caf\u0065\u0301 €', '', '[BOS] x']) {
      expect(codec.encode(text)).toEqual(task.encode!(text));
    }
    const ids = [0, 1, 2, 3, ...task.encode!('The end.'), task.vocabSize + 2];
    expect(codec.decode(ids)).toBe(task.decode!(ids));
  });
});

describe('the examples the Worker sends: their key-swapped twins', () => {
  it('retrieval examples carry the prompt with only the query key changed, to a key the prompt lacks; text has none', () => {
    const config = presetConfig('tiny');
    const needle = createTask('needle', config.taskOptions as never);
    const view = taskView({ task: needle, evalSet: needle.evalSet(8, config.model.context, 2, 1) });
    for (const ex of view.examples) {
      const swapped = ex.keySwapped!;
      const last = ex.prompt.length - 1;
      expect(swapped.slice(0, last)).toEqual(ex.prompt.slice(0, last));
      expect(swapped[last]).not.toBe(ex.prompt[last]);
      expect(needle.keyIds).toContain(swapped[last]);
      expect(ex.prompt).not.toContain(swapped[last]);
    }
    const text = createTask('text', presetConfig('text-s').taskOptions as never);
    const textView = taskView({ task: text, evalSet: text.evalSet(2, 64, 1, 1) });
    expect(textView.examples.every((ex) => ex.keySwapped === undefined)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_ALPHABET } from '../src/data/charTokenizer';
import { TASK_NAMES, createTask, validateTaskOptions, type TaskName } from '../src/data/task';
import { DEFAULT_PRESET_FOR_TASK, PRESETS, preset, type StudyConfig } from '../src/config/presets';
import { validateStudyConfig } from '../src/config/validate';
import { Rng } from '../src/util/random';

const MIN_CONTEXT: Record<TaskName, (c: StudyConfig) => number> = {
  needle: () => 5,
  recall: (c) => 3 * (c as StudyConfig<'recall'>).taskOptions.pairs + 2,
  multidoc: (c) => 4 * (c as StudyConfig<'multidoc'>).taskOptions.documents + 2,
  qa: (c) => {
    const o = (c as StudyConfig<'qa'>).taskOptions;
    return o.documents * (3 + o.answerMax) + o.answerMax + 1;
  },
  text: () => 1,
};

describe('presets of every task', () => {
  it.each(Object.keys(PRESETS))('%s is valid: vocabulary = model.vocabSize ≤ a few hundred, context ≥ the task minimum', (name) => {
    const config = preset(name);
    validateStudyConfig(config);
    const task = createTask(config.task, config.taskOptions);
    expect(task.name).toBe(config.task);
    expect(task.vocabSize).toBe(config.model.vocabSize);
    expect(task.vocabSize).toBeLessThanOrEqual(300);
    expect(task.maskId).toBe(config.model.maskId);
    expect(config.model.context).toBeGreaterThanOrEqual(MIN_CONTEXT[config.task](config));
    expect(task.contextProblem(config.model.context)).toBeNull();
    expect(config.evaluation.buckets).toBeLessThanOrEqual(task.maxBuckets);
    // A small evaluation set and a batch build, and never contain [MASK].
    const set = task.evalSet(Math.min(config.evaluation.count, 24), config.model.context, config.evaluation.buckets, config.evaluation.seed);
    const batch = task.trainingBatch(new Rng(1), 4, config.model.context);
    expect(batch).toHaveLength(4 * (config.model.context + 1));
    expect(batch).not.toContain(task.maskId);
    expect(set.tokens).not.toContain(task.maskId);
    expect(set.hasRetrieval).toBe(config.task !== 'text');
  });

  it('keeps the needle presets as they were', () => {
    expect(preset('tiny')).toMatchObject({ task: 'needle', taskOptions: { fillerWords: 16, keys: 8, values: 8 }, model: { vocabSize: 40, context: 16 } });
    expect(preset('needle-s')).toMatchObject({ task: 'needle', taskOptions: { fillerWords: 128, keys: 64, values: 64 }, model: { vocabSize: 264, context: 64 } });
    expect(preset('needle-long')).toMatchObject({ task: 'needle', model: { vocabSize: 264, context: 256 }, batch: 16, evaluation: { count: 250 } });
    expect(preset('needle-s').taskOptions).toEqual({ fillerWords: 128, keys: 64, values: 64 });
  });

  it('has a default preset for each task, of that task', () => {
    for (const name of TASK_NAMES) expect(preset(DEFAULT_PRESET_FOR_TASK[name]).task).toBe(name);
    expect(DEFAULT_PRESET_FOR_TASK.needle).toBe('tiny');
  });

  it('ties a preset\'s options to its task at compile time', () => {
    const recall: StudyConfig<'recall'> = { ...preset('recall-s') as StudyConfig<'recall'> };
    // @ts-expect-error needle options lack `pairs`: not RecallTaskOptions.
    const wrong: StudyConfig<'recall'> = { ...recall, taskOptions: { fillerWords: 8, keys: 8, values: 8 } };
    expect(() => validateStudyConfig(wrong)).toThrow(/taskOptions\.pairs must be a positive integer for the recall task, got undefined/);
  });
});

describe('task options validation names the field', () => {
  it.each([
    ['needle', { fillerWords: 0, keys: 8, values: 8 }, /taskOptions\.fillerWords must be a positive integer for the needle task, got 0/],
    ['recall', { fillerWords: 8, keys: 8, values: 8 }, /taskOptions\.pairs must be a positive integer for the recall task, got undefined/],
    ['recall', { fillerWords: 8, keys: 3, values: 8, pairs: 4 }, /taskOptions\.keys \(3\) must be ≥ taskOptions\.pairs \(4\)/],
    ['recall', { fillerWords: 8, keys: 8, values: 2, pairs: 4 }, /taskOptions\.values \(2\) must be ≥ taskOptions\.pairs \(4\)/],
    ['multidoc', { fillerWords: 8, keys: 8, values: 8, documents: 1.5 }, /taskOptions\.documents must be a positive integer for the multidoc task, got 1\.5/],
    ['multidoc', { fillerWords: 8, keys: 4, values: 8, documents: 6 }, /taskOptions\.keys \(4\) must be ≥ taskOptions\.documents \(6\)/],
    ['text', { alphabet: '', source: { kind: 'generated', seed: 1, documents: 10 } }, /taskOptions\.alphabet must not be empty/],
    ['text', { alphabet: 'abc', source: { kind: 'generated', seed: 1, documents: 10 } }, /taskOptions\.alphabet lacks 58 character\(s\) of the generated corpus/],
    ['text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: -1, documents: 10 } }, /taskOptions\.source\.seed must be an integer/],
    ['text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: 1, documents: 1e6 } }, /taskOptions\.source\.documents must be an integer in 1\.\.10000/],
    ['text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'web', url: 'x' } }, /taskOptions\.source\.kind must be "generated" or "user", got "web"/],
    ['text', { alphabet: DEFAULT_ALPHABET }, /taskOptions\.source must be/],
    ['text', { alphabet: DEFAULT_ALPHABET, source: { kind: 'user' } }, /taskOptions\.source\.text must be a string/],
    ['qa', { fillerWords: 8, keys: 8, values: 8, documents: 4, answerMin: 3 }, /taskOptions\.answerMax must be a positive integer for the qa task, got undefined/],
    ['qa', { fillerWords: 8, keys: 8, values: 8, documents: 4, answerMin: 4, answerMax: 3 }, /taskOptions\.answerMax \(3\) must be ≥ taskOptions\.answerMin \(4\)/],
    ['poetry', {}, /task must be one of needle, recall, multidoc, qa, text, got "poetry"/],
    ['needle', null, /taskOptions must be an object/],
  ])('%s %j', (name, options, message) => {
    expect(() => validateTaskOptions(name, options)).toThrow(message);
    if (name !== 'poetry') expect(() => createTask(name as TaskName, options as never)).toThrow(message);
  });

  it('checks the study against the task: context, buckets, vocabulary, user text', () => {
    expect(() => validateStudyConfig({ ...preset('recall-s'), model: { ...preset('recall-s').model, context: 13 } }))
      .toThrow(/model\.context: the recall task with taskOptions\.pairs = 4 needs a context T ≥ 14/);
    expect(() => validateStudyConfig({ ...preset('multidoc-s'), model: { ...preset('multidoc-s').model, context: 20 } }))
      .toThrow(/model\.context: the multidoc task with taskOptions\.documents = 6 needs a context T ≥ 26/);
    expect(() => validateStudyConfig({ ...preset('tiny'), model: { ...preset('tiny').model, context: 4 } }))
      .toThrow(/model\.context: the needle task needs a context T ≥ 5, got 4/);
    expect(() => validateStudyConfig({ ...preset('recall-s'), evaluation: { ...preset('recall-s').evaluation, buckets: 5 } }))
      .toThrow(/evaluation\.buckets \(5\) must be ≤ taskOptions\.pairs \(4\) for the recall task/);
    expect(() => validateStudyConfig({ ...preset('multidoc-s'), evaluation: { ...preset('multidoc-s').evaluation, buckets: 7 } }))
      .toThrow(/evaluation\.buckets \(7\) must be ≤ taskOptions\.documents \(6\)/);
    expect(() => validateStudyConfig({ ...preset('text-s'), model: { ...preset('text-s').model, vocabSize: 264 } }))
      .toThrow(/model\.vocabSize \(264\) must equal the text task's vocabulary \(79\)/);
    const text = preset('text-s') as StudyConfig<'text'>;
    const withText = (t: string): StudyConfig<'text'> => ({ ...text, taskOptions: { ...text.taskOptions, source: { kind: 'user', text: t } } });
    expect(() => validateStudyConfig(withText('One short line.'))).toThrow(/model\.context: the text \(15 characters after normalisation\) is too short for context T = 64/);
    expect(() => validateStudyConfig(withText('\u0000\u0001'))).toThrow(/looks binary/);
    expect(() => validateStudyConfig(withText(''))).toThrow(/empty/);
    expect(() => validateStudyConfig(withText('Plenty of words here. '.repeat(40)))).not.toThrow();
  });
});

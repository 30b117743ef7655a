/**
 * The one study-config schema (src/config/schema.ts) and every entry point that uses it: the message of
 * each refusal names the field, shows the value and is one line; the limits are the documented ones; the
 * CLI, the URL codec, the engines, study checkpoints and safetensors study metadata all refuse through it;
 * a model too large for the adapter is refused before allocation and the page's store shows the numbers.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  CONFIG_LIMITS, ConfigError, parseModelConfig, parsePresetName, parseStudyConfig, show, studyConfigIssue,
} from '../src/config/schema';
import { checkedStudyConfig, validateStudyConfig } from '../src/config/validate';
import { PRESETS, preset, type StudyConfig } from '../src/config/presets';
import { UsageError, parseCompareArgs } from '../src/cli/args';
import { ConfigEditError, applyEdit, configFromQuery, presetConfig } from '../src/store/configCodec';
import { Study } from '../src/engine/gpuStudy';
import { CpuStudy } from '../src/engine/cpuStudy';
import { StudyCheckpointError, decodeStudyCheckpoint, encodeStudyCheckpoint } from '../src/engine/checkpoint';
import { METADATA_KEYS, readSafetensors, tryReadSafetensors, writeSafetensors } from '../src/export/safetensors';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { TrainingSession } from '../src/session/session';
import { applyMessages, useRuns } from '../src/store/runs';
import type { FromTrainer } from '../src/session/protocol';
import { testContext } from './gpuContext';

const tiny = (): StudyConfig => preset('tiny');
/** A qa study (no preset of its own here): multidoc-s's model and evaluation, 6 documents, phrases of 3..6 tokens. */
const qaConfig = (): StudyConfig => ({
  ...preset('multidoc-s'), task: 'qa', taskOptions: { fillerWords: 128, keys: 64, values: 64, documents: 6, answerMin: 3, answerMax: 6 },
}) as StudyConfig;

/** The message validateStudyConfig throws for `config` ('' when it accepts it). */
function refusal(config: unknown): string {
  try {
    validateStudyConfig(config as StudyConfig);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/\n/);
    expect(message.length).toBeLessThan(400);
    return message;
  }
}

function edit(mutate: (c: Record<string, any>) => void, base: StudyConfig = tiny()): StudyConfig {
  const c = structuredClone(base) as unknown as Record<string, any>;
  mutate(c);
  return c as unknown as StudyConfig;
}

describe('the study-config schema: one message naming the field and showing the value', () => {
  it.each([
    // Wrong types
    ['a string learning rate', (c) => { c.optimizer.lr = '0.01'; }, 'optimizer.lr must be a finite number > 0, got "0.01"', 'optimizer.lr'],
    ['a boolean batch', (c) => { c.batch = true; }, 'batch must be a positive integer, got true', 'batch'],
    ['a model that is a list', (c) => { c.model = [1, 2]; }, /^model\.vocabSize must be a positive integer, got undefined$/, 'model.vocabSize'],
    ['a missing field', (c) => { delete c.steps; }, 'steps must be a positive integer, got undefined', 'steps'],
    ['a misspelt field', (c) => { c.optimizer.lR = 1; }, /^optimizer\.lR is not a known field \(known: lr, warmupSteps/, 'optimizer.lR'],
    ['a field name with a newline', (c) => { c['x\ny'] = 1; }, /^\["x\\ny"\] is not a known field/, '["x\\ny"]'],
    ['sharedMask as text', (c) => { c.sharedMask = 'yes'; }, 'sharedMask must be true or false, got "yes"', 'sharedMask'],
    ['arms as text', (c) => { c.arms = '0,0.15'; }, 'arms must be a list of mask ratios, got "0,0.15"', 'arms'],
    // NaN, Infinity, negative or zero
    ['a NaN learning rate', (c) => { c.optimizer.lr = NaN; }, 'optimizer.lr must be a finite number > 0, got NaN', 'optimizer.lr'],
    ['an infinite learning rate', (c) => { c.optimizer.lr = Infinity; }, 'optimizer.lr must be a finite number > 0, got Infinity', 'optimizer.lr'],
    ['a zero learning rate', (c) => { c.optimizer.lr = 0; }, 'optimizer.lr must be a finite number > 0, got 0', 'optimizer.lr'],
    ['a negative learning rate', (c) => { c.optimizer.lr = -1e-3; }, 'optimizer.lr must be a finite number > 0, got -0.001', 'optimizer.lr'],
    ['zero steps', (c) => { c.steps = 0; }, 'steps must be a positive integer, got 0', 'steps'],
    ['negative steps', (c) => { c.steps = -5; }, 'steps must be a positive integer, got -5', 'steps'],
    ['fractional steps', (c) => { c.steps = 10.5; }, 'steps must be a positive integer, got 10.5', 'steps'],
    ['infinite steps', (c) => { c.steps = Infinity; }, 'steps must be a positive integer, got Infinity', 'steps'],
    ['a NaN mask ratio', (c) => { c.arms = [0, NaN]; }, 'arms[1]: a mask ratio must be in [0, 1), got NaN', 'arms[1]'],
    ['a mask ratio of 1', (c) => { c.arms = [0, 1]; }, 'arms[1]: a mask ratio must be in [0, 1), got 1', 'arms[1]'],
    ['no arms', (c) => { c.arms = []; }, 'arms must list at least one mask ratio', 'arms'],
    ['an infinite eps', (c) => { c.optimizer.eps = Infinity; }, 'optimizer.eps must be a finite number > 0, got Infinity', 'optimizer.eps'],
    ['beta2 of 1', (c) => { c.optimizer.beta2 = 1; }, 'optimizer.beta2 must be in [0, 1), got 1', 'optimizer.beta2'],
    ['a negative gradient clip', (c) => { c.optimizer.maxGradNorm = -1; }, /^optimizer\.maxGradNorm must be a finite number ≥ 0 \(0 = no clipping\), got -1$/, 'optimizer.maxGradNorm'],
    ['a negative base seed', (c) => { c.baseSeed = -1; }, 'baseSeed must be an integer ≥ 0, got -1', 'baseSeed'],
    ['a fractional evaluation seed', (c) => { c.evaluation.seed = 0.5; }, 'evaluation.seed must be an integer in 0..4294967295, got 0.5', 'evaluation.seed'],
    ['ropeBase 1', (c) => { c.model.ropeBase = 1; }, 'model.ropeBase must be a finite number > 1, got 1', 'model.ropeBase'],
    // The model's shape
    ['heads not dividing dModel', (c) => { c.model.heads = 3; }, 'model.heads (3) must divide dModel (32)', 'model.heads'],
    ['an odd head dimension', (c) => { c.model.dModel = 30; c.model.heads = 2; }, 'model.heads (2) must leave an even head dimension for RoPE: dModel / heads = 15', 'model.heads'],
    ['a [MASK] id outside the vocabulary', (c) => { c.model.maskId = 40; }, 'model.maskId must be an id below vocabSize 40, got 40', 'model.maskId'],
    // Limits
    ['context beyond the limit', (c) => { c.model.context = 4097; }, 'model.context must be at most 4096, got 4097', 'model.context'],
    ['an absurd vocabulary', (c) => { c.model.vocabSize = 1e9; }, 'model.vocabSize must be at most 65536, got 1000000000', 'model.vocabSize'],
    ['an absurd width', (c) => { c.model.dModel = 8192; }, 'model.dModel must be at most 4096, got 8192', 'model.dModel'],
    ['an absurd MLP', (c) => { c.model.dFF = 1e6; }, 'model.dFF must be at most 16384, got 1000000', 'model.dFF'],
    ['too many layers', (c) => { c.model.layers = 65; }, 'model.layers must be at most 64, got 65', 'model.layers'],
    ['an absurd batch', (c) => { c.batch = 4097; }, 'batch must be at most 4096, got 4097', 'batch'],
    ['absurd steps', (c) => { c.steps = 1e8; }, 'steps must be at most 10000000, got 100000000', 'steps'],
    ['too many seeds', (c) => { c.seedsPerArm = 65; }, 'seedsPerArm must be at most 64, got 65', 'seedsPerArm'],
    ['too many arms', (c) => { c.arms = Array.from({ length: 17 }, (_, i) => i / 20); }, 'arms may list at most 16 mask ratios, got 17', 'arms'],
    ['too many evaluation examples', (c) => { c.evaluation.count = 10_001; }, 'evaluation.count must be at most 10000, got 10001', 'evaluation.count'],
    ['a 2^53 warm-up', (c) => { c.optimizer.warmupSteps = 2 ** 53; }, 'optimizer.warmupSteps must be at most 10000000, got 9007199254740992', 'optimizer.warmupSteps'],
    // Task and task options
    ['an unknown task', (c) => { c.task = 'poetry'; }, 'task must be one of needle, recall, multidoc, qa, text, got "poetry"', 'task'],
    ['a task that is not a string', (c) => { c.task = 7; }, 'task must be one of needle, recall, multidoc, qa, text, got 7', 'task'],
    ['needle options with an extra field', (c) => { c.taskOptions.pairs = 4; }, /^taskOptions\.pairs is not a known field/, 'taskOptions.pairs'],
    ['huge task words', (c) => { c.taskOptions.fillerWords = 2 ** 31; }, 'taskOptions.fillerWords must be at most 65536 for the needle task, got 2147483648', 'taskOptions.fillerWords'],
    ['recall keys fewer than pairs', (c) => { Object.assign(c, preset('recall-s')); c.taskOptions.keys = 3; },
      'taskOptions.keys (3) must be ≥ taskOptions.pairs (4): the pairs of one block have distinct keys', 'taskOptions.keys'],
    ['multidoc values fewer than documents', (c) => { Object.assign(c, preset('multidoc-s')); c.taskOptions.values = 5; },
      'taskOptions.values (5) must be ≥ taskOptions.documents (6): the documents of one block have distinct values', 'taskOptions.values'],
    ['qa values fewer than the longest phrase', (c) => { Object.assign(c, qaConfig()); c.taskOptions.documents = 4; c.taskOptions.values = 5; },
      'taskOptions.values (5) must be ≥ taskOptions.answerMax (6): the words of one phrase are distinct', 'taskOptions.values'],
    ['qa values fewer than documents', (c) => { Object.assign(c, qaConfig()); c.taskOptions.values = 3; c.taskOptions.answerMax = 3; },
      'taskOptions.values (3) must be ≥ taskOptions.documents (6): the phrases of one block have distinct first words', 'taskOptions.values'],
    ['qa answerMax below answerMin', (c) => { Object.assign(c, qaConfig()); c.taskOptions.answerMax = 2; },
      'taskOptions.answerMax (2) must be ≥ taskOptions.answerMin (3) for the qa task', 'taskOptions.answerMax'],
    ['qa without answerMin', (c) => { Object.assign(c, qaConfig()); delete c.taskOptions.answerMin; },
      'taskOptions.answerMin must be a positive integer for the qa task, got undefined', 'taskOptions.answerMin'],
    ['qa keys fewer than documents', (c) => { Object.assign(c, qaConfig()); c.taskOptions.keys = 4; },
      'taskOptions.keys (4) must be ≥ taskOptions.documents (6): the documents of one block have distinct keys', 'taskOptions.keys'],
    ['too many recall pairs', (c) => { Object.assign(c, preset('recall-s')); c.taskOptions.pairs = 1025; },
      'taskOptions.pairs must be at most 1024 for the recall task, got 1025', 'taskOptions.pairs'],
    ['an alphabet without the corpus\'s characters', (c) => { Object.assign(c, preset('text-s')); c.taskOptions.alphabet = 'abcdefghijklmnopqrstuvwxyz'; },
      /^taskOptions\.alphabet lacks 36 character\(s\) of the generated corpus: " \\n/, 'taskOptions.alphabet'],
    ['an alphabet listing a character twice', (c) => { Object.assign(c, preset('text-s')); c.taskOptions.alphabet += 'a'; },
      'taskOptions.alphabet lists "a" twice', 'taskOptions.alphabet'],
    ['an unknown text source', (c) => { Object.assign(c, preset('text-s')); c.taskOptions.source = { kind: 'web', url: 'x' }; },
      'taskOptions.source.kind must be "generated" or "user", got "web"', 'taskOptions.source.kind'],
    ['a corpus of a million documents', (c) => { Object.assign(c, preset('text-s')); c.taskOptions.source.documents = 1e6; },
      'taskOptions.source.documents must be an integer in 1..10000, got 1000000', 'taskOptions.source.documents'],
    ['a user text that is not a string', (c) => { Object.assign(c, preset('text-s')); c.taskOptions.source = { kind: 'user', text: 42 }; },
      'taskOptions.source.text must be a string, got 42', 'taskOptions.source.text'],
  ] as [string, (c: Record<string, any>) => void, string | RegExp, string][])('refuses %s', (_, mutate, message, path) => {
    const config = edit(mutate);
    const text = refusal(config);
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
    expect(studyConfigIssue(config)?.path).toBe(path);
  });

  it('refuses what is not an object at all, naming the whole config', () => {
    expect(refusal(undefined)).toBe('the study config must be an object, got undefined');
    expect(refusal(null)).toBe('the study config must be an object, got null');
    expect(refusal([tiny()])).toBe('the study config must be an object, got an array of 1');
    expect(refusal('{"task":"needle"}')).toBe('the study config must be an object, got "{\\"task\\":\\"needle\\"}"');
  });

  it('checks what needs the built task after the schema: vocabulary, [MASK] id, context, buckets, the text', () => {
    expect(refusal(edit((c) => { c.model.vocabSize = 50; }))).toBe('model.vocabSize (50) must equal the needle task\'s vocabulary (40)');
    expect(refusal(edit((c) => { c.model.maskId = 3; }))).toBe('model.maskId must be the task\'s [MASK] id 2, got 3');
    expect(refusal(edit((c) => { c.model.context = 4; }))).toMatch(/^model\.context: the needle task needs a context T ≥ 5, got 4$/);
    expect(refusal(edit((c) => { c.evaluation.buckets = 5; }, preset('recall-s')))).toMatch(/^evaluation\.buckets \(5\) must be ≤ taskOptions\.pairs \(4\)/);
    const text = edit((c) => { c.taskOptions.source = { kind: 'user', text: 'x'.repeat(2_000_001) }; }, preset('text-s'));
    expect(refusal(text)).toBe('taskOptions.source.text has 2000001 characters; at most 2000000 are accepted');
  });

  it('accepts every preset, and each size at its limit (schema only)', () => {
    for (const name of Object.keys(PRESETS)) expect(studyConfigIssue(preset(name)), name).toBeNull();
    const atLimits = edit((c) => {
      Object.assign(c.model, { vocabSize: CONFIG_LIMITS.vocabSize, dModel: CONFIG_LIMITS.dModel, heads: 2, dFF: CONFIG_LIMITS.dFF,
        layers: CONFIG_LIMITS.layers, context: CONFIG_LIMITS.context });
      Object.assign(c, { batch: CONFIG_LIMITS.batch, steps: CONFIG_LIMITS.steps, seedsPerArm: CONFIG_LIMITS.seedsPerArm, baseSeed: CONFIG_LIMITS.seed });
      c.arms = Array.from({ length: CONFIG_LIMITS.arms }, (_, i) => i / CONFIG_LIMITS.arms);
      c.evaluation = { every: CONFIG_LIMITS.steps, count: CONFIG_LIMITS.evalCount, buckets: CONFIG_LIMITS.evalBuckets, seed: CONFIG_LIMITS.seed };
    });
    expect(studyConfigIssue(atLimits)).toBeNull();
    expect(parseStudyConfig(atLimits)).toBe(atLimits);
  });

  it('has the documented limits (README "Reliability")', () => {
    expect(CONFIG_LIMITS).toEqual({
      vocabSize: 65_536, context: 4096, dModel: 4096, dFF: 16_384, layers: 64, batch: 4096, steps: 10_000_000, seedsPerArm: 64,
      arms: 16, evalCount: 10_000, evalBuckets: 1024, taskWords: 65_536, taskItems: 1024, seed: 0xffff_ffff,
    });
  });

  it('shows values short and as plain text', () => {
    expect(show('<img src=x onerror=alert(1)>'.repeat(3))).toBe(JSON.stringify(`${'<img src=x onerror=alert(1)>'.repeat(3).slice(0, 40)}…`));
    expect(show('a\nb')).toBe('"a\\nb"');
    expect([show(NaN), show(-0), show(undefined), show(null), show({}), show([1, 2]), show(10n ** 40n), show(Symbol('x'))])
      .toEqual(['NaN', '-0', 'undefined', 'null', 'an object', 'an array of 2', 'a big integer', 'a symbol']);
  });

  it('reads a model config and a preset name on their own', () => {
    expect(parseModelConfig(tiny().model)).toEqual(tiny().model);
    expect(() => parseModelConfig({ ...tiny().model, heads: 3 })).toThrow('model.heads (3) must divide dModel (32)');
    expect(() => parseModelConfig(null)).toThrow('the model config must be an object of model sizes, got null');
    expect(parsePresetName('needle-s')).toBe('needle-s');
    for (const name of ['huge', '__proto__', 'constructor', 'toString', '']) {
      expect(() => parsePresetName(name)).toThrow(`unknown preset ${JSON.stringify(name)} (known: ${Object.keys(PRESETS).join(', ')})`);
    }
  });
});

describe('every entry point refuses through the schema', () => {
  const badLr = edit((c) => { c.optimizer.lr = Number.NaN; });
  const message = 'optimizer.lr must be a finite number > 0, got NaN';

  it('Study.create and CpuStudy.create, before touching the GPU', async () => {
    // No GPU context at all: the config is refused before it could be used.
    await expect(Study.create({} as never, badLr)).rejects.toThrow(message);
    await expect(Promise.resolve().then(() => CpuStudy.create(badLr))).rejects.toThrow(message);
  });

  it('a study checkpoint whose header holds an invalid config', () => {
    const c = edit((x) => { x.model = { ...x.model, layers: 1 }; });
    const P = parameterLayout(c.model).P;
    const R = c.arms.length * c.seedsPerArm;
    const state = {
      config: c, step: 0, dataRngStates: [1], maskRngStates: [1, 2], frozen: [false, false],
      params: new Float32Array(R * P), m: new Float32Array(R * P), v: new Float32Array(R * P),
    };
    expect(decodeStudyCheckpoint(encodeStudyCheckpoint({ state, extra: null })).state.config).toEqual(c);
    const bad = encodeStudyCheckpoint({ state: { ...state, config: { ...c, steps: 1e9 } }, extra: null });
    expect(() => decodeStudyCheckpoint(bad)).toThrow(StudyCheckpointError);
    expect(() => decodeStudyCheckpoint(bad)).toThrow('its config is invalid (steps must be at most 10000000, got 1000000000)');
    // A header whose config is not even an object: the schema's message, not a TypeError's.
    const none = encodeStudyCheckpoint({ state: { ...state, config: undefined as never }, extra: null });
    expect(() => decodeStudyCheckpoint(none)).toThrow('its config is invalid (the study config must be an object, got undefined)');
  });

  it('a safetensors file whose study metadata is invalid', () => {
    const study = tiny();
    const file = writeSafetensors(study.model, initParameters(study.model, parameterLayout(study.model), 1), { study: badLr });
    expect(tryReadSafetensors(file, { checkStudy: checkedStudyConfig })).toEqual({ ok: false, message: 'The study config in the metadata is invalid: optimizer.lr must be a finite number > 0, got null.' });
    const good = writeSafetensors(study.model, initParameters(study.model, parameterLayout(study.model), 1), { study });
    expect(readSafetensors(good, { checkStudy: checkedStudyConfig }).study).toEqual(study);
    expect(METADATA_KEYS.studyConfig).toBe('meap_study_config');
  });

  it('the URL codec: a preset name must be one of PRESETS\' own (no "__proto__" or "constructor")', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(() => presetConfig(name)).toThrow(ConfigEditError);
      expect(() => applyEdit('tiny', tiny(), 'preset', name)).toThrow(/^unknown preset \(known: /);
      const parsed = configFromQuery(`?preset=${name}&steps=77`);
      expect(parsed.notices).toEqual([`Ignored preset="${name}" from the link: unknown preset (known: ${Object.keys(PRESETS).join(', ')}).`]);
      expect(parsed.config.steps).toBe(77);
      validateStudyConfig(parsed.config);
    }
  });

  it('the URL codec: a value that is not a number is named as such, not as out of range', () => {
    expect(configFromQuery('?steps=abc&lr=%20&batch=1e999').notices).toEqual([
      'Ignored steps="abc" from the link: steps must be a number in decimal notation.',
      'Ignored batch="1e999" from the link: batch must be a number in decimal notation.',
      'Ignored lr=" " from the link: lr must be a number in decimal notation.',
    ]);
  });

  it('the URL codec: every edit ends in the schema', () => {
    // A config that already breaks the schema cannot be edited into the page's state.
    const broken = edit((c) => { c.optimizer.lr = Number.NaN; });
    expect(() => applyEdit('tiny', broken, 'steps', 100)).toThrow(ConfigEditError);
    expect(() => applyEdit('tiny', broken, 'steps', 100)).toThrow(message);
    expect(applyEdit('tiny', tiny(), 'steps', 100).steps).toBe(100);
  });
});

describe('the CLI: every invalid argument is a UsageError with a one-line reason', () => {
  it.each([
    [['--steps', '0'], '--steps: steps must be a positive integer, got 0'],
    [['--steps', '1e8'], '--steps: steps must be at most 10000000, got 100000000'],
    [['--steps', '2.5'], '--steps must be an integer, got "2.5"'],
    [['--steps', ''], '--steps must be an integer, got ""'],
    [['--steps', 'Infinity'], '--steps must be an integer, got "Infinity"'],
    [['--seeds', '0'], '--seeds: seedsPerArm must be a positive integer, got 0'],
    [['--seeds', '65'], '--seeds: seedsPerArm must be at most 64, got 65'],
    [['--batch=-3'], '--batch: batch must be a positive integer, got -3'],
    [['--batch', '-3'], /^Option '--batch' argument is ambiguous\. .* use '--batch=-XYZ'\.$/],
    [['--batch', '5000'], '--batch: batch must be at most 4096, got 5000'],
    [['--lr', '0'], '--lr: optimizer.lr must be a finite number > 0, got 0'],
    [['--lr=-1'], '--lr: optimizer.lr must be a finite number > 0, got -1'],
    [['--lr', 'NaN'], '--lr must be a number, got "NaN"'],
    [['--lr', '1e999'], '--lr must be a number, got "1e999"'],
    [['--mask-ratio', '1'], '--mask-ratio: arms[1]: a mask ratio must be in [0, 1), got 1'],
    [['--mask-ratio=-0.1'], '--mask-ratio: arms[1]: a mask ratio must be in [0, 1), got -0.1'],
    [['--mask-ratios', '0,,0.1'], '--mask-ratios must be a number, got ""'],
    [['--mask-ratios', Array.from({ length: 17 }, (_, i) => i / 20).join(',')], '--mask-ratios: arms may list at most 16 mask ratios, got 17'],
    [['--base-seed=-1'], '--base-seed: baseSeed must be an integer ≥ 0, got -1'],
    [['--base-seed', String(2 ** 32)], '--base-seed: baseSeed must be at most 4294967295, got 4294967296'],
    [['--eval-every', '0'], '--eval-every: evaluation.every must be a positive integer, got 0'],
    [['--eval-count', '20000'], '--eval-count: evaluation.count must be at most 10000, got 20000'],
    [['--preset', 'huge'], /^--preset: unknown preset "huge" \(known: tiny, /],
    [['--preset', '__proto__'], /^--preset: unknown preset "__proto__" \(known: /],
    [['--preset', 'constructor'], /^--preset: unknown preset "constructor" \(known: /],
    [['--task', 'poetry'], '--task must be one of needle, recall, multidoc, qa, text, got "poetry"'],
    [['--task', '__proto__'], '--task must be one of needle, recall, multidoc, qa, text, got "__proto__"'],
    [['--steps'], /^Option '--steps <value>' argument missing$/],
    [['positional'], /^Unexpected argument 'positional'/],
    [['--bogus'], /^Unknown option '--bogus'/],
  ])('%j', (argv, reason) => {
    let error: unknown;
    try {
      parseCompareArgs(argv as string[]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    const text = (error as Error).message;
    expect(text).not.toMatch(/\n/);
    if (typeof reason === 'string') expect(text).toBe(reason);
    else expect(text).toMatch(reason);
  });

  it('exits with status 2 and exactly one line, no stack trace (spawned)', () => {
    for (const [argv, line] of [
      [['--lr', '0'], 'compare: --lr: optimizer.lr must be a finite number > 0, got 0'],
      [['--preset', '__proto__'], `compare: --preset: unknown preset "__proto__" (known: ${Object.keys(PRESETS).join(', ')})`],
    ] as const) {
      const result = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', ...argv], { encoding: 'utf8', timeout: 120_000 });
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('compare:'))).toEqual([line]);
      expect(result.stdout).not.toMatch(/steps, batch/);
    }
  });
});

describe('limits before allocation reach the page', () => {
  it('a study within the schema but beyond the adapter is refused with both numbers, nothing allocated, and the runs store shows it', async () => {
    const ctx = await testContext();
    // Valid for the schema (context and batch at their limits), far beyond any adapter's per-buffer limit.
    const huge = edit((c) => { c.model.context = CONFIG_LIMITS.context; c.batch = CONFIG_LIMITS.batch; });
    validateStudyConfig(huge);
    const messages: FromTrainer[] = [];
    const session = new TrainingSession({ post: (m) => { messages.push(m); }, createContext: async () => ctx });
    await session.handle({ type: 'init', allowCpuFallback: false });
    const before = ctx.arena.created;
    await session.handle({ type: 'configure', config: huge });
    expect(ctx.arena.created, 'no buffer was created').toBe(before);
    const errors = messages.filter((m): m is Extract<FromTrainer, { type: 'error' }> => m.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^The model's largest buffer \(probs\.0\) needs [\d.]+ MiB, but this GPU allows [\d.]+ MiB per buffer\./);
    const [needed, allowed] = [...errors[0].message.matchAll(/([\d.]+) MiB/g)].map((m) => Number(m[1]));
    expect(needed).toBeGreaterThan(allowed);
    expect(messages.some((m) => m.type === 'state' && m.state === 'failed')).toBe(true);
    // The page's runs store keeps the message for the run bar.
    const shown = applyMessages(useRuns.getState(), messages);
    expect(shown.error).toBe(errors[0].message);
  });
});

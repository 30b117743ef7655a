/**
 * Property tests (fast-check, fixed seeds, bounded runs) of everything that turns outside input into a
 * StudyConfig:
 *   - validateStudyConfig on arbitrary JSON-ish configs: it accepts only configs that really work (an
 *     independent check of the documented rules, then the task is built and produces batches, an evaluation
 *     set and masks), and otherwise throws a RangeError whose message is one non-empty line naming a field;
 *   - the URL codec on arbitrary query strings: never throws, always yields a valid config within the page's
 *     bounds, notices are short one-line plain strings, and the link of the result reads back to it;
 *   - the CLI parser on arbitrary argument lists: a valid config or a one-line UsageError, nothing else.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validateStudyConfig } from '../src/config/validate';
import { CONFIG_LIMITS, ConfigError } from '../src/config/schema';
import { preset, type StudyConfig } from '../src/config/presets';
import { TASK_NAMES, createTask } from '../src/data/task';
import { needleVocab } from '../src/data/needleVocab';
import { DEFAULT_ALPHABET } from '../src/data/charTokenizer';
import { fillMask, maskCount } from '../src/data/maskPolicy';
import { parameterLayout } from '../src/model/layout';
import { Rng } from '../src/util/random';
import { FIELDS, LIMITS, configFromQuery, configToQuery, presetNames } from '../src/store/configCodec';
import { UsageError, parseCompareArgs } from '../src/cli/args';

const L = CONFIG_LIMITS;
const RUNS = 300;

// ---------------------------------------------------------------------------------------------------------
// The oracle: what an accepted config must satisfy, checked independently of the schema.

const isInt = (x: unknown, min: number, max: number) => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const isNum = (x: unknown, ok: (x: number) => boolean) => typeof x === 'number' && Number.isFinite(x) && ok(x);

function expectReallyValid(c: StudyConfig): void {
  const m = c.model;
  const rules: [string, boolean][] = [
    ['task', (TASK_NAMES as readonly string[]).includes(c.task)],
    ['vocabSize', isInt(m.vocabSize, 1, L.vocabSize)], ['layers', isInt(m.layers, 1, L.layers)], ['dModel', isInt(m.dModel, 1, L.dModel)],
    ['heads', isInt(m.heads, 1, m.dModel) && m.dModel % m.heads === 0 && (m.dModel / m.heads) % 2 === 0],
    ['dFF', isInt(m.dFF, 1, L.dFF)], ['context', isInt(m.context, 1, L.context)], ['maskId', isInt(m.maskId, 0, m.vocabSize - 1)],
    ['ropeBase', isNum(m.ropeBase, (x) => x > 1)], ['normEps', isNum(m.normEps, (x) => x > 0)],
    ['batch', isInt(c.batch, 1, L.batch)], ['steps', isInt(c.steps, 1, L.steps)], ['seedsPerArm', isInt(c.seedsPerArm, 1, L.seedsPerArm)],
    ['baseSeed', isInt(c.baseSeed, 0, L.seed)], ['sharedMask', typeof c.sharedMask === 'boolean'],
    ['arms', Array.isArray(c.arms) && c.arms.length >= 1 && c.arms.length <= L.arms && c.arms.every((p) => isNum(p, (x) => x >= 0 && x < 1))],
    ['lr', isNum(c.optimizer.lr, (x) => x > 0)], ['warmupSteps', isInt(c.optimizer.warmupSteps, 0, L.steps)],
    ['minLrRatio', isNum(c.optimizer.minLrRatio, (x) => x >= 0 && x <= 1)], ['weightDecay', isNum(c.optimizer.weightDecay, (x) => x >= 0)],
    ['beta1', isNum(c.optimizer.beta1, (x) => x >= 0 && x < 1)], ['beta2', isNum(c.optimizer.beta2, (x) => x >= 0 && x < 1)],
    ['eps', isNum(c.optimizer.eps, (x) => x > 0)], ['maxGradNorm', isNum(c.optimizer.maxGradNorm, (x) => x >= 0)],
    ['evaluation', isInt(c.evaluation.every, 1, L.steps) && isInt(c.evaluation.count, 1, L.evalCount)
      && isInt(c.evaluation.buckets, 1, L.evalBuckets) && isInt(c.evaluation.seed, 0, L.seed)],
    ['fields', JSON.stringify(Object.keys(c).sort()) === JSON.stringify(Object.keys(preset('tiny')).sort())],
  ];
  expect(rules.filter(([, ok]) => !ok).map(([name]) => name)).toEqual([]);
  // The task builds and agrees with the model; it makes batches, an evaluation set and masks.
  const task = createTask(c.task, c.taskOptions);
  expect(task.vocabSize).toBe(m.vocabSize);
  expect(task.maskId).toBe(m.maskId);
  const T = m.context;
  expect(task.contextProblem(T)).toBeNull();
  const B = Math.min(c.batch, 2);
  const tokens = task.trainingBatch(new Rng(c.baseSeed), B, T);
  expect(tokens.length).toBe(B * (T + 1));
  expect(tokens.every((t) => t < m.vocabSize && t !== m.maskId)).toBe(true);
  const evalSet = task.evalSet(Math.min(c.evaluation.count, 3), T, c.evaluation.buckets, c.evaluation.seed);
  expect(evalSet.tokens.length).toBe(evalSet.count * (T + 1));
  expect(evalSet.buckets.every((b) => b < evalSet.bucketCount)).toBe(true);
  for (const ratio of c.arms) {
    const mask = new Uint32Array(T);
    fillMask(mask, 1, T, { ratio, sharedAcrossBatch: c.sharedMask }, new Rng(1));
    expect(mask.reduce((a, b) => a + b, 0)).toBe(maskCount(ratio, T));
  }
  expect(parameterLayout(m).P).toBeGreaterThan(0);
}

/** A refusal: a RangeError (ConfigError) with one non-empty line that starts with the field it names. */
function expectClearRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(RangeError);
  expect(error).toBeInstanceOf(ConfigError);
  const { message, path } = error as ConfigError;
  expect(typeof message).toBe('string');
  expect(message.length).toBeGreaterThan(10);
  expect(message.length).toBeLessThan(500);
  expect(message).not.toMatch(/[\n\r]/);
  expect(message).toMatch(/^(the study config|task|model|batch|steps|optimizer|arms|seedsPerArm|baseSeed|sharedMask|protectQuery|evaluation|taskOptions|\[)/);
  if (path !== '') expect(message.startsWith(path.split(/[.[]/)[0])).toBe(true);
}

function checkConfig(config: unknown): 'accepted' | 'refused' {
  const started = performance.now();
  let outcome: 'accepted' | 'refused';
  try {
    validateStudyConfig(config as StudyConfig);
    outcome = 'accepted';
  } catch (error) {
    expectClearRefusal(error);
    outcome = 'refused';
  }
  expect(performance.now() - started, 'one validation').toBeLessThan(5000);
  if (outcome === 'accepted') expectReallyValid(config as StudyConfig);
  return outcome;
}

// ---------------------------------------------------------------------------------------------------------
// Generators

/** Values that break things: non-finite, negative, huge, fractional, wrong types, markup, prototype keys. */
const limitEdges = [...new Set(Object.values(CONFIG_LIMITS).flatMap((limit) => [limit, limit + 1, limit + 0.5]))];
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -1, 1, 0.5, 1.5, 2, 3, 4, 5, 8, 16, 31, 64, 65, 1024, 4096, 4097, 65_536, 65_537,
    1e7, 1e7 + 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1e300, Number.MIN_VALUE, Number.EPSILON),
  fc.constantFrom(...limitEdges),
  fc.integer({ min: -10, max: 5000 }),
  fc.double(),
  fc.constantFrom('', '1', '0.1', 'abc', '<img src=x onerror=alert(1)>', 'a\nb', '__proto__', 'needle', 'text', 'user', 'generated',
    null, undefined, true, false, [], {}, [0, 0.15], { a: 1 }),
  fc.string({ maxLength: 12 }),
);

const baseConfigs: StudyConfig[] = [
  preset('tiny'), preset('needle-s'), preset('recall-s'), preset('multidoc-s'),
  // text-s with a small generated corpus (enough for T = 64), so each new corpus is quick to build.
  { ...preset('text-s'), taskOptions: { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: 1, documents: 20 } } } as StudyConfig,
];

/** Every path (objects and leaves) of a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  }
  return out;
}

type Op = { kind: 'set' | 'delete' | 'add'; at: number; value: unknown; key: string };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('set', 'set', 'set', 'delete', 'add'),
  at: fc.nat(),
  value: nasty,
  key: fc.oneof(fc.constantFrom('extra', '__proto__', 'constructor', 'lR', 'x\ny'), fc.string({ maxLength: 6 })),
}) as fc.Arbitrary<Op>;

function mutate(base: StudyConfig, ops: Op[]): unknown {
  let root: any = structuredClone(base);
  for (const o of ops) {
    const all = paths(root);
    // A 'set' mostly hits a leaf (a number, a string, a flag), where most rules live.
    const leaves = all.filter((p) => p.length > 0 && (typeof p.reduce((x: any, k) => x?.[k], root) !== 'object'));
    const pool = o.kind === 'set' && o.at % 4 !== 0 && leaves.length > 0 ? leaves : all;
    const path = pool[Math.floor(o.at / 4) % pool.length];
    if (path.length === 0) {
      if (o.kind === 'set') root = o.value;
      continue;
    }
    let parent = root;
    for (const k of path.slice(0, -1)) parent = parent[k];
    const last = path[path.length - 1];
    if (typeof parent !== 'object' || parent === null) continue;
    if (o.kind === 'set') parent[last] = o.value;
    else if (o.kind === 'delete') delete parent[last];
    else if (typeof parent[last] === 'object' && parent[last] !== null) Object.defineProperty(parent[last], o.key, { value: o.value, enumerable: true, configurable: true, writable: true });
  }
  return root;
}

const mutatedConfig = fc.tuple(fc.nat({ max: baseConfigs.length - 1 }), fc.array(op, { minLength: 1, maxLength: 3 }))
  .map(([i, ops]) => mutate(baseConfigs[i], ops));

/** Configs built from plausible parts, often valid, often off by one somewhere (vocabulary, heads, context). */
const builtConfig = fc.record({
  task: fc.constantFrom('needle', 'recall', 'multidoc', 'text'),
  filler: fc.integer({ min: 1, max: 40 }), keys: fc.integer({ min: 1, max: 12 }), values: fc.integer({ min: 1, max: 12 }),
  items: fc.integer({ min: 1, max: 6 }),
  text: fc.oneof(fc.constant(null), fc.string({ unit: 'grapheme-ascii', minLength: 0, maxLength: 2000 }),
    fc.string({ unit: 'binary', maxLength: 600 }), fc.constant('Plenty of plain words here. '.repeat(60))),
  alphabetCut: fc.constantFrom(0, 0, 0, 20, 60),
  layers: fc.integer({ min: 1, max: 3 }), heads: fc.constantFrom(1, 2, 3, 4), headDim: fc.constantFrom(1, 2, 4, 6, 8),
  dFF: fc.integer({ min: 1, max: 48 }), context: fc.integer({ min: 1, max: 80 }),
  batch: fc.integer({ min: 1, max: 6 }), steps: fc.integer({ min: 1, max: 200 }), seeds: fc.integer({ min: 1, max: 3 }),
  arms: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
  buckets: fc.integer({ min: 1, max: 8 }), count: fc.integer({ min: 1, max: 32 }),
  vocabDelta: fc.constantFrom(0, 0, 0, 0, 1, -1), maskDelta: fc.constantFrom(0, 0, 0, 0, 1),
}).map((p): StudyConfig => {
  const base = preset('tiny');
  let taskOptions: any;
  let vocab: number;
  if (p.task === 'text') {
    const alphabet = DEFAULT_ALPHABET.slice(0, DEFAULT_ALPHABET.length - p.alphabetCut);
    taskOptions = { alphabet, source: p.text === null ? { kind: 'generated', seed: p.filler, documents: p.items } : { kind: 'user', text: p.text } };
    vocab = 4 + alphabet.length;
  } else {
    taskOptions = { fillerWords: p.filler, keys: p.keys, values: p.values };
    if (p.task === 'recall') taskOptions.pairs = p.items;
    if (p.task === 'multidoc') taskOptions.documents = p.items;
    vocab = needleVocab(p.filler, p.keys, p.values).size;
  }
  return {
    ...base, task: p.task as StudyConfig['task'], taskOptions,
    model: { ...base.model, vocabSize: vocab + p.vocabDelta, maskId: 2 + p.maskDelta, layers: p.layers, dModel: p.heads * p.headDim,
      heads: p.heads, dFF: p.dFF, context: p.context },
    batch: p.batch, steps: p.steps, seedsPerArm: p.seeds, arms: p.arms,
    evaluation: { every: 5, count: p.count, buckets: p.buckets, seed: 7 },
  };
});

// ---------------------------------------------------------------------------------------------------------

describe('validateStudyConfig on arbitrary configs', () => {
  it(`accepts only configs that really work, refuses the rest with one clear line (${RUNS} mutated presets)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(fc.property(mutatedConfig, (config) => { seen[checkConfig(config)]++; }), { seed: 0x5eed1, numRuns: RUNS });
    // Both outcomes happen (the generator is not degenerate).
    expect(seen.accepted).toBeGreaterThan(10);
    expect(seen.refused).toBeGreaterThan(RUNS / 2);
  });

  it(`…and on configs built from plausible parts (${RUNS} cases)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(fc.property(builtConfig, (config) => { seen[checkConfig(config)]++; }), { seed: 0x5eed2, numRuns: RUNS });
    expect(seen.accepted).toBeGreaterThan(RUNS / 10);
    expect(seen.refused).toBeGreaterThan(RUNS / 10);
  });

  it('…and on anything at all (200 cases)', () => {
    fc.assert(fc.property(fc.oneof(fc.anything(), fc.jsonValue()), (value) => { expect(checkConfig(value)).toBe('refused'); }),
      { seed: 0x5eed3, numRuns: 200 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The URL codec

const queryValue = fc.oneof(
  fc.constantFrom(...presetNames(), 'needle', 'recall', 'multidoc', 'text', 'poetry', '__proto__', 'constructor', 'toString',
    '0', '1', '-1', '1.5', '40', '1e3', '1e9', 'NaN', 'Infinity', '0x10', ' 7 ', '', 'true', 'no', 'maybe',
    '0,0.15', '0,0.15,0.15', '0,1', '0,,0.1', Array.from({ length: 9 }, (_, i) => i / 10).join(','),
    '<b id="injected">bold</b>', '0,<img src=x onerror=alert(1)>', 'a\nb', '%', '&', '='),
  fc.double().map(String), fc.integer().map(String),
  fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 80 }),
);
const longValue = fc.string({ minLength: 41, maxLength: 300, size: 'max' });
/** Values near each field's bounds (the page's LIMITS and the schema's), valid and not. */
const edge = (min: number, max: number) => fc.constantFrom(min - 1, min, min + 0.5, max, max + 1, 2 * max, 4096, 4097, 1e7 + 1).map(String);
const fieldValue: Record<string, fc.Arbitrary<string>> = {
  preset: fc.constantFrom(...presetNames(), 'huge', '__proto__', 'constructor', 'toString', 'hasOwnProperty', ''),
  task: fc.constantFrom('needle', 'recall', 'multidoc', 'text', 'poetry', '__proto__', 'constructor', ''),
  steps: edge(LIMITS.steps.min, LIMITS.steps.max),
  batch: edge(LIMITS.batch.min, LIMITS.batch.max),
  lr: fc.constantFrom(LIMITS.lr.min, LIMITS.lr.max, LIMITS.lr.min / 2, LIMITS.lr.max * 2, 0, -1e-3, 3e-3).map(String),
  arms: fc.array(fc.constantFrom('0', '0.05', '0.15', '0.15', '0.5', '0.99', '1', '-0.1', 'x', ''), { minLength: 1, maxLength: 10 }).map((a) => a.join(',')),
  seedsPerArm: edge(LIMITS.seedsPerArm.min, LIMITS.seedsPerArm.max),
  sharedMask: fc.constantFrom('1', '0', 'true', 'no', 'maybe'),
  protectQuery: fc.constantFrom('1', '0', 'yes', 'false', 'perhaps'),
  replace: fc.constantFrom('mask', 'random', 'random-filler', 'Random', 'blank', 'none', ''),
  protect: fc.array(fc.constantFrom('needle-key', 'needle-value', 'query-marker', 'query-key', 'none', 'haystack', ''), { maxLength: 5 }).map((a) => a.join(',')),
  baseSeed: edge(LIMITS.baseSeed.min, LIMITS.baseSeed.max),
  evalEvery: edge(LIMITS.evalEvery.min, LIMITS.evalEvery.max),
};
const queryPair = fc.oneof(
  fc.constantFrom(...FIELDS).chain((key) => fc.oneof(fieldValue[key], queryValue, longValue).map((value) => [key, value] as [string, string])),
  fc.tuple(fc.oneof(fc.constantFrom('head', 'Preset', 'steps ', ''), fc.string({ maxLength: 6 })), queryValue),
);
const structuredQuery = fc.array(queryPair, { maxLength: 12 }).map((pairs) => `?${new URLSearchParams(pairs).toString()}`);
const rawQuery = fc.string({ unit: 'binary', maxLength: 200 });

function checkQuery(search: string): void {
  const parsed = configFromQuery(search);
  expect(presetNames()).toContain(parsed.presetName);
  const c = parsed.config;
  // Valid for every engine, and within the page's own bounds.
  validateStudyConfig(c);
  expect(c.steps).toBeLessThanOrEqual(LIMITS.steps.max);
  expect(c.batch).toBeLessThanOrEqual(LIMITS.batch.max);
  expect(c.optimizer.lr).toBeGreaterThanOrEqual(LIMITS.lr.min);
  expect(c.optimizer.lr).toBeLessThanOrEqual(LIMITS.lr.max);
  expect(c.seedsPerArm).toBeLessThanOrEqual(LIMITS.seedsPerArm.max);
  expect(c.arms.length).toBeLessThanOrEqual(LIMITS.arms.max);
  expect(new Set(c.arms).size).toBe(c.arms.length);
  expect(c.arms.length * c.seedsPerArm).toBeLessThanOrEqual(LIMITS.runs.max);
  expect(c.baseSeed).toBeLessThanOrEqual(LIMITS.baseSeed.max);
  expect(c.evaluation.every).toBeLessThanOrEqual(LIMITS.evalEvery.max);
  // Notices: plain one-line strings, the user's value quoted and cut to 40 characters.
  const params = new URLSearchParams(search);
  const named = FIELDS.filter((f) => params.has(f));
  expect(parsed.fromLink).toBe(named.length > 0);
  expect(parsed.notices.length).toBeLessThanOrEqual(named.length);
  for (const notice of parsed.notices) {
    expect(typeof notice).toBe('string');
    expect(notice).toMatch(/^Ignored (preset|task|steps|batch|lr|arms|seedsPerArm|sharedMask|protectQuery|replace|protect|baseSeed|evalEvery)=".*" from the link: .+\.$/);
    expect(notice).not.toMatch(/[\n\r\u2028\u2029]/);
    // Every refusal has its own reason: the generic one means an unexpected exception.
    expect(notice).not.toMatch(/: not a valid value\.$/);
    const field = /^Ignored (\w+)=/.exec(notice)![1];
    const raw = params.getAll(field).at(-1)!;
    const quoted = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
    expect(notice.startsWith(`Ignored ${field}=${quoted} from the link: `)).toBe(true);
    // Nothing of the value beyond its first 40 characters reaches the page.
    expect(notice.length - quoted.length).toBeLessThan(400);
  }
  // The page rewrites the URL to the config used: that link reads back to the same config, silently.
  const again = configFromQuery(configToQuery(parsed.presetName, c));
  expect(again.notices).toEqual([]);
  expect(again.config).toEqual(c);
}

describe('the URL codec on arbitrary query strings', () => {
  it(`never throws; yields a valid config, short plain notices and a link that reads back (${RUNS} structured queries)`, () => {
    let noticed = 0;
    fc.assert(fc.property(structuredQuery, (search) => {
      checkQuery(search);
      if (configFromQuery(search).notices.length > 0) noticed++;
    }), { seed: 0x5eed4, numRuns: RUNS });
    expect(noticed).toBeGreaterThan(RUNS / 4);
  });

  it(`…and on raw strings (${RUNS} cases)`, () => {
    fc.assert(fc.property(rawQuery, checkQuery), { seed: 0x5eed5, numRuns: RUNS });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The CLI

const FLAGS = ['--task', '--preset', '--steps', '--seeds', '--mask-ratio', '--mask-ratios', '--paper-grid', '--shared-mask', '--eval-every',
  '--eval-count', '--batch', '--lr', '--base-seed', '--json', '--save', '--help', '--bogus', '-x', '--'];
const flagValue: Record<string, fc.Arbitrary<string>> = {
  '--task': fieldValue.task, '--preset': fieldValue.preset, '--steps': edge(1, CONFIG_LIMITS.steps), '--seeds': edge(1, CONFIG_LIMITS.seedsPerArm),
  '--batch': edge(1, CONFIG_LIMITS.batch), '--lr': fieldValue.lr, '--base-seed': edge(0, CONFIG_LIMITS.seed),
  '--eval-every': edge(1, CONFIG_LIMITS.steps), '--eval-count': edge(1, CONFIG_LIMITS.evalCount), '--mask-ratio': fc.constantFrom('0.15', '1', '-0.1', 'x'),
  '--mask-ratios': fieldValue.arms,
};
const argTokens: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(...Object.keys(flagValue)).chain((flag) => fc.oneof(flagValue[flag], queryValue)
    .chain((value) => fc.constantFrom<string[]>([flag, value], [`${flag}=${value}`]))),
  fc.constantFrom(...FLAGS).map((flag) => [flag]),
  queryValue.map((value) => [value]),
);

describe('the compare CLI parser on arbitrary argument lists', () => {
  it(`returns a valid config or throws a one-line UsageError, nothing else (${RUNS} cases)`, () => {
    const seen = { ok: 0, usage: 0 };
    fc.assert(fc.property(fc.array(argTokens, { maxLength: 6 }).map((groups) => groups.flat()), (argv) => {
      let config: StudyConfig | undefined;
      try {
        config = parseCompareArgs(argv).config;
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        const text = (error as Error).message;
        expect(text.length).toBeGreaterThan(5);
        expect(text.length).toBeLessThan(700);
        expect(text).not.toMatch(/[\n\r]/);
        seen.usage++;
        return;
      }
      validateStudyConfig(config);
      seen.ok++;
    }), { seed: 0x5eed6, numRuns: RUNS });
    expect(seen.ok).toBeGreaterThan(10);
    expect(seen.usage).toBeGreaterThan(RUNS / 4);
  });
});

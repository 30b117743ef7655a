/**
 * The one schema of a StudyConfig (and the ModelConfig inside it), written with valibot. Every way a config
 * enters the playground goes through it — the page's controls and URL (src/store/configCodec.ts), the CLI
 * (src/cli/args.ts), Study.create / CpuStudy.create / the training session, a study checkpoint's header
 * (src/engine/checkpoint.ts) and a safetensors file's study metadata (src/export/safetensors.ts) — by way of
 * validateStudyConfig (src/config/validate.ts), which adds the checks that need the built task (vocabulary,
 * [MASK] id, context, buckets, the user's text).
 *
 * A refused config gives ONE message that names the field and shows the value, e.g.
 * `optimizer.lr must be a finite number > 0, got NaN` or `model.heads (3) must divide dModel (64)`: every
 * issue message here is written relative to its field, and `configIssue` prefixes the field's path.
 * Shown values are short and escaped (`show`), so a message is always one line of plain text.
 *
 * Limits (CONFIG_LIMITS, documented in the README's "Reliability" section) keep a config from asking for
 * absurd sizes; whether a config that is within them fits the adapter is decided by the memory check
 * (src/model/memory.ts) before anything is allocated.
 */
import * as v from 'valibot';
import { TASK_NAMES } from '../data/task';
import { alphabetProblem } from '../data/charTokenizer';
import { CORPUS_CHARACTERS } from '../data/corpus';
import { MAX_CORPUS_DOCUMENTS } from '../data/textTask';
import { MASK_REPLACEMENTS, isMaskReplacement, type MaskReplacement } from '../data/maskPolicy';
import { PROTECTED_SEGMENTS, isProtectedSegment, type ProtectedSegment } from '../data/protectedSegments';
import { FINETUNE_VARIANTS, PRESETS, type FinetuneVariant, type PresetName, type StudyConfig } from './presets';

/** The largest value each size may take (inclusive). */
export const CONFIG_LIMITS = {
  /** model.vocabSize (ids fit in 16 bits, like the text streams). */
  vocabSize: 65_536,
  /** model.context T. */
  context: 4096,
  /** model.dModel. */
  dModel: 4096,
  /** model.dFF (the SwiGLU hidden size). */
  dFF: 16_384,
  /** model.layers. */
  layers: 64,
  /** batch B (sequences per step and run). */
  batch: 4096,
  /** steps, and optimizer.warmupSteps / evaluation.every. */
  steps: 10_000_000,
  /** seedsPerArm. */
  seedsPerArm: 64,
  /** arms (mask ratios): so at most 16 × 64 = 1024 runs. */
  arms: 16,
  /** evaluation.count (held-out examples). */
  evalCount: 10_000,
  /** evaluation.buckets. */
  evalBuckets: 1024,
  /** taskOptions.fillerWords / keys / values of the retrieval tasks (each is part of the vocabulary). */
  taskWords: 65_536,
  /** taskOptions.pairs (recall), taskOptions.documents (multidoc, qa) and taskOptions.answerMin / answerMax (qa). */
  taskItems: 1024,
  /** baseSeed, evaluation.seed, taskOptions.source.seed: 32-bit generator seeds. */
  seed: 0xffff_ffff,
} as const;

/** A config refused by the schema or a cross-field check: `path` is the field (`optimizer.lr`, `arms[1]`, '' for the whole). */
export class ConfigError extends RangeError {
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Messages

/** A value for a message: short, one line, strings quoted and escaped. */
export function show(value: unknown): string {
  switch (typeof value) {
    case 'number': return Object.is(value, -0) ? '-0' : String(value);
    case 'string': return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'undefined': return 'undefined';
    case 'boolean': return String(value);
    case 'bigint': return `${value}n`.length > 24 ? 'a big integer' : `${value}n`;
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? `an array of ${value.length}` : 'an object';
    default: return `a ${typeof value}`;
  }
}

const isInteger = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

interface IntOptions {
  /** Appended to "must be a positive integer" (e.g. " for the recall task"). */
  suffix?: string;
  /** "must be an integer in min..max" rather than "a positive integer" / "at most max". */
  range?: boolean;
}

/** An integer field in [min, max]. */
function int(min: number, max: number, options: IntOptions = {}) {
  const suffix = options.suffix ?? '';
  return v.custom<number>((x) => isInteger(x) && x >= min && x <= max, (issue) => {
    const x = issue.input;
    if (options.range) return `must be an integer in ${min}..${max}${suffix}, got ${show(x)}`;
    if (isInteger(x) && x > max) return `must be at most ${max}${suffix}, got ${show(x)}`;
    return `${min === 1 ? 'must be a positive integer' : `must be an integer ≥ ${min}`}${suffix}, got ${show(x)}`;
  });
}

/** A finite number with bounds; `text` says which (e.g. "a finite number > 0", "in [0, 1)"). */
function num(accept: (x: number) => boolean, text: string) {
  return v.custom<number>((x) => isFiniteNumber(x) && accept(x), (issue) => `must be ${text}, got ${show(issue.input)}`);
}

/** Runs an entry schema on `undefined`: the message a missing field gets is its own ("… got undefined"). */
function missingMessage(schema: v.GenericSchema | undefined): string {
  if (!schema) return 'is missing';
  const result = v.safeParse(schema, undefined, { abortEarly: true });
  return result.success ? 'is missing' : (result.issues[0].message);
}

/** A strict object: unknown fields are refused, a missing field reports its own schema's message. */
function obj<const E extends v.ObjectEntries>(entries: E, what = 'an object') {
  return v.strictObject(entries, (issue) => {
    if (issue.expected === 'never') {
      return `is not a known field (known: ${Object.keys(entries).join(', ')})`;
    }
    const key = issue.path?.[0]?.key;
    if (issue.kind === 'schema' && typeof key === 'string' && issue.expected === `"${key}"`) {
      return missingMessage(entries[key] as v.GenericSchema | undefined);
    }
    return `must be ${what}, got ${show(issue.input)}`;
  });
}

// ---------------------------------------------------------------------------------------------------------
// The model

const L = CONFIG_LIMITS;

/** ModelConfig: sizes within CONFIG_LIMITS, heads dividing dModel into an even head dimension (RoPE), [MASK] in the vocabulary. */
export const ModelConfigSchema = v.pipe(
  obj({
    vocabSize: int(1, L.vocabSize),
    maskId: v.custom<number>(isInteger, (issue) => `must be an integer id, got ${show(issue.input)}`),
    layers: int(1, L.layers),
    dModel: int(1, L.dModel),
    heads: int(1, L.dModel),
    dFF: int(1, L.dFF),
    context: int(1, L.context),
    ropeBase: num((x) => x > 1, 'a finite number > 1'),
    normEps: num((x) => x > 0, 'a finite number > 0'),
  }, 'an object of model sizes'),
  v.forward(v.partialCheck([['maskId'], ['vocabSize']], (c) => c.maskId >= 0 && c.maskId < c.vocabSize,
    (issue) => `must be an id below vocabSize ${issue.input.vocabSize}, got ${issue.input.maskId}`), ['maskId']),
  v.forward(v.partialCheck([['heads'], ['dModel']], (c) => c.dModel % c.heads === 0,
    (issue) => `(${issue.input.heads}) must divide dModel (${issue.input.dModel})`), ['heads']),
  v.forward(v.partialCheck([['heads'], ['dModel']], (c) => (c.dModel / c.heads) % 2 === 0,
    (issue) => `(${issue.input.heads}) must leave an even head dimension for RoPE: dModel / heads = ${issue.input.dModel / issue.input.heads}`), ['heads']),
);

// ---------------------------------------------------------------------------------------------------------
// Task options

function retrievalWords(task: string) {
  const suffix = ` for the ${task} task`;
  return { fillerWords: int(1, L.taskWords, { suffix }), keys: int(1, L.taskWords, { suffix }), values: int(1, L.taskWords, { suffix }) };
}

/** keys and values ≥ pairs (recall) / documents (multidoc): the items of one block have distinct keys and values. */
function itemsMessage(side: 'keys' | 'values', field: 'pairs' | 'documents', have: number, items: number): string {
  const what = field === 'pairs' ? 'the pairs of one block' : 'the documents of one block';
  return `(${have}) must be ≥ taskOptions.${field} (${items}): ${what} have distinct ${side}`;
}

const NeedleOptionsSchema = obj(retrievalWords('needle'), 'an object { fillerWords, keys, values }');
const RecallOptionsSchema = v.pipe(
  obj({ ...retrievalWords('recall'), pairs: int(1, L.taskItems, { suffix: ' for the recall task' }) }, 'an object { fillerWords, keys, values, pairs }'),
  v.forward(v.partialCheck([['keys'], ['pairs']], (o) => o.keys >= o.pairs,
    (issue) => itemsMessage('keys', 'pairs', issue.input.keys, issue.input.pairs)), ['keys']),
  v.forward(v.partialCheck([['values'], ['pairs']], (o) => o.values >= o.pairs,
    (issue) => itemsMessage('values', 'pairs', issue.input.values, issue.input.pairs)), ['values']),
);
const MultidocOptionsSchema = v.pipe(
  obj({ ...retrievalWords('multidoc'), documents: int(1, L.taskItems, { suffix: ' for the multidoc task' }) },
    'an object { fillerWords, keys, values, documents }'),
  v.forward(v.partialCheck([['keys'], ['documents']], (o) => o.keys >= o.documents,
    (issue) => itemsMessage('keys', 'documents', issue.input.keys, issue.input.documents)), ['keys']),
  v.forward(v.partialCheck([['values'], ['documents']], (o) => o.values >= o.documents,
    (issue) => itemsMessage('values', 'documents', issue.input.values, issue.input.documents)), ['values']),
);
const qaInt = () => int(1, L.taskItems, { suffix: ' for the qa task' });
/** qa: distinct keys per document, distinct first words per phrase (values ≥ documents), distinct words in a phrase (values ≥ answerMax). */
const QaOptionsSchema = v.pipe(
  obj({ ...retrievalWords('qa'), documents: qaInt(), answerMin: qaInt(), answerMax: qaInt() },
    'an object { fillerWords, keys, values, documents, answerMin, answerMax }'),
  v.forward(v.partialCheck([['answerMin'], ['answerMax']], (o) => o.answerMax >= o.answerMin,
    (issue) => `(${issue.input.answerMax}) must be ≥ taskOptions.answerMin (${issue.input.answerMin}) for the qa task`), ['answerMax']),
  v.forward(v.partialCheck([['keys'], ['documents']], (o) => o.keys >= o.documents,
    (issue) => itemsMessage('keys', 'documents', issue.input.keys, issue.input.documents)), ['keys']),
  v.forward(v.partialCheck([['values'], ['documents']], (o) => o.values >= o.documents,
    (issue) => `(${issue.input.values}) must be ≥ taskOptions.documents (${issue.input.documents}): the phrases of one block have distinct first words`), ['values']),
  v.forward(v.partialCheck([['values'], ['answerMax']], (o) => o.values >= o.answerMax,
    (issue) => `(${issue.input.values}) must be ≥ taskOptions.answerMax (${issue.input.answerMax}): the words of one phrase are distinct`), ['values']),
);

const SOURCE_SHAPE = '{ kind: "generated", seed, documents } or { kind: "user", text }';
const TextSourceSchema = v.variant('kind', [
  obj({ kind: v.literal('generated'), seed: int(0, L.seed, { range: true }), documents: int(1, MAX_CORPUS_DOCUMENTS, { range: true }) }),
  // The text's content (size, binary, empty, alphabet) is checked where it is encoded: prepareUserText.
  obj({ kind: v.literal('user'), text: v.custom<string>((x) => typeof x === 'string', (issue) => `must be a string, got ${show(issue.input)}`) }),
], (issue) => (issue.path?.[0]?.key === 'kind'
  ? `must be "generated" or "user", got ${show(issue.input)}`
  : `must be ${SOURCE_SHAPE}, got ${show(issue.input)}`));

const TextOptionsSchema = v.pipe(
  obj({
    alphabet: v.custom<string>((x) => alphabetProblem(x) === null, (issue) => alphabetProblem(issue.input) ?? 'is invalid'),
    source: TextSourceSchema,
  }, 'an object { alphabet, source }'),
  v.forward(v.partialCheck([['alphabet'], ['source']], (o) => o.source.kind !== 'generated' || missingCorpusCharacters(o.alphabet) === '',
    (issue) => {
      const missing = missingCorpusCharacters(issue.input.alphabet);
      return `lacks ${Array.from(missing).length} character(s) of the generated corpus: ${show(missing)}`;
    }), ['alphabet']),
);

function missingCorpusCharacters(alphabet: string): string {
  const have = new Set(Array.from(alphabet));
  return Array.from(CORPUS_CHARACTERS).filter((c) => !have.has(c)).join('');
}

// ---------------------------------------------------------------------------------------------------------
// The study

const unit = (closedTop: boolean) => num((x) => x >= 0 && (closedTop ? x <= 1 : x < 1), closedTop ? 'in [0, 1]' : 'in [0, 1)');

const OptimizerSchema = obj({
  lr: num((x) => x > 0, 'a finite number > 0'),
  warmupSteps: int(0, L.steps),
  minLrRatio: unit(true),
  weightDecay: num((x) => x >= 0, 'a finite number ≥ 0'),
  beta1: unit(false),
  beta2: unit(false),
  eps: num((x) => x > 0, 'a finite number > 0'),
  maxGradNorm: num((x) => x >= 0, 'a finite number ≥ 0 (0 = no clipping)'),
  scheduleSteps: v.optional(int(1, L.steps)),
}, 'an object of optimizer settings');

const ArmsSchema = v.pipe(
  v.array(
    v.custom<number>((x) => isFiniteNumber(x) && x >= 0 && x < 1, (issue) => `: a mask ratio must be in [0, 1), got ${show(issue.input)}`),
    (issue) => `must be a list of mask ratios, got ${show(issue.input)}`,
  ),
  v.minLength(1, 'must list at least one mask ratio'),
  v.maxLength(L.arms, (issue) => `may list at most ${L.arms} mask ratios, got ${issue.input.length}`),
);

const ProtectSchema = v.pipe(
  v.array(
    v.custom<ProtectedSegment>(isProtectedSegment, (issue) => `: a protected segment must be one of ${PROTECTED_SEGMENTS.join(', ')}, got ${show(issue.input)}`),
    (issue) => `must be a list of segments (${PROTECTED_SEGMENTS.join(', ')}), got ${show(issue.input)}`,
  ),
  v.check((list) => new Set(list).size === list.length, 'must not list a segment twice'),
);

const EvaluationSchema = obj({
  every: int(1, L.steps),
  count: int(1, L.evalCount),
  buckets: int(1, L.evalBuckets),
  seed: int(0, L.seed, { range: true }),
}, 'an object { every, count, buckets, seed }');

/** The fields every task shares, in the order they are checked (the first problem is the one reported). */
const common = {
  model: ModelConfigSchema,
  batch: int(1, L.batch),
  steps: int(1, L.steps),
  optimizer: OptimizerSchema,
  arms: ArmsSchema,
  seedsPerArm: int(1, L.seedsPerArm),
  baseSeed: int(0, L.seed),
  sharedMask: v.custom<boolean>((x) => typeof x === 'boolean', (issue) => `must be true or false, got ${show(issue.input)}`),
  protectQuery: v.optional(v.custom<boolean>((x) => typeof x === 'boolean', (issue) => `must be true or false, got ${show(issue.input)}`)),
  replace: v.optional(v.custom<MaskReplacement>(isMaskReplacement, (issue) => `must be one of ${MASK_REPLACEMENTS.join(', ')}, got ${show(issue.input)}`)),
  protect: v.optional(ProtectSchema),
  evaluation: EvaluationSchema,
};

const ZeroShotProbeSchema = obj({
  kind: v.literal('text-needle', (issue) => `must be "text-needle", got ${show(issue.input)}`),
  count: int(1, L.evalCount),
  buckets: int(1, L.evalBuckets),
  seed: int(0, L.seed, { range: true }),
}, 'an object { kind, count, buckets, seed }');

const FinetuneVariantsSchema = v.pipe(
  v.array(
    v.custom<FinetuneVariant>((x) => (FINETUNE_VARIANTS as readonly unknown[]).includes(x),
      (issue) => `: a fine-tuning variant must be one of ${FINETUNE_VARIANTS.join(', ')}, got ${show(issue.input)}`),
    (issue) => `must be a list of fine-tuning variants (${FINETUNE_VARIANTS.join(', ')}), got ${show(issue.input)}`,
  ),
  v.minLength(1, 'must list at least one fine-tuning variant'),
  v.check((list) => new Set(list).size === list.length, 'must not list a variant twice'),
);

/** The fine-tuning stage of a qa study (src/config/finetuneStage.ts). */
const FinetuneSchema = obj({
  variants: FinetuneVariantsSchema,
  steps: int(1, L.steps),
  lr: num((x) => x > 0, 'a finite number > 0'),
  warmupSteps: int(0, L.steps),
  maskFraction: unit(false),
  minAnswer: int(1, L.taskItems),
}, 'an object { variants, steps, lr, warmupSteps, maskFraction, minAnswer }');

const StageSchema = v.literal('finetune', (issue) => `must be "finetune" (the fine-tuning stage's config) or absent, got ${show(issue.input)}`);

/**
 * StudyConfig: the task picks its options' schema (only the text task takes a zero-shot probe; only the qa task,
 * whose answers are spans, a fine-tuning stage).
 */
export const StudyConfigSchema = v.variant('task', [
  obj({ task: v.literal('needle'), ...common, taskOptions: NeedleOptionsSchema }),
  obj({ task: v.literal('recall'), ...common, taskOptions: RecallOptionsSchema }),
  obj({ task: v.literal('multidoc'), ...common, taskOptions: MultidocOptionsSchema }),
  obj({ task: v.literal('qa'), ...common, taskOptions: QaOptionsSchema, finetune: v.optional(FinetuneSchema), stage: v.optional(StageSchema) }),
  obj({ task: v.literal('text'), ...common, taskOptions: TextOptionsSchema, zeroShotProbe: v.optional(ZeroShotProbeSchema) }),
], (issue) => (issue.path?.[0]?.key === 'task'
  ? `must be one of ${TASK_NAMES.join(', ')}, got ${show(issue.input)}`
  : `must be an object, got ${show(issue.input)}`));

// The schema's output is a StudyConfig (checked at compile time).
type SchemaOutput = v.InferOutput<typeof StudyConfigSchema>;
const _outputIsStudyConfig: (c: SchemaOutput) => StudyConfig = (c) => c;
void _outputIsStudyConfig;

/** Preset names (own keys of PRESETS only: `__proto__` or `constructor` are not presets). */
export const PresetNameSchema = v.picklist(Object.keys(PRESETS) as PresetName[],
  (issue) => `unknown preset ${show(issue.input)} (known: ${Object.keys(PRESETS).join(', ')})`);

// ---------------------------------------------------------------------------------------------------------
// Reading issues

/** `model.heads`, `arms[1]`, `taskOptions["odd key"]` — keys from the input are escaped and shortened. */
function formatPath(path: readonly { key: unknown }[] | undefined): string {
  let out = '';
  for (const item of path ?? []) {
    const key = item.key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]{0,39}$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${show(typeof key === 'string' ? key : String(key))}]`;
  }
  return out;
}

function toError(issue: v.BaseIssue<unknown>, root: string): ConfigError {
  const path = formatPath(issue.path as { key: unknown }[] | undefined);
  const message = issue.message.replace(/[\r\n]+/g, ' ');
  const text = path === '' ? `${root} ${message}` : message.startsWith(':') ? `${path}${message}` : `${path} ${message}`;
  return new ConfigError(text, path);
}

/** The first problem of a study config (null when the schema accepts it). Does not build the task. */
export function studyConfigIssue(input: unknown): ConfigError | null {
  if (Array.isArray(input)) return new ConfigError(`the study config must be an object, got ${show(input)}`, '');
  const result = v.safeParse(StudyConfigSchema, input, { abortEarly: true });
  return result.success ? null : toError(result.issues[0], 'the study config');
}

/**
 * The config, checked by the schema alone (no task is built: see validateStudyConfig for the full check).
 * Throws ConfigError (a RangeError) with one message naming the field.
 */
export function parseStudyConfig(input: unknown): StudyConfig {
  const issue = studyConfigIssue(input);
  if (issue) throw issue;
  return input as StudyConfig;
}

/** A ModelConfig checked by the schema; messages name `model.<field>`. */
export function parseModelConfig(input: unknown): v.InferOutput<typeof ModelConfigSchema> {
  const result = v.safeParse(ModelConfigSchema, input, { abortEarly: true });
  if (!result.success) {
    const error = toError(result.issues[0], 'the model config');
    throw new ConfigError(error.path === '' ? error.message : `model.${error.message}`, error.path === '' ? 'model' : `model.${error.path}`);
  }
  return result.output;
}

/** A preset name, or a ConfigError `unknown preset "x" (known: …)`. */
export function parsePresetName(input: unknown): PresetName {
  const result = v.safeParse(PresetNameSchema, input);
  if (!result.success) throw new ConfigError(result.issues[0].message, 'preset');
  return result.output;
}

/**
 * The study config the page trains, as "a preset plus the user's edits", and its query-string form.
 * The URL holds every control's value, so a shared link rebuilds the same StudyConfig (and, the runs being
 * pure functions of it, the same curves). The page's controls and the URL go through the same `applyEdit`,
 * so a value the controls refuse is refused from a link too, with the same reason.
 */
import { FINETUNE_VARIANTS, type FinetuneConfig, type FinetuneVariant, type StudyConfig } from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { ConfigError, studyConfigIssue } from '../config/schema';
import { ConfigEditError, defaultPresetName, firstPresetOfTask, taskNames } from '../config/presetLookup';
import { isKnownPresetName, presetConfig, withPresetWarmup } from '../study/studyPresets';
import { parseDecimal } from '../util/decimal';

// The preset lookups the page's controls and stores take from here, with the URL's parts.
export {
  ConfigEditError, defaultPresetName, presetNames, sameConfig, taskNames,
} from '../config/presetLookup';
export {
  isKnownPresetName, isUneditedStudy, presetConfig, STUDY_PRESET_PREFIX, studyOfPreset, studyPresetDefinition,
  studyPresetNames,
} from '../study/studyPresets';

/** Bounds of the editable values (the UI's min/max; a link outside them is refused). */
export const LIMITS = {
  steps: { min: 1, max: 200_000 },
  batch: { min: 1, max: 1024 },
  lr: { min: 1e-6, max: 1 },
  seedsPerArm: { min: 1, max: 16 },
  arms: { max: 8 },
  runs: { max: 64 },
  baseSeed: { min: 0, max: 2 ** 31 - 1 },
  evalEvery: { min: 1, max: 200_000 },
  finetuneSteps: { min: 1, max: 200_000 },
  minAnswer: { min: 1, max: 1000 },
} as const;

/** What MEAP's chosen inputs become, and the parts of a retrieval block never masked (StudyConfig's replace, protect). */
export type MaskReplacement = NonNullable<StudyConfig['replace']>;
export type ProtectedSegment = NonNullable<StudyConfig['protect']>[number];

/**
 * Their values, in the order of src/data's MASK_REPLACEMENTS and PROTECTED_SEGMENTS, which the page may not
 * import (.dependency-cruiser.cjs). Keyed by StudyConfig's types, so tsc refuses a value missing here or unknown
 * there; test/maskControlsPage.test.ts checks the order against data/'s lists.
 */
const REPLACE_KEYS: Record<MaskReplacement, true> = { mask: true, random: true, 'random-filler': true };
const PROTECT_KEYS: Record<ProtectedSegment, true> = { 'needle-key': true, 'needle-value': true, 'query-marker': true, 'query-key': true };
export const REPLACE_VALUES = Object.keys(REPLACE_KEYS) as readonly MaskReplacement[];
export const PROTECT_VALUES = Object.keys(PROTECT_KEYS) as readonly ProtectedSegment[];

export interface EditableValues {
  preset: string;
  task: string;
  steps: number;
  batch: number;
  lr: number;
  arms: number[];
  seedsPerArm: number;
  sharedMask: boolean;
  protectQuery: boolean;
  /** 'mask' (the paper) when the config has no `replace`. */
  replace: MaskReplacement;
  /** [] when the config has no `protect`; in PROTECT_VALUES' order. */
  protect: ProtectedSegment[];
  baseSeed: number;
  evalEvery: number;
  /** The fine-tuning stage (qa studies only; src/config/finetuneStage.ts): its variants ([]: none), steps, lr… */
  finetune: FinetuneVariant[];
  finetuneSteps: number;
  finetuneLr: number;
  maskFraction: number;
  minAnswer: number;
}
export type EditableField = keyof EditableValues;

/** Order in which a link's values are applied (a preset first: every other value edits it). */
export const FIELDS: readonly EditableField[] = [
  'preset', 'task', 'steps', 'batch', 'lr', 'arms', 'seedsPerArm', 'sharedMask', 'protectQuery', 'replace', 'protect', 'baseSeed', 'evalEvery',
];

/**
 * The mask-policy options (issue 17's controls): in the URL only when the config or its preset departs from
 * the paper's policy (`replace=random`, `protect=needle-key,needle-value`; `replace=mask`, `protect=none` say
 * "back to the paper's" for a study preset that has them).
 */
const MASK_FIELDS: readonly EditableField[] = ['replace', 'protect'];

/**
 * The fine-tuning stage's fields, applied after FIELDS (the variants first: `finetune=none` removes the stage,
 * and the others need one). The URL holds them for qa studies only (`finetune=none` when the study has no stage).
 */
export const FINETUNE_FIELDS: readonly EditableField[] = ['finetune', 'finetuneSteps', 'finetuneLr', 'maskFraction', 'minAnswer'];

/** Every field of the URL, in the order a link's values are applied. */
const ALL_FIELDS: readonly EditableField[] = [...FIELDS, ...FINETUNE_FIELDS];

/** The fine-tuning settings a qa study gets when its first variant is chosen: those of the qa presets. */
function defaultFinetune(presetName: string): FinetuneConfig {
  const own = (isKnownPresetName(presetName) ? presetConfig(presetName) : undefined)?.finetune;
  const source = own ?? firstPresetOfTask('qa')?.finetune;
  if (!source) throw new ConfigEditError('no qa preset holds fine-tuning settings');
  return structuredClone(source);
}

/** The study's fine-tuning settings for an edit of one of them; refused without a stage. */
function finetuneToEdit(config: StudyConfig, field: string): FinetuneConfig {
  if (!config.finetune) throw new ConfigEditError(`${field} needs a fine-tuning stage (choose at least one fine-tuning variant)`);
  return config.finetune;
}

function integerIn(value: number, field: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigEditError(`${field} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`);
  }
}

function checkArms(arms: readonly number[], seedsPerArm: number): void {
  if (arms.length === 0) throw new ConfigEditError('at least one arm is needed');
  if (arms.length > LIMITS.arms.max) throw new ConfigEditError(`at most ${LIMITS.arms.max} arms`);
  for (const ratio of arms) {
    if (!(Number.isFinite(ratio) && ratio >= 0 && ratio < 1)) throw new ConfigEditError('every mask ratio must be in [0, 1)');
  }
  if (new Set(arms).size !== arms.length) throw new ConfigEditError('each mask ratio may appear only once');
  if (arms.length * seedsPerArm > LIMITS.runs.max) {
    throw new ConfigEditError(`arms × seeds per arm must be at most ${LIMITS.runs.max} runs`);
  }
}

/**
 * The study with the task `task`: its vocabulary and task options come from the first preset of that task
 * (keeping the current model size), falling back to that preset's context when the current one is too short.
 */
function withTask(config: StudyConfig, task: string): StudyConfig {
  if (config.task === task) return config;
  const source = firstPresetOfTask(task);
  if (!source) throw new ConfigEditError(`unknown task (known: ${taskNames().join(', ')})`);
  const next: StudyConfig = structuredClone(config);
  next.task = source.task;
  next.taskOptions = structuredClone(source.taskOptions);
  // The fine-tuning stage belongs to the qa task: it comes with it (the qa preset's settings) and leaves with it.
  delete next.stage;
  if (source.finetune) next.finetune = structuredClone(source.finetune);
  else delete next.finetune;
  next.model = { ...next.model, vocabSize: source.model.vocabSize, maskId: source.model.maskId };
  next.evaluation = { ...next.evaluation, buckets: source.evaluation.buckets };
  // The zero-shot text-needle probe (pretrain-then-probe) reads text prompts: it leaves with the text task.
  if (next.task !== 'text') delete next.zeroShotProbe;
  try {
    validateDroppingMaskOptions(next);
    return next;
  } catch {
    next.model = { ...next.model, context: source.model.context };
    try {
      validateDroppingMaskOptions(next);
    } catch (error) {
      throw new ConfigEditError(`the ${task} task does not fit this model: ${(error as Error).message}`);
    }
    return next;
  }
}

/**
 * Validates a study whose task just changed, first dropping the mask options the new task does not offer
 * (random filler words, protected segments: the text task has neither), as the zero-shot probe is dropped.
 */
function validateDroppingMaskOptions(next: StudyConfig): void {
  for (;;) {
    try {
      validateStudyConfig(next);
      return;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (error.path === 'replace' && next.replace !== undefined) delete next.replace;
      else if (error.path === 'protect' && next.protect !== undefined) delete next.protect;
      else throw error;
    }
  }
}

/**
 * The validation error (src/config/validate.ts checkMaskControls) of a config's mask options against the rest
 * of the study: random filler words or protected segments on a task without them, protected segments with a
 * shared mask. Null when there is none, and at no cost for the paper's policy (nothing is built then).
 */
function maskOptionIssue(c: StudyConfig): ConfigError | null {
  if (c.replace !== 'random-filler' && !(c.protect && c.protect.length > 0)) return null;
  try {
    validateStudyConfig(c);
    return null;
  } catch (error) {
    if (error instanceof ConfigError && (error.path === 'replace' || error.path === 'protect')) return error;
    return null;
  }
}

/** Which mask options a task offers (its first preset, checked by validateStudyConfig), by task name. */
const offeredByTask = new Map<string, { filler: boolean; protect: boolean }>();

/**
 * Whether a task offers `replace: random-filler` (it has filler words) and `protect` (a retrieval block with a
 * needle and a query): the retrieval tasks do, the text task neither. The page's controls offer them accordingly.
 */
export function maskOptionsOfTask(task: string): { filler: boolean; protect: boolean } {
  let offered = offeredByTask.get(task);
  if (!offered) {
    const preset = firstPresetOfTask(task);
    const valid = (c: StudyConfig): boolean => {
      try {
        validateStudyConfig(c);
        return true;
      } catch {
        return false;
      }
    };
    offered = {
      filler: preset !== undefined && valid({ ...preset, replace: 'random-filler' }),
      protect: preset !== undefined && valid({ ...preset, sharedMask: false, protect: [...PROTECT_VALUES] }),
    };
    offeredByTask.set(task, offered);
  }
  return offered;
}

/**
 * The config after setting one value; throws ConfigEditError (a message fit to show) when the value is
 * refused. Setting `preset` replaces everything by that preset.
 */
export function applyEdit<K extends EditableField>(presetName: string, config: StudyConfig, field: K, value: EditableValues[K]): StudyConfig {
  const next = schemaCheckedEdit(presetName, config, field, value);
  // The mask options against the rest of the study (validateStudyConfig's own message): protected segments
  // with a shared mask, say, are refused whichever of the two is set last.
  const clash = maskOptionIssue(next);
  if (clash) throw new ConfigEditError(clash.message);
  return next;
}

/** applyEdit without the mask options' check against the rest of the study (a link checks them once, at the end). */
function schemaCheckedEdit<K extends EditableField>(presetName: string, config: StudyConfig, field: K, value: EditableValues[K]): StudyConfig {
  const next = editedConfig(presetName, config, field, value);
  // Every edit ends in the study schema (src/config/schema.ts), the one the CLI, the engines and
  // uploaded files use: a value the controls' bounds let through but the schema refuses is refused here.
  const issue = studyConfigIssue(next);
  if (issue) throw new ConfigEditError(issue.message);
  return next;
}

function editedConfig<K extends EditableField>(presetName: string, config: StudyConfig, field: K, value: EditableValues[K]): StudyConfig {
  const v = value as EditableValues[EditableField];
  if (field === 'preset') return presetConfig(v as string);
  if (field === 'task') return withTask(config, v as string);
  const next: StudyConfig = structuredClone(config);
  switch (field) {
    case 'steps':
      integerIn(v as number, 'steps', LIMITS.steps.min, LIMITS.steps.max);
      next.steps = v as number;
      return withPresetWarmup(next, presetName);
    case 'batch':
      integerIn(v as number, 'batch', LIMITS.batch.min, LIMITS.batch.max);
      next.batch = v as number;
      return next;
    case 'lr': {
      const lr = v as number;
      if (!(Number.isFinite(lr) && lr >= LIMITS.lr.min && lr <= LIMITS.lr.max)) {
        throw new ConfigEditError(`learning rate must be a number from ${LIMITS.lr.min} to ${LIMITS.lr.max}`);
      }
      next.optimizer.lr = lr;
      return next;
    }
    case 'arms':
      checkArms(v as number[], config.seedsPerArm);
      next.arms = [...(v as number[])];
      return next;
    case 'seedsPerArm':
      integerIn(v as number, 'seeds per arm', LIMITS.seedsPerArm.min, LIMITS.seedsPerArm.max);
      checkArms(config.arms, v as number);
      next.seedsPerArm = v as number;
      return next;
    case 'sharedMask':
      next.sharedMask = v as boolean;
      return next;
    case 'protectQuery':
      // Absent means the paper's policy; only a protecting config carries the field.
      if (v) next.protectQuery = true;
      else delete next.protectQuery;
      return next;
    case 'replace': {
      const mode = v as MaskReplacement;
      if (!REPLACE_VALUES.includes(mode)) throw new ConfigEditError(`masked inputs become one of ${REPLACE_VALUES.join(', ')}`);
      // Absent means the paper's [MASK], as for protectQuery.
      if (mode === 'mask') delete next.replace;
      else next.replace = mode;
      return next;
    }
    case 'protect': {
      const chosen = v as ProtectedSegment[];
      for (const segment of chosen) {
        if (!PROTECT_VALUES.includes(segment)) throw new ConfigEditError(`protected segments are ${PROTECT_VALUES.join(', ')} or none`);
      }
      // One order whatever the link's or the clicks': the same segments are the same study.
      const segments = PROTECT_VALUES.filter((x) => chosen.includes(x));
      if (segments.length === 0) delete next.protect;
      else next.protect = segments;
      return next;
    }
    case 'baseSeed':
      integerIn(v as number, 'base seed', LIMITS.baseSeed.min, LIMITS.baseSeed.max);
      next.baseSeed = v as number;
      return next;
    case 'evalEvery':
      integerIn(v as number, 'evaluate every', LIMITS.evalEvery.min, LIMITS.evalEvery.max);
      next.evaluation = { ...next.evaluation, every: v as number };
      return next;
    case 'finetune': {
      const chosen = v as FinetuneVariant[];
      for (const variant of chosen) {
        if (!(FINETUNE_VARIANTS as readonly string[]).includes(variant)) {
          throw new ConfigEditError(`fine-tuning variants are ${FINETUNE_VARIANTS.join(', ')} or none`);
        }
      }
      // One order whatever the link's: the runs (and their colours) follow it.
      const variants = FINETUNE_VARIANTS.filter((x) => chosen.includes(x));
      if (variants.length === 0) {
        delete next.finetune;
        return next;
      }
      if (config.task !== 'qa') throw new ConfigEditError('only the qa task has a fine-tuning stage');
      next.finetune = { ...(next.finetune ?? defaultFinetune(presetName)), variants };
      return next;
    }
    case 'finetuneSteps': {
      integerIn(v as number, 'fine-tuning steps', LIMITS.finetuneSteps.min, LIMITS.finetuneSteps.max);
      const f = finetuneToEdit(next, 'fine-tuning steps');
      f.steps = v as number;
      f.warmupSteps = Math.min(defaultFinetune(presetName).warmupSteps, Math.max(1, Math.floor(f.steps / 10)));
      return next;
    }
    case 'finetuneLr': {
      const lr = v as number;
      if (!(Number.isFinite(lr) && lr >= LIMITS.lr.min && lr <= LIMITS.lr.max)) {
        throw new ConfigEditError(`fine-tuning learning rate must be a number from ${LIMITS.lr.min} to ${LIMITS.lr.max}`);
      }
      finetuneToEdit(next, 'fine-tuning learning rate').lr = lr;
      return next;
    }
    case 'maskFraction': {
      const fraction = v as number;
      if (!(Number.isFinite(fraction) && fraction >= 0 && fraction < 1)) throw new ConfigEditError('mask fraction must be in [0, 1)');
      finetuneToEdit(next, 'mask fraction').maskFraction = fraction;
      return next;
    }
    case 'minAnswer':
      integerIn(v as number, 'min answer', LIMITS.minAnswer.min, LIMITS.minAnswer.max);
      finetuneToEdit(next, 'min answer').minAnswer = v as number;
      return next;
  }
  throw new ConfigEditError(`unknown field ${String(field)}`);
}

/** The value of every control for a config (what the URL holds). */
export function editableValues(presetName: string, c: StudyConfig): EditableValues {
  return {
    preset: presetName, task: c.task, steps: c.steps, batch: c.batch, lr: c.optimizer.lr, arms: [...c.arms],
    seedsPerArm: c.seedsPerArm, sharedMask: c.sharedMask, protectQuery: c.protectQuery === true,
    replace: c.replace ?? 'mask', protect: [...(c.protect ?? [])], baseSeed: c.baseSeed,
    evalEvery: c.evaluation.every,
    finetune: c.finetune ? [...c.finetune.variants] : [],
    finetuneSteps: c.finetune?.steps ?? 0, finetuneLr: c.finetune?.lr ?? 0,
    maskFraction: c.finetune?.maskFraction ?? 0, minAnswer: c.finetune?.minAnswer ?? 0,
  };
}

/** Whether a config departs from the paper's mask policy in a mask option (MASK_FIELDS). */
function hasMaskOption(c: StudyConfig | undefined, field: EditableField): boolean {
  if (!c) return false;
  return field === 'replace' ? c.replace !== undefined && c.replace !== 'mask' : c.protect !== undefined && c.protect.length > 0;
}

/**
 * The fields a config's URL holds: the fine-tuning ones for qa studies only (and without a stage, only
 * `finetune=none`), a mask option only when the config or its preset has one.
 */
function urlFields(presetName: string, c: StudyConfig): readonly EditableField[] {
  const preset = isKnownPresetName(presetName) ? presetConfig(presetName) : undefined;
  const fields = FIELDS.filter((f) => !MASK_FIELDS.includes(f) || hasMaskOption(c, f) || hasMaskOption(preset, f));
  if (c.task !== 'qa') return fields;
  return c.finetune ? [...fields, ...FINETUNE_FIELDS] : [...fields, 'finetune'];
}

function formatValue(field: EditableField, value: EditableValues[EditableField]): string {
  if (field === 'arms') return (value as number[]).map(String).join(',');
  if (field === 'finetune') return (value as string[]).length > 0 ? (value as string[]).join(',') : 'none';
  if (field === 'sharedMask' || field === 'protectQuery') return value ? '1' : '0';
  if (field === 'protect') return (value as string[]).length > 0 ? (value as string[]).join(',') : 'none';
  return String(value);
}

/** Parses one query value; throws ConfigEditError when it is not of the field's type. */
function parseValue(field: EditableField, text: string): EditableValues[EditableField] {
  // Decimal notation only (util/decimal.ts): Number() would read "0x10" as 16 and "" as 0.
  const number = (t: string): number => {
    const value = parseDecimal(t.trim());
    if (value === null) throw new ConfigEditError(`${field} must be a number in decimal notation`);
    return value;
  };
  switch (field) {
    case 'preset': case 'task': return text;
    case 'arms': return text.split(',').map(number);
    case 'finetune': {
      const t = text.trim().toLowerCase();
      return t === 'none' || t === '' ? [] : t.split(',').map((x) => x.trim()) as FinetuneVariant[];
    }
    case 'sharedMask': case 'protectQuery': {
      const t = text.trim().toLowerCase();
      if (t === '1' || t === 'true' || t === 'yes') return true;
      if (t === '0' || t === 'false' || t === 'no') return false;
      throw new ConfigEditError(`${field} must be 1 or 0`);
    }
    case 'replace': {
      const t = text.trim().toLowerCase();
      if (!(REPLACE_VALUES as readonly string[]).includes(t)) throw new ConfigEditError(`replace must be one of ${REPLACE_VALUES.join(', ')}`);
      return t as MaskReplacement;
    }
    case 'protect': {
      const t = text.trim().toLowerCase();
      const segments = t === 'none' || t === '' ? [] : t.split(',').map((x) => x.trim());
      if (!segments.every((x) => (PROTECT_VALUES as readonly string[]).includes(x))) {
        throw new ConfigEditError(`protect must be none or a list of ${PROTECT_VALUES.join(', ')}`);
      }
      return segments as ProtectedSegment[];
    }
    default: return number(text);
  }
}

/** Shows a user-supplied value safely: short, and only ever as text. */
export function quoteRaw(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

export interface ParsedConfig {
  presetName: string;
  config: StudyConfig;
  /** One line per refused value: what was ignored and why. */
  notices: string[];
  /** Whether the query named any of the config's fields (a shared link rather than a plain visit). */
  fromLink: boolean;
}

/**
 * The config a query string describes; values that are refused are ignored and reported. The mask options are
 * checked against the rest of the study once all values are read (so the order of the link's values does not
 * matter): a clash refuses the link's mask option, else the link's value it clashes with (sharedMask, task).
 */
export function configFromQuery(search: string): ParsedConfig {
  const params = new URLSearchParams(search);
  const refused = new Map<EditableField, string>();
  for (;;) {
    const { applied, ...read } = readQuery(params, refused);
    const clash = maskOptionIssue(read.config);
    if (!clash) return read;
    const culprit = ([clash.path, 'sharedMask', 'task'] as EditableField[]).find((f) => applied.has(f));
    // Only the link's values can clash: a preset's own config is valid.
    if (culprit === undefined) throw clash;
    refused.set(culprit, clash.message);
  }
}

/** configFromQuery's reading of every field, the `refused` ones ignored with their reason. */
function readQuery(params: URLSearchParams, refused: ReadonlyMap<EditableField, string>): ParsedConfig & { applied: Set<EditableField> } {
  const notices: string[] = [];
  const applied = new Set<EditableField>();
  let presetName = defaultPresetName();
  let config = presetConfig(presetName);
  let fromLink = false;
  for (const field of ALL_FIELDS) {
    const all = params.getAll(field);
    if (all.length === 0) continue;
    fromLink = true;
    const raw = all[all.length - 1];
    try {
      const reason = refused.get(field);
      if (reason !== undefined) throw new ConfigEditError(reason);
      const value = parseValue(field, raw);
      config = schemaCheckedEdit(presetName, config, field, value);
      applied.add(field);
      if (field === 'preset') presetName = value as string;
    } catch (error) {
      const reason = error instanceof ConfigEditError ? error.message : 'not a valid value';
      notices.push(`Ignored ${field}=${quoteRaw(raw)} from the link: ${reason}.`);
    }
  }
  return { presetName, config, notices, fromLink, applied };
}

/**
 * The query string of a config: every control's value, keeping any parameter that is not the config's
 * (other views may keep their own state in the URL).
 */
export function configToQuery(presetName: string, config: StudyConfig, existing = ''): string {
  const params = new URLSearchParams(existing);
  const values = editableValues(presetName, config);
  for (const field of [...MASK_FIELDS, ...FINETUNE_FIELDS]) params.delete(field);
  for (const field of urlFields(presetName, config)) params.set(field, formatValue(field, values[field]));
  return params.toString().replace(/%2C/g, ',');
}

/** Fields whose values differ between two configs (for "changes apply on reset"). */
export function changedFields(aPreset: string, a: StudyConfig, bPreset: string, b: StudyConfig): EditableField[] {
  const va = editableValues(aPreset, a), vb = editableValues(bPreset, b);
  return ALL_FIELDS.filter((f) => formatValue(f, va[f]) !== formatValue(f, vb[f]));
}

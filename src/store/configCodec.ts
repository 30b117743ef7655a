/**
 * The study config the page trains, as "a preset plus the user's edits", and its query-string form.
 * The URL holds every control's value, so a shared link rebuilds the same StudyConfig (and, the runs being
 * pure functions of it, the same curves). The page's controls and the URL go through the same `applyEdit`,
 * so a value the controls refuse is refused from a link too, with the same reason.
 */
import { FINETUNE_VARIANTS, type FinetuneConfig, type FinetuneVariant, type StudyConfig } from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { studyConfigIssue } from '../config/schema';
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
export const FIELDS: readonly EditableField[] = ['preset', 'task', 'steps', 'batch', 'lr', 'arms', 'seedsPerArm', 'sharedMask', 'protectQuery', 'baseSeed', 'evalEvery'];

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
    validateStudyConfig(next);
    return next;
  } catch {
    next.model = { ...next.model, context: source.model.context };
    try {
      validateStudyConfig(next);
    } catch (error) {
      throw new ConfigEditError(`the ${task} task does not fit this model: ${(error as Error).message}`);
    }
    return next;
  }
}

/**
 * The config after setting one value; throws ConfigEditError (a message fit to show) when the value is
 * refused. Setting `preset` replaces everything by that preset.
 */
export function applyEdit<K extends EditableField>(presetName: string, config: StudyConfig, field: K, value: EditableValues[K]): StudyConfig {
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
    seedsPerArm: c.seedsPerArm, sharedMask: c.sharedMask, protectQuery: c.protectQuery === true, baseSeed: c.baseSeed,
    evalEvery: c.evaluation.every,
    finetune: c.finetune ? [...c.finetune.variants] : [],
    finetuneSteps: c.finetune?.steps ?? 0, finetuneLr: c.finetune?.lr ?? 0,
    maskFraction: c.finetune?.maskFraction ?? 0, minAnswer: c.finetune?.minAnswer ?? 0,
  };
}

/** The fields a config's URL holds: the fine-tuning ones for qa studies only (and without a stage, only `finetune=none`). */
function urlFields(c: StudyConfig): readonly EditableField[] {
  if (c.task !== 'qa') return FIELDS;
  return c.finetune ? ALL_FIELDS : [...FIELDS, 'finetune'];
}

function formatValue(field: EditableField, value: EditableValues[EditableField]): string {
  if (field === 'arms') return (value as number[]).map(String).join(',');
  if (field === 'finetune') return (value as string[]).length > 0 ? (value as string[]).join(',') : 'none';
  if (field === 'sharedMask' || field === 'protectQuery') return value ? '1' : '0';
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

/** The config a query string describes; values that are refused are ignored and reported. */
export function configFromQuery(search: string): ParsedConfig {
  const params = new URLSearchParams(search);
  const notices: string[] = [];
  let presetName = defaultPresetName();
  let config = presetConfig(presetName);
  let fromLink = false;
  for (const field of ALL_FIELDS) {
    const all = params.getAll(field);
    if (all.length === 0) continue;
    fromLink = true;
    const raw = all[all.length - 1];
    try {
      const value = parseValue(field, raw);
      config = applyEdit(presetName, config, field, value);
      if (field === 'preset') presetName = value as string;
    } catch (error) {
      const reason = error instanceof ConfigEditError ? error.message : 'not a valid value';
      notices.push(`Ignored ${field}=${quoteRaw(raw)} from the link: ${reason}.`);
    }
  }
  return { presetName, config, notices, fromLink };
}

/**
 * The query string of a config: every control's value, keeping any parameter that is not the config's
 * (other views may keep their own state in the URL).
 */
export function configToQuery(presetName: string, config: StudyConfig, existing = ''): string {
  const params = new URLSearchParams(existing);
  const values = editableValues(presetName, config);
  for (const field of FINETUNE_FIELDS) params.delete(field);
  for (const field of urlFields(config)) params.set(field, formatValue(field, values[field]));
  return params.toString().replace(/%2C/g, ',');
}

/** Fields whose values differ between two configs (for "changes apply on reset"). */
export function changedFields(aPreset: string, a: StudyConfig, bPreset: string, b: StudyConfig): EditableField[] {
  const va = editableValues(aPreset, a), vb = editableValues(bPreset, b);
  return ALL_FIELDS.filter((f) => formatValue(f, va[f]) !== formatValue(f, vb[f]));
}

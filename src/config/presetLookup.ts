/**
 * The presets as the page and its records look them up (shared by the URL codec, store/configCodec.ts, and
 * the page's study record, study/pageRecord.ts): their names, a preset's config with the warm-up rule
 * applied, and config equality. The named studies offered as `study:NAME` presets are study/'s
 * (study/studyPresets.ts): config/ knows no study.
 */
import { PRESETS, type StudyConfig } from './presets';
import { parsePresetName } from './schema';

/** A refused preset name or edited value; its message is fit to show. */
export class ConfigEditError extends RangeError {
  override name = 'ConfigEditError';
}

const presetTable = PRESETS as Record<string, StudyConfig>;

export function presetNames(): string[] {
  return Object.keys(presetTable);
}

/** needle-s when it exists: the study the page is about; otherwise the first preset. */
export function defaultPresetName(): string {
  return presetTable['needle-s'] ? 'needle-s' : presetNames()[0];
}

/** The distinct tasks of the presets, in preset order. */
export function taskNames(): string[] {
  return [...new Set(Object.values(presetTable).map((p) => p.task as string))];
}

/** The first preset of a task (where the page takes a task's vocabulary and options from), if any. */
export function firstPresetOfTask(task: string): StudyConfig | undefined {
  return Object.values(presetTable).find((p) => p.task === task);
}

/** A plain preset's own warm-up (undefined when `name` is no plain preset). */
export function plainPresetWarmup(name: string): number | undefined {
  return Object.hasOwn(presetTable, name) ? presetTable[name].optimizer.warmupSteps : undefined;
}

/** A plain preset's config (a copy), its warm-up capped for its steps; ConfigEditError for an unknown name. */
export function plainPresetConfig(name: string): StudyConfig {
  // The schema's preset names: own keys of PRESETS only (a link's "__proto__" or "constructor" is no preset).
  try {
    parsePresetName(name);
  } catch {
    throw new ConfigEditError(`unknown preset (known: ${presetNames().join(', ')})`);
  }
  const config = structuredClone(presetTable[name]);
  return withWarmupCapped(config, config.optimizer.warmupSteps);
}

/**
 * Warm-up never exceeds a tenth of a short run, so quick runs still reach their peak rate. The same rule
 * as `npm run compare`, so the page's run and the CLI's run of the same values are the same run.
 * `warmup` is what the preset starts from, before the steps shorten it; `config` is changed and returned.
 */
export function withWarmupCapped(config: StudyConfig, warmup: number): StudyConfig {
  config.optimizer.warmupSteps = Math.min(warmup, Math.max(1, Math.floor(config.steps / 10)));
  return config;
}

/** Same config (every field of the StudyConfig, not only the editable ones). */
export function sameConfig(a: StudyConfig | undefined, b: StudyConfig | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

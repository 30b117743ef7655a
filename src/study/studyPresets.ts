/**
 * The named studies of `npm run reproduce` offered to the page as presets, `study:NAME`, beside the plain
 * presets of config/presetLookup.ts: a study preset's config is the study's own (arms × seeds and all), so
 * an unedited study preset trains what the CLI trains. Used by the URL codec (store/configCodec.ts) and the
 * page's study record (pageRecord.ts).
 */
import type { StudyConfig } from '../config/presets';
import { ConfigEditError, plainPresetConfig, plainPresetWarmup, presetNames, sameConfig, withWarmupCapped } from '../config/presetLookup';
import { STUDY_NAMES, studyDefinition, type StudyDefinition } from './studies';

export const STUDY_PRESET_PREFIX = 'study:';

/**
 * Seeds per arm a study preset trains in the page: the page trains every run of a study at once, and its
 * limits (16 seeds per arm, 64 runs) keep that within a browser tab, so a study planned with more seeds (the
 * 64-seed needle-quick family) offers its first 16 there; `npm run reproduce` and the twin train them all.
 */
export const PAGE_STUDY_SEEDS = 16;
/** The page's limit on arms × seeds per arm (the config codec's LIMITS.runs.max; a test holds them equal). */
export const PAGE_STUDY_RUNS = 64;

/**
 * The config the page trains for a study: the study's own, its seeds capped at PAGE_STUDY_SEEDS and so that all
 * its arms fit in PAGE_STUDY_RUNS (the 5-arm needle-quick-sweep offers 12 seeds per arm).
 */
export function pageStudyConfig(d: StudyDefinition): StudyConfig {
  const seeds = Math.min(d.config.seedsPerArm, PAGE_STUDY_SEEDS, Math.floor(PAGE_STUDY_RUNS / d.config.arms.length));
  return { ...structuredClone(d.config), seedsPerArm: seeds };
}

export function studyPresetNames(): string[] {
  return STUDY_NAMES.map((name) => `${STUDY_PRESET_PREFIX}${name}`);
}

/** The study a preset name names (`study:needle-s` → needle-s), or null for a plain preset or an unknown study. */
export function studyOfPreset(presetName: string): string | null {
  if (!presetName.startsWith(STUDY_PRESET_PREFIX)) return null;
  const name = presetName.slice(STUDY_PRESET_PREFIX.length);
  // Own names only: a link's "study:__proto__" is no study.
  return STUDY_NAMES.includes(name) ? name : null;
}

/** The definition behind a study preset (null for a plain preset). */
export function studyPresetDefinition(presetName: string): StudyDefinition | null {
  const name = studyOfPreset(presetName);
  return name === null ? null : studyDefinition(name);
}

/** Whether the page knows the name: a preset or a study preset (e.g. a checkpoint's name for its config). */
export function isKnownPresetName(name: string): boolean {
  return presetNames().includes(name) || studyOfPreset(name) !== null;
}

/** Whether `config` is exactly the named study's config (nothing edited on top of the study preset). */
export function isUneditedStudy(presetName: string, config: StudyConfig): boolean {
  const d = studyPresetDefinition(presetName);
  return d !== null && sameConfig(pageStudyConfig(d), config);
}

/** The config of a preset or study preset (a copy); ConfigEditError for an unknown name. */
export function presetConfig(name: string): StudyConfig {
  if (name.startsWith(STUDY_PRESET_PREFIX)) {
    const d = studyPresetDefinition(name);
    if (!d) throw new ConfigEditError(`unknown study (known: ${STUDY_NAMES.join(', ')})`);
    // The study's config as `npm run reproduce` builds it (its warm-up rule already applied), seeds capped for the page.
    return pageStudyConfig(d);
  }
  return plainPresetConfig(name);
}

/**
 * `config` with its warm-up capped for its steps (config/presetLookup.ts's rule), starting from the warm-up
 * of the preset or study preset it was edited from (its own when the name is neither).
 */
export function withPresetWarmup(config: StudyConfig, presetName: string): StudyConfig {
  const warmup = plainPresetWarmup(presetName) ?? studyPresetDefinition(presetName)?.config.optimizer.warmupSteps;
  return withWarmupCapped(config, warmup ?? config.optimizer.warmupSteps);
}

/**
 * The page's own run as a study record (reports/<study>/study.json's format), so the page's report view and
 * `npm run reproduce -- --from study.json` compute the very statistics of `npm run reproduce` from it.
 *
 * The page trains every arm × seed of its study in one go (one Study, one "unit"), from the config's base
 * seed: an unedited study preset is the named study's config, but its seeds are drawn as one unit, not in
 * the CLI's units of `seedsPerUnit` (unit u seeds from baseSeed + u), so its runs are other draws of the
 * same study — the same question, not the same numbers.
 */
import type { StudyConfig } from '../config/presets';
import { armLabel } from '../util/palette';
import { sameConfig } from '../config/presetLookup';
import { pageStudyConfig, presetConfig, studyPresetDefinition } from './studyPresets';
import { SEEDS_FOR_CLAIM, type StudyDefinition } from './studies';
import { STUDY_FORMAT, type StudyRecord } from './report';
import { UNIT_FORMAT, type RunRecord, type UnitRecord } from './records';
import type { HistoryPoint, RunInfo, EngineKind } from '../engine/types';
import type { AdapterReport } from '../gpu/context';
import type { AttentionRecord } from '../engine/modelAnalysis';

/** The study name of a record of anything but an unedited named study. */
export const PLAYGROUND_STUDY = 'playground-run';
/** Evaluation examples the attention analyses use when the study names none. */
export const DEFAULT_ATTENTION_EXAMPLES = 8;
/** Accuracy at which a seed counts as having learned retrieval (the named studies' threshold). */
export const PLAYGROUND_LEARNED_THRESHOLD = 0.5;

/** Whether the study scores retrieval: every task but plain text, and text with the zero-shot probe. */
export function hasRetrievalScore(config: StudyConfig): boolean {
  return config.task !== 'text' || config.zeroShotProbe !== undefined;
}

/**
 * The label of the evaluation's buckets ('' when the study scores no retrieval), from the task's own label
 * as the Worker sent it with the built study (the page builds no task).
 */
export function bucketLabelOf(config: StudyConfig, taskBucketLabel: string): string {
  if (config.task === 'text') return config.zeroShotProbe ? 'fact depth' : '';
  return taskBucketLabel;
}

function describePreset(presetName: string, config: StudyConfig): string {
  const named = studyPresetDefinition(presetName);
  let edited = true;
  try {
    edited = !sameConfig(presetConfig(presetName), config);
  } catch {
    // An unknown preset name: describe the config as edited.
  }
  const base = named ? `the ${named.name} study preset` : `the ${presetName} preset`;
  return edited ? `${base} with edits` : base;
}

/**
 * The definition of the page's study: the named study's own when the page trains an unedited study preset
 * (all seeds in one unit, as the page trains them), otherwise a playground definition that names the preset
 * and the arms.
 */
export function pageDefinition(presetName: string, config: StudyConfig, taskBucketLabel: string, attentionExamples?: number): StudyDefinition {
  const named = studyPresetDefinition(presetName);
  if (named && sameConfig(pageStudyConfig(named), config)) {
    return { ...named, config: structuredClone(config), seedsPerUnit: config.seedsPerArm, attentionExamples: attentionExamples ?? named.attentionExamples };
  }
  const m = config.model;
  const arms = config.arms.map((r) => armLabel(r));
  const meap = config.arms.filter((r) => r > 0).map((r) => `P = ${r}`);
  const setting = `${config.task} task, ${m.layers} layers, d ${m.dModel}, T = ${m.context}, batch ${config.batch}, ${config.steps} steps`;
  const asks = hasRetrievalScore(config)
    ? `does MEAP${meap.length > 0 ? ` at ${meap.join(' / ')}` : ''} learn retrieval more often, sooner or better than NTP (P = 0)?`
    : `does MEAP${meap.length > 0 ? ` at ${meap.join(' / ')}` : ''} reach a lower clean validation loss than NTP (P = 0)? (This task has no retrieval answers to score.)`;
  return {
    name: PLAYGROUND_STUDY,
    title: `playground run: ${arms.join(' vs ')} on ${describePreset(presetName, config)}`,
    question: `In this playground run (${describePreset(presetName, config)}: ${setting}), ${asks}`,
    config: structuredClone(config),
    seedsPerUnit: config.seedsPerArm,
    learnedThreshold: PLAYGROUND_LEARNED_THRESHOLD,
    attentionExamples: attentionExamples ?? DEFAULT_ATTENTION_EXAMPLES,
    bucketLabel: bucketLabelOf(config, taskBucketLabel) || 'bucket',
    seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

/** The adapter as `npm run reproduce` names it (see adapterName in runner.ts). */
export function pageAdapterName(engine: EngineKind | null, adapter: AdapterReport | null): string {
  if (engine === 'cpu') return 'CPU reference engine (no WebGPU)';
  if (!adapter) return 'unknown adapter';
  const name = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter((s) => s && s.trim() !== '').join(' / ') || 'unknown adapter';
  return adapter.isFallbackAdapter ? `${name} (software)` : name;
}

/** Training time from the speed series: each interval's steps at its measured ms per step. */
export function trainingMs(speed: { steps: readonly number[]; msPerStep: readonly number[] }): number {
  let total = 0;
  let previous = 0;
  speed.steps.forEach((step, k) => {
    const ms = speed.msPerStep[k];
    if (Number.isFinite(ms)) total += Math.max(0, step - previous) * ms;
    previous = step;
  });
  return Math.round(total);
}

export interface PageRecordInput {
  /** The page's name for the config: a preset, or `study:NAME` for a named study. */
  presetName: string;
  /** The config the Worker built (the runs store's study.config), and its task's bucket label (study.task.bucketLabel). */
  config: StudyConfig;
  bucketLabel: string;
  /** The runs in the Worker's order, and their evaluation histories (evals.points, aligned across runs). */
  runs: readonly RunInfo[];
  points: readonly (readonly HistoryPoint[])[];
  engine: EngineKind | null;
  adapter: AdapterReport | null;
  /** Attention analyses, one per run in the same order, or null when they were not run. */
  attention: readonly AttentionRecord[] | null;
  /** The page's URL: the "command" that reproduces the config. */
  command: string;
  /** When the numbers were taken (ISO 8601). */
  generatedAt: string;
  trainingMs: number;
}

/** The page's run as a StudyRecord: one unit with every run. */
export function pageStudyRecord(input: PageRecordInput): StudyRecord {
  const { config, runs, points, attention } = input;
  if (runs.length === 0) throw new RangeError('the study has no runs');
  if (points.length < runs.length) throw new RangeError(`${runs.length} runs but evaluations of ${points.length}`);
  if (attention && attention.length !== runs.length) throw new RangeError(`${runs.length} runs but ${attention.length} attention records`);
  const definition = pageDefinition(input.presetName, config, input.bucketLabel, attention?.[0]?.examples.length);
  // Every run is evaluated at the same steps; a run's history is cut to the steps all runs reached.
  const evaluations = Math.min(...runs.map((_, r) => points[r].length));
  const runRecords: RunRecord[] = runs.map((run, r) => ({
    arm: run.arm, maskRatio: run.maskRatio, objective: run.objective,
    seed: run.seed, unit: 0, unitSeed: run.seed,
    history: points[r].slice(0, evaluations).map((p) => ({ ...p, accByDepth: [...p.accByDepth] })),
    attention: attention ? structuredClone(attention[r]) : null,
  }));
  const finishedAt = input.generatedAt;
  const unit: UnitRecord = {
    format: UNIT_FORMAT, study: definition.name, quick: false, unit: 0,
    key: JSON.stringify({ format: UNIT_FORMAT, study: definition.name, source: 'page', config }),
    config: structuredClone(config),
    adapter: pageAdapterName(input.engine, input.adapter),
    softwareAdapter: input.engine === 'cpu' || input.adapter?.isFallbackAdapter === true,
    startedAt: new Date(Date.parse(finishedAt) - input.trainingMs).toISOString(),
    finishedAt,
    wallMs: input.trainingMs,
    runs: runRecords,
  };
  return {
    format: STUDY_FORMAT, study: definition.name, quick: false, command: input.command,
    generatedAt: input.generatedAt, definition, units: [unit],
  };
}

/** The step the record's numbers are "as of" (its last evaluation; 0 before any). */
export function recordStep(record: StudyRecord): number {
  const history = record.units[0]?.runs[0]?.history ?? [];
  return history[history.length - 1]?.step ?? 0;
}

/**
 * Trains one unit of a study (all arms × the unit's seeds in one Study), evaluates it during training,
 * and runs the attention analyses on the trained models before they are freed. The result is a plain
 * JSON-able record: the unit file that makes a study resumable.
 */
import type { GpuContext } from '../gpu/context';
import { runStudy } from '../engine/trainingLoop';
import { unitConfig, type StudyDefinition } from './studies';
import { analyseAttention, probeSetFor, PAIRED_MASK_RATIO, type AttentionRecord } from '../engine/modelAnalysis';
import { UNIT_FORMAT, type RunRecord, type UnitRecord } from './records';
import type { HistoryPoint } from '../engine/types';

export { pairedMaskPositions, type AttentionRecord } from '../engine/modelAnalysis';
export { UNIT_FORMAT, type RunRecord, type UnitRecord } from './records';

/** The resume key of unit u: its training config and everything else its numbers depend on. */
export function unitKey(d: StudyDefinition, u: number, quick: boolean): string {
  return JSON.stringify({
    format: UNIT_FORMAT, study: d.name, quick, unit: u, config: unitConfig(d, u),
    probe: d.config.zeroShotProbe ?? null, attentionExamples: d.attentionExamples, pairedMaskRatio: PAIRED_MASK_RATIO,
  });
}

export function adapterName(ctx: GpuContext): string {
  const a = ctx.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s && s.trim() !== '').join(' / ') || 'unknown adapter';
  return a.isFallbackAdapter ? `${name} (software)` : name;
}

export interface UnitProgress {
  unit: number;
  step: number;
  steps: number;
  points: HistoryPoint[];
  runs: { arm: number; maskRatio: number; finetune?: string }[];
}

/** Trains unit u of the study to the end and analyses its models. */
export async function trainUnit(
  ctx: GpuContext, d: StudyDefinition, u: number, quick: boolean, onEvaluation?: (progress: UnitProgress) => void,
): Promise<UnitRecord> {
  const config = unitConfig(d, u);
  const startedAt = new Date();
  const t0 = performance.now();
  const probeSet = probeSetFor(config);
  let attention: AttentionRecord[] = [];
  const { runs: trained } = await runStudy(ctx, config, {
    probeSet,
    onEvaluation: (step, points, runs) => onEvaluation?.({ unit: u, step, steps: config.steps, points, runs }),
    onFinished: async (study) => { attention = await analyseAttention(study, probeSet, d.attentionExamples); },
  });
  const runs: RunRecord[] = trained.map((run, r) => ({
    arm: run.arm, maskRatio: run.maskRatio, objective: run.objective,
    seed: u * d.seedsPerUnit + run.seed, unit: u, unitSeed: run.seed,
    history: run.history, attention: attention[r],
  }));
  return {
    format: UNIT_FORMAT, study: d.name, quick, unit: u, key: unitKey(d, u, quick), config,
    adapter: adapterName(ctx), softwareAdapter: ctx.adapter.isFallbackAdapter,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), wallMs: Math.round(performance.now() - t0), runs,
  };
}

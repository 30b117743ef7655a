/**
 * Trains one unit of a study (all arms × the unit's seeds in one Study), evaluates it during training,
 * and runs the attention analyses on the trained models before they are freed. The result is a plain
 * JSON-able record: the unit file that makes a study resumable.
 */
import type { GpuContext } from '../gpu/context';
import { Study } from '../engine/gpuStudy';
import { unitConfig, type StudyDefinition } from './studies';
import { analyseAttention, evaluateRuns, probeSetFor, PAIRED_MASK_RATIO } from '../engine/modelAnalysis';
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
  runs: { arm: number; maskRatio: number }[];
}

/** Trains unit u of the study to the end and analyses its models. */
export async function trainUnit(
  ctx: GpuContext, d: StudyDefinition, u: number, quick: boolean, onEvaluation?: (progress: UnitProgress) => void,
): Promise<UnitRecord> {
  const config = unitConfig(d, u);
  const startedAt = new Date();
  const t0 = performance.now();
  const study = await Study.create(ctx, config);
  try {
    const probeSet = probeSetFor(config);
    const histories: HistoryPoint[][] = study.runs.map(() => []);
    const tokensPerStep = study.R * config.batch * config.model.context;
    let trainingMs = 0;
    let stepsInInterval = 0;
    for (let step = 1; step <= config.steps; step++) {
      const start = performance.now();
      study.trainStep();
      stepsInInterval++;
      if (!(step % config.evaluation.every === 0 || step === config.steps)) {
        trainingMs += performance.now() - start;
        continue;
      }
      const trainLoss = await study.intervalLosses();
      trainingMs += performance.now() - start;
      const tokensPerSec = (tokensPerStep * stepsInInterval) / (trainingMs / 1000);
      trainingMs = 0;
      stepsInInterval = 0;
      const evaluation = await evaluateRuns(study, probeSet);
      const points = evaluation.map((e, r) => ({ step, trainLoss: trainLoss[r], ...e, tokensPerSec }));
      points.forEach((p, r) => histories[r].push(p));
      onEvaluation?.({ unit: u, step, steps: config.steps, points, runs: study.runs });
    }
    const attention = await analyseAttention(study, probeSet, d.attentionExamples);
    const runs: RunRecord[] = study.runs.map((run, r) => ({
      arm: run.arm, maskRatio: run.maskRatio, objective: run.objective,
      seed: u * d.seedsPerUnit + run.seed, unit: u, unitSeed: run.seed,
      history: histories[r], attention: attention[r],
    }));
    return {
      format: UNIT_FORMAT, study: d.name, quick, unit: u, key: unitKey(d, u, quick), config,
      adapter: adapterName(ctx), softwareAdapter: ctx.adapter.isFallbackAdapter,
      startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), wallMs: Math.round(performance.now() - t0), runs,
    };
  } finally {
    study.dispose();
  }
}

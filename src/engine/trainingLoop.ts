/**
 * Runs a study to the end, evaluating every `evaluation.every` steps, and collects each run's history.
 * Shared by the CLI (`npm run compare`) and the headless study tools.
 */
import type { GpuContext } from '../gpu/context';
import type { StudyConfig } from '../config/presets';
import { Study } from './gpuStudy';
import type { RunInfo, HistoryPoint } from './types';

export interface RunHistory extends RunInfo {
  history: HistoryPoint[];
}

export interface StudyResult {
  config: StudyConfig;
  runs: RunHistory[];
}

export interface RunStudyHooks {
  onEvaluation?: (step: number, points: HistoryPoint[], runs: RunInfo[]) => void;
  /** Called once after the last step, before the study is disposed (e.g. to save the trained weights). */
  onFinished?: (study: Study) => Promise<void>;
}

export async function runStudy(ctx: GpuContext, config: StudyConfig, hooks: RunStudyHooks = {}): Promise<StudyResult> {
  const { onEvaluation, onFinished } = hooks;
  const study = await Study.create(ctx, config);
  const { R } = study;
  const tokensPerStep = R * config.batch * config.model.context;
  const histories: RunHistory[] = study.runs.map((run) => ({ ...run, history: [] }));
  try {
    let trainingMs = 0;
    let stepsInInterval = 0;
    for (let step = 1; step <= config.steps; step++) {
      const start = performance.now();
      study.trainStep();
      stepsInInterval++;
      const evaluate = step % config.evaluation.every === 0 || step === config.steps;
      if (!evaluate) {
        trainingMs += performance.now() - start;
        continue;
      }
      // Reading the interval's losses waits for the GPU: it closes the timing of the training steps.
      const trainLoss = await study.intervalLosses();
      trainingMs += performance.now() - start;
      const tokensPerSec = (tokensPerStep * stepsInInterval) / (trainingMs / 1000);
      trainingMs = 0;
      stepsInInterval = 0;
      const evaluation = await study.evaluate();
      const points = evaluation.map((e, r) => ({ step, trainLoss: trainLoss[r], ...e, tokensPerSec }));
      points.forEach((p, r) => histories[r].history.push(p));
      onEvaluation?.(step, points, study.runs);
    }
    await onFinished?.(study);
    return { config, runs: histories };
  } finally {
    study.dispose();
  }
}

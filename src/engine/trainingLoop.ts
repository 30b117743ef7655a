/**
 * The training loop, written once for every engine: take a step, close the interval (read its training
 * losses and its speed), evaluate, make the history points. `trainToEnd` runs it straight through for
 * `npm run compare` (runStudy) and `npm run reproduce` (src/study/runner.ts); the page's interactive
 * session (src/session/loop.ts) drives the same pieces one step at a time.
 */
import type { GpuContext } from '../gpu/context';
import type { StudyConfig } from '../config/presets';
import type { TextProbeSet } from '../data/textProbe';
import { Study } from './gpuStudy';
import { finetuneStageConfig, pretrainStageConfig } from '../config/finetuneStage';
import { evaluateRuns } from './modelAnalysis';
import type { IntervalReport, StudyEngine } from './studyEngine';
import type { RunInfo, HistoryPoint } from './types';

/** Whether an evaluation follows `step` (every `evaluation.every` steps, and after the last). */
export function isEvaluationStep(config: StudyConfig, step: number): boolean {
  return step % config.evaluation.every === 0 || step === config.steps;
}

/** An interval's training losses with the speed of its steps. */
export interface ClosedInterval extends IntervalReport {
  stepsPerSecond: number;
  tokensPerSecond: number;
}

/**
 * The training steps since the interval's losses were last read and the time they took: what tokens/s
 * is measured over. Only training counts, not evaluations, probes or checkpoints.
 */
export class IntervalClock {
  steps = 0;
  ms = 0;

  /**
   * Takes one training step of every run; `settle` (e.g. waiting for the GPU) counts as training time.
   * Returns when the step started.
   */
  async step(engine: StudyEngine, settle?: () => Promise<void> | undefined): Promise<number> {
    const started = performance.now();
    engine.trainStep();
    await settle?.();
    this.ms += performance.now() - started;
    this.steps++;
    return started;
  }

  /** Reads the interval's losses, which waits for the GPU and so closes the timing of its steps; starts a new interval. */
  async close(engine: StudyEngine): Promise<ClosedInterval> {
    const waitStart = performance.now();
    const report = await engine.intervalReport();
    this.ms += performance.now() - waitStart;
    const stepsPerSecond = this.steps / (Math.max(this.ms, 1e-3) / 1000);
    const tokensPerSecond = stepsPerSecond * engine.R * engine.config.batch * engine.config.model.context;
    this.reset();
    return { ...report, stepsPerSecond, tokensPerSecond };
  }

  reset(): void {
    this.steps = 0;
    this.ms = 0;
  }
}

/**
 * Evaluates every run (the zero-shot probe replaces the retrieval score when there is a probe set) and
 * makes the history points of the engine's step with each run's training loss and the speed.
 */
export async function evaluationPoints(
  engine: StudyEngine, probeSet: TextProbeSet | null, trainLoss: readonly number[], tokensPerSec: number,
): Promise<HistoryPoint[]> {
  const evaluation = await evaluateRuns(engine, probeSet);
  return evaluation.map((e, r) => ({ step: engine.step, trainLoss: trainLoss[r], ...e, tokensPerSec }));
}

export interface TrainToEndOptions {
  /** Zero-shot probe prompts scored at each evaluation instead of the task's retrieval answers. */
  probeSet?: TextProbeSet | null;
  onEvaluation?: (step: number, points: HistoryPoint[], runs: RunInfo[]) => void;
}

/**
 * Trains `engine` from its step to the last, evaluating after every `evaluation.every` steps and the last;
 * each evaluation's training loss is the mean over the steps since the previous one. Returns each run's history.
 */
export async function trainToEnd(engine: StudyEngine, options: TrainToEndOptions = {}): Promise<HistoryPoint[][]> {
  const { config } = engine;
  const histories: HistoryPoint[][] = engine.runs.map(() => []);
  const clock = new IntervalClock();
  while (engine.step < config.steps) {
    await clock.step(engine);
    if (!isEvaluationStep(config, engine.step)) continue;
    const interval = await clock.close(engine);
    const points = await evaluationPoints(engine, options.probeSet ?? null, interval.losses, interval.tokensPerSecond);
    points.forEach((p, r) => histories[r].push(p));
    options.onEvaluation?.(engine.step, points, engine.runs);
  }
  return histories;
}

export interface RunHistory extends RunInfo {
  history: HistoryPoint[];
}

export interface StudyResult {
  config: StudyConfig;
  runs: RunHistory[];
}

export interface RunStudyHooks extends TrainToEndOptions {
  /** Called once after the last step, before the study is disposed (e.g. to save or analyse the trained models). */
  onFinished?: (study: Study) => Promise<void>;
  /** A fine-tuning stage's pretrained weights of each (arm, seed) (see Study.create). */
  base?: (baseArm: number, seed: number) => Float32Array;
}

/** Trains a study of `config` on the GPU to the end and collects each run's history. */
export async function runStudy(ctx: GpuContext, config: StudyConfig, hooks: RunStudyHooks = {}): Promise<StudyResult> {
  const study = await Study.create(ctx, config, hooks.base);
  try {
    const histories = await trainToEnd(study, hooks);
    await hooks.onFinished?.(study);
    return { config, runs: study.runs.map((run, r) => ({ ...run, history: histories[r] })) };
  } finally {
    study.dispose();
  }
}

export interface FinetuneStudyResult {
  /** Stage 1: the arms × seeds pretrained on the task. */
  pretrain: StudyResult;
  /** Stage 2: every pretrained model fine-tuned by each variant, from the same weights and examples. */
  finetune: StudyResult;
}

/**
 * Trains both stages of a study with `config.finetune` on the GPU: pretraining (arms × seeds), then every
 * (arm, seed) model fine-tuned by each variant. `hooks` apply to stage 2 (evaluations and onFinished);
 * `pretrainHooks` to stage 1.
 */
export async function runFinetuneStudy(
  ctx: GpuContext, config: StudyConfig, hooks: RunStudyHooks = {}, pretrainHooks: TrainToEndOptions = {},
): Promise<FinetuneStudyResult> {
  const stage1 = pretrainStageConfig(config);
  let weights: Float32Array | null = null;
  let P = 0;
  const pretrain = await runStudy(ctx, stage1, {
    ...pretrainHooks,
    onFinished: async (study) => {
      weights = await study.model.readParams();
      P = study.model.layout.P;
    },
  });
  const trained = weights as Float32Array | null;
  if (!trained) throw new Error('pretraining ended without weights');
  const base = (arm: number, seed: number) => {
    const r = arm * stage1.seedsPerArm + seed;
    return trained.subarray(r * P, (r + 1) * P);
  };
  const finetune = await runStudy(ctx, finetuneStageConfig(config), { ...hooks, base });
  return { pretrain, finetune };
}

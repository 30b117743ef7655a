/**
 * What the training session reports about a study as it trains (for src/session/session.ts): the
 * 'trainLoss' intervals (losses and speed), the 'evaluation' points with the mean training loss since the
 * previous evaluation, and the runs that stopped ('runFailed'). It keeps the accounting between reports
 * and the metric history it posted, which a checkpoint carries (src/session/checkpointExtra.ts).
 */
import type { StudyEngine } from '../engine/studyEngine';
import type { FromTrainer } from './protocol';
import { emptyHistory, historyUpTo, withOptim, type MetricHistory, type SessionExtra } from './checkpointExtra';
import { evaluationPoints, IntervalClock } from '../engine/trainingLoop';
import type { TextProbeSet } from '../data/textProbe';

export interface ReportHooks {
  post(message: FromTrainer): void;
  /** Every run has stopped with a non-finite loss (after their 'runFailed'): the study has failed. */
  everyRunFailed(): void;
}

export class TrainingReports {
  // Accounting since the last 'trainLoss' report and since the last evaluation.
  /** The training steps since the last 'trainLoss' report and their time. */
  readonly clock = new IntervalClock();
  lastReportAt = 0;
  private lastTokensPerSecond = 0;
  private evalLossSum: Float64Array = new Float64Array(0);
  private evalLossSteps = 0;
  /** Everything the session posted about the current study (trainLoss, evaluation, runFailed), for checkpoints. */
  history: MetricHistory = emptyHistory();
  readonly failedRuns = new Set<number>();
  /** Runs whose weights an upload replaced, with the step it happened at: the first suspect if they diverge. */
  readonly uploadedRuns = new Map<number, number>();
  /** The study's zero-shot probe prompts (config.zeroShotProbe), which replace the task's retrieval score. */
  probeSet: TextProbeSet | null = null;

  constructor(private readonly hooks: ReportHooks) {}

  /** An upload replaced run `run`'s weights at `step`: it trains again, and is the first suspect if it diverges. */
  uploadedInto(run: number, step: number): void {
    this.failedRuns.delete(run);
    this.uploadedRuns.set(run, step);
  }

  get stepsSinceReport(): number {
    return this.clock.steps;
  }

  /** A new study of R runs: no stopped run, no accounting, no history. */
  startStudy(R: number, probeSet: TextProbeSet | null): void {
    this.probeSet = probeSet;
    this.failedRuns.clear();
    this.uploadedRuns.clear();
    this.clock.reset();
    this.lastReportAt = performance.now();
    this.lastTokensPerSecond = 0;
    this.evalLossSum = new Float64Array(R);
    this.evalLossSteps = 0;
    this.history = withOptim(emptyHistory(), R);
  }

  /** Takes the history, accounting and stopped runs of a checkpoint's study. */
  restore(extra: SessionExtra, frozen: boolean[]): void {
    this.history = withOptim(structuredClone(extra.history), frozen.length);
    this.evalLossSum = Float64Array.from(extra.accounting.evalLossSum);
    this.evalLossSteps = extra.accounting.evalLossSteps;
    this.lastTokensPerSecond = extra.accounting.lastTokensPerSecond;
    frozen.forEach((stopped, r) => { if (stopped) this.failedRuns.add(r); });
  }

  /** What a checkpoint at `step` carries besides the engine state. */
  extra(presetName: string, step: number): SessionExtra {
    return {
      format: 'meap-session', version: 1, presetName, history: historyUpTo(this.history, step),
      accounting: { evalLossSum: Array.from(this.evalLossSum), evalLossSteps: this.evalLossSteps, lastTokensPerSecond: this.lastTokensPerSecond },
    };
  }

  async reportTrainLoss(engine: StudyEngine): Promise<void> {
    const report = await this.clock.close(engine);
    const { stepsPerSecond, tokensPerSecond } = report;
    this.lastTokensPerSecond = tokensPerSecond;
    report.losses.forEach((loss, r) => { this.evalLossSum[r] += loss * report.steps; });
    this.evalLossSteps += report.steps;
    this.lastReportAt = performance.now();
    this.hooks.post({
      type: 'trainLoss', step: engine.step, losses: report.losses, stepsPerSecond, tokensPerSecond,
      gradNorms: report.gradNorms, learningRate: report.learningRate,
    });
    const h = this.history;
    if (h.train.steps.length === 0 || engine.step > h.train.steps[h.train.steps.length - 1]) {
      h.train.steps.push(engine.step);
      h.train.losses.push([...report.losses]);
      const o = withOptim(h, engine.R).optim;
      h.optim = o;
      o.gradNorms.push([...report.gradNorms]);
      o.learningRates.push(report.learningRate);
      if (stepsPerSecond > 0 && Number.isFinite(stepsPerSecond)) {
        h.speed.steps.push(engine.step);
        h.speed.stepsPerSecond.push(stepsPerSecond);
        h.speed.tokensPerSecond.push(tokensPerSecond);
      }
    }
    if (report.steps > 0) this.checkRuns(engine, report.losses, report.firstNonFiniteStep);
  }

  /**
   * A run whose loss or gradient is not finite is frozen and reported (the GPU optimizer already skips a
   * step with a non-finite gradient; a diverged f32 model often keeps a finite loss while its gradient is
   * NaN). When no run is left, the study has failed.
   */
  private checkRuns(engine: StudyEngine, losses: number[], firstNonFiniteStep: (number | null)[]): void {
    losses.forEach((loss, r) => {
      if ((Number.isFinite(loss) && firstNonFiniteStep[r] === null) || this.failedRuns.has(r)) return;
      this.failedRuns.add(r);
      engine.freezeRun(r);
      const run = engine.runs[r];
      const step = firstNonFiniteStep[r] ?? engine.step;
      const name = run.objective === 'ntp' ? 'NTP' : `MEAP (mask ratio ${run.maskRatio})`;
      const lr = engine.config.optimizer.lr;
      const uploadedAt = this.uploadedRuns.get(r);
      // What happened to this run decides the likely cause: weights from elsewhere first, else the step size.
      const cause = uploadedAt !== undefined
        ? `The likely cause is the model uploaded into this run at step ${uploadedAt}: weights trained with other settings or ` +
          `data can diverge under this study's learning rate (optimizer.lr = ${lr}); upload another model or lower the learning rate.`
        : `The likely cause is a learning rate too high (optimizer.lr = ${lr}); lower it, lengthen the warm-up or clip gradients harder.`;
      const message = `Run ${r} — ${name}, seed ${run.seed} — stopped at step ${step}: its training loss or gradient is not finite (NaN or ∞). ` +
        `${cause} Its weights are kept as they were (and its last good checkpoint); the other runs go on.`;
      this.history.failures.push({ run: r, step, message });
      this.hooks.post({ type: 'runFailed', run: r, step, message });
    });
    if (this.failedRuns.size === engine.R) this.hooks.everyRunFailed();
  }

  /** Whether the history holds an evaluation at `step`. */
  evaluatedAt(step: number): boolean {
    return this.history.evals.steps.includes(step);
  }

  /** Evaluates every run and posts the points (the attention snapshot that follows is the session's). */
  async reportEvaluation(engine: StudyEngine): Promise<void> {
    const trainLoss = engine.runs.map((_, r) => (this.evalLossSteps > 0 ? this.evalLossSum[r] / this.evalLossSteps : Number.NaN));
    const points = await evaluationPoints(engine, this.probeSet, trainLoss, this.lastTokensPerSecond);
    // The weights are read back here only, at evaluations (never per step).
    const weightNorms = await engine.weightNorms?.();
    this.evalLossSum.fill(0);
    this.evalLossSteps = 0;
    const h = this.history;
    if (h.evals.steps.length === 0 || engine.step > h.evals.steps[h.evals.steps.length - 1]) {
      h.evals.steps.push(engine.step);
      h.evals.points.push(structuredClone(points));
      const o = withOptim(h, engine.R).optim;
      h.optim = o;
      o.weightNorms.push(weightNorms ? [...weightNorms] : engine.runs.map(() => Number.NaN));
    }
    this.hooks.post({ type: 'evaluation', step: engine.step, points, ...(weightNorms ? { weightNorms } : {}) });
  }
}

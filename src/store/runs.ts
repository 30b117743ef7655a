/**
 * What the training Worker reports about the study: its state and step, every run's training-loss and
 * evaluation series, and speed. Messages are applied in order but committed to the store at most every
 * FLUSH_MS (state changes at once), so a Worker that reports every few milliseconds never floods React.
 *
 * Series are column-oriented and aligned across runs (the Worker reports every run together):
 * `train.loss[r][k]` is run r's mean training loss over the interval ending at `train.steps[k]`;
 * `evals.points[r][k]` is run r's evaluation at `evals.steps[k]`. Arrays are replaced, never mutated.
 * The optimisation series ride along: `optim.gradNorm[r][k]` (mean gradient norm before clipping over the
 * interval ending at `train.steps[k]`), `optim.learningRate[k]`, and `optim.weightNorm[r][k]` (parameter L2 norm
 * at `evals.steps[k]`, read at evaluations only). A checkpoint's history carries them (one saved before they
 * were reported has none: null up to its step).
 */
import { create } from 'zustand';
import type { FromTrainer, TrainingState, HistoryPoint, RunInfo, StudyStage, TaskView } from '../session/protocol';
import type { StudyConfig } from '../config/presets';

export interface StudyInfo {
  runs: RunInfo[];
  config: StudyConfig;
  parameterCount: number;
  memoryBytes: number;
  /** The task as the Worker describes it (bucket label, segments, vocabulary, examples). */
  task: TaskView;
  /**
   * The stage on screen: pretraining, or the fine-tuning stage of a qa study (`config` is then the stage's:
   * its steps are fine-tuning steps, its runs arms × variants × seeds; `study` the config it came from).
   * Absent: pretraining, `config`.
   */
  stage?: StudyStage;
  study?: StudyConfig;
}

export interface SpeedSeries {
  steps: number[];
  stepsPerSecond: number[];
  tokensPerSecond: number[];
  msPerStep: number[];
}

export interface OptimSeries {
  /** Per run, aligned with train.steps. */
  gradNorm: (number | null)[][];
  /** Aligned with train.steps (one schedule for every run). */
  learningRate: (number | null)[];
  /** Per run, aligned with evals.steps. */
  weightNorm: (number | null)[][];
}

export interface RunFailure { run: number; step: number; message: string }

export interface RunsState {
  state: TrainingState;
  step: number;
  /** The study the Worker built (null before the first build). */
  study: StudyInfo | null;
  train: { steps: number[]; loss: (number | null)[][] };
  evals: { steps: number[]; points: HistoryPoint[][] };
  optim: OptimSeries;
  speed: SpeedSeries;
  failures: RunFailure[];
  /** The last error the Worker reported about training (build refused, device lost…). */
  error: string | null;
}

const FLUSH_MS = 100;

function emptySeries(runs: number): Pick<RunsState, 'train' | 'evals' | 'speed' | 'failures' | 'optim'> {
  return {
    optim: { gradNorm: Array.from({ length: runs }, () => []), learningRate: [], weightNorm: Array.from({ length: runs }, () => []) },
    train: { steps: [], loss: Array.from({ length: runs }, () => []) },
    evals: { steps: [], points: Array.from({ length: runs }, () => []) },
    speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [], msPerStep: [] },
    failures: [],
  };
}

export const useRuns = create<RunsState>()(() => ({
  state: 'idle',
  step: 0,
  study: null,
  error: null,
  ...emptySeries(0),
}));

function finiteOrNull(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

let queue: FromTrainer[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;

/** Applies a batch of messages to a state (pure apart from the arrays it builds). */
export function applyMessages(current: RunsState, messages: readonly FromTrainer[]): RunsState {
  let s: RunsState = current;
  // Copy-on-first-write per batch, so a batch of N points costs one copy of each array.
  let trainCopied = false, evalsCopied = false, speedCopied = false, optimCopied = false;
  const optim = (): OptimSeries => {
    if (!optimCopied) {
      const o = s.optim ?? emptySeries(0).optim;
      s = { ...s, optim: { gradNorm: o.gradNorm.map((g) => [...g]), learningRate: [...o.learningRate], weightNorm: o.weightNorm.map((w) => [...w]) } };
      optimCopied = true;
    }
    return s.optim;
  };
  const runCount = () => s.study?.runs.length ?? 0;
  const clear = () => {
    s = { ...s, ...emptySeries(runCount()) };
    trainCopied = evalsCopied = speedCopied = optimCopied = true;
  };
  for (const m of messages) {
    switch (m.type) {
      case 'built':
        s = {
          ...s, step: 0, error: null,
          study: {
            runs: m.runs, config: m.config, parameterCount: m.parameterCount, memoryBytes: m.memoryBytes, task: m.task,
            stage: m.stage ?? 'pretrain', study: m.study ?? m.config,
          },
        };
        clear();
        break;
      case 'state':
        if (m.step === 0 && (s.step !== 0 || s.train.steps.length > 0 || s.evals.steps.length > 0)) clear();
        s = { ...s, state: m.state, step: m.step, error: m.state === 'failed' ? s.error : m.state === 'building' ? null : s.error };
        break;
      case 'trainLoss': {
        const last = s.train.steps[s.train.steps.length - 1];
        if (last !== undefined && m.step <= last) break; // stale (from before a reset)
        if (!trainCopied) {
          s = { ...s, train: { steps: [...s.train.steps], loss: s.train.loss.map((l) => [...l]) } };
          trainCopied = true;
        }
        s.train.steps.push(m.step);
        const runs = Math.max(runCount(), m.losses.length);
        while (s.train.loss.length < runs) s.train.loss.push(new Array(s.train.steps.length - 1).fill(null));
        m.losses.forEach((loss, r) => s.train.loss[r].push(Number.isFinite(loss) ? loss : null));
        const o = optim();
        while (o.gradNorm.length < runs) o.gradNorm.push([]);
        o.gradNorm.forEach((g, r) => { while (g.length < s.train.steps.length - 1) g.push(null); g.push(finiteOrNull(m.gradNorms?.[r])); });
        while (o.learningRate.length < s.train.steps.length - 1) o.learningRate.push(null);
        o.learningRate.push(finiteOrNull(m.learningRate));
        if (!speedCopied) {
          s = { ...s, speed: { steps: [...s.speed.steps], stepsPerSecond: [...s.speed.stepsPerSecond],
            tokensPerSecond: [...s.speed.tokensPerSecond], msPerStep: [...s.speed.msPerStep] } };
          speedCopied = true;
        }
        if (m.stepsPerSecond > 0 && Number.isFinite(m.stepsPerSecond)) {
          s.speed.steps.push(m.step);
          s.speed.stepsPerSecond.push(m.stepsPerSecond);
          s.speed.tokensPerSecond.push(m.tokensPerSecond);
          s.speed.msPerStep.push(1000 / m.stepsPerSecond);
        }
        if (m.step > s.step) s = { ...s, step: m.step };
        break;
      }
      case 'evaluation': {
        const last = s.evals.steps[s.evals.steps.length - 1];
        if (last !== undefined && m.step <= last) break;
        if (!evalsCopied) {
          s = { ...s, evals: { steps: [...s.evals.steps], points: s.evals.points.map((p) => [...p]) } };
          evalsCopied = true;
        }
        s.evals.steps.push(m.step);
        while (s.evals.points.length < m.points.length) s.evals.points.push([]);
        m.points.forEach((point, r) => s.evals.points[r].push(point));
        const o = optim();
        while (o.weightNorm.length < m.points.length) o.weightNorm.push([]);
        o.weightNorm.forEach((w, r) => { while (w.length < s.evals.steps.length - 1) w.push(null); w.push(finiteOrNull(m.weightNorms?.[r])); });
        if (m.step > s.step) s = { ...s, step: m.step };
        break;
      }
      case 'runFailed':
        s = { ...s, failures: [...s.failures.filter((f) => f.run !== m.run), { run: m.run, step: m.step, message: m.message }] };
        break;
      case 'error':
        s = { ...s, error: m.message };
        break;
      case 'restored': {
        // The study continues from a checkpoint: its series are the checkpoint's, up to its step.
        const h = m.history;
        const runs = Math.max(runCount(), ...h.train.losses.map((l) => l.length), ...h.evals.points.map((p) => p.length));
        s = {
          ...s, step: m.step, error: null,
          train: { steps: [...h.train.steps], loss: Array.from({ length: runs }, (_, r) => h.train.losses.map((l) => (Number.isFinite(l[r]) ? l[r] : null))) },
          evals: { steps: [...h.evals.steps], points: Array.from({ length: runs }, (_, r) => h.evals.points.map((p) => p[r])) },
          speed: {
            steps: [...h.speed.steps], stepsPerSecond: [...h.speed.stepsPerSecond], tokensPerSecond: [...h.speed.tokensPerSecond],
            msPerStep: h.speed.stepsPerSecond.map((v) => 1000 / v),
          },
          failures: h.failures.map((f) => ({ ...f })),
          // A checkpoint saved before these were reported has none: null up to its step.
          optim: {
            gradNorm: Array.from({ length: runs }, (_, r) => h.train.steps.map((_, k) => finiteOrNull(h.optim?.gradNorms[k]?.[r]))),
            learningRate: h.train.steps.map((_, k) => finiteOrNull(h.optim?.learningRates[k])),
            weightNorm: Array.from({ length: runs }, (_, r) => h.evals.steps.map((_, k) => finiteOrNull(h.optim?.weightNorms[k]?.[r]))),
          },
        };
        trainCopied = evalsCopied = speedCopied = optimCopied = true;
        break;
      }
      case 'crashed':
        // The Worker is gone with the study: nothing trains until a new study is built (or resumed).
        s = { ...s, state: 'failed', error: m.message };
        break;
      default:
        break;
    }
  }
  return s;
}

function flush(): void {
  timer = undefined;
  if (queue.length === 0) return;
  const batch = queue;
  queue = [];
  useRuns.setState((current) => applyMessages(current, batch), true);
}

const IMMEDIATE = new Set<FromTrainer['type']>(['state', 'built', 'error', 'runFailed', 'restored', 'crashed']);
const HANDLED = new Set<FromTrainer['type']>(['built', 'state', 'trainLoss', 'evaluation', 'runFailed', 'error', 'restored', 'crashed']);

/** Feeds one Worker message to the store (state changes at once, series batched). */
export function receiveRunsMessage(message: FromTrainer): void {
  if (!HANDLED.has(message.type)) return;
  queue.push(message);
  if (IMMEDIATE.has(message.type)) {
    if (timer !== undefined) clearTimeout(timer);
    flush();
  } else if (timer === undefined) {
    timer = setTimeout(flush, FLUSH_MS);
  }
}

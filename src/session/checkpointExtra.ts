/**
 * What the training session adds to a study checkpoint's `extra` (src/engine/checkpoint.ts): the metric
 * history it has posted (so a resumed page shows the curves up to the saved step) and its loss accounting
 * between evaluations (so the next evaluation's mean training loss is the same number as in a run that was
 * never interrupted). JSON turns NaN into null; `readSessionExtra` turns it back and validates the shape
 * (the bytes come from IndexedDB, which anything on the same origin can write).
 */
import type { HistoryPoint } from '../engine/types';
import type { StudyConfig } from '../config/presets';

export interface MetricHistory {
  /** Training-loss reports: losses[k][r] is run r's mean loss over the interval ending at steps[k] (NaN: none). */
  train: { steps: number[]; losses: number[][] };
  /** Evaluations: points[k][r] is run r's evaluation at steps[k]. */
  evals: { steps: number[]; points: HistoryPoint[][] };
  speed: { steps: number[]; stepsPerSecond: number[]; tokensPerSecond: number[] };
  failures: { run: number; step: number; message: string }[];
  /**
   * gradNorms[k][r] and learningRates[k] at train.steps[k]; weightNorms[k][r] at evals.steps[k] (NaN: not
   * measured). Absent in checkpoints saved before they were reported.
   */
  optim?: { gradNorms: number[][]; learningRates: number[]; weightNorms: number[][] };
}

/** The history with its optimisation series, NaN where an older checkpoint's history has none. */
export function withOptim(history: MetricHistory, R: number): MetricHistory & { optim: NonNullable<MetricHistory['optim']> } {
  const nan = () => new Array<number>(R).fill(Number.NaN);
  const optim = history.optim ?? {
    gradNorms: history.train.steps.map(nan), learningRates: history.train.steps.map(() => Number.NaN), weightNorms: history.evals.steps.map(nan),
  };
  return { ...history, optim };
}

export interface LossAccounting {
  /** Per run: sum of interval mean losses × steps since the last evaluation, and those steps. */
  evalLossSum: number[];
  evalLossSteps: number;
  lastTokensPerSecond: number;
}

export interface SessionExtra {
  format: 'meap-session';
  version: 1;
  presetName: string;
  history: MetricHistory;
  accounting: LossAccounting;
  /**
   * A fine-tuning stage's checkpoint only (src/session/finetune.ts): the study config (with `finetune`) the
   * stage came from, as the page shows it. Unchecked here: the session validates it before using it.
   */
  study?: StudyConfig;
  /** …and the pretraining step its base models were taken at (to find them again in the study's own checkpoint). */
  baseStep?: number;
}

export function emptyHistory(): MetricHistory {
  return { train: { steps: [], losses: [] }, evals: { steps: [], points: [] }, speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [] }, failures: [] };
}

/** The history up to and including `step` (what a checkpoint at `step` carries). */
export function historyUpTo(history: MetricHistory, step: number): MetricHistory {
  const count = (steps: number[]) => { let n = 0; while (n < steps.length && steps[n] <= step) n++; return n; };
  const t = count(history.train.steps), e = count(history.evals.steps), s = count(history.speed.steps);
  return structuredClone({
    train: { steps: history.train.steps.slice(0, t), losses: history.train.losses.slice(0, t) },
    evals: { steps: history.evals.steps.slice(0, e), points: history.evals.points.slice(0, e) },
    speed: { steps: history.speed.steps.slice(0, s), stepsPerSecond: history.speed.stepsPerSecond.slice(0, s), tokensPerSecond: history.speed.tokensPerSecond.slice(0, s) },
    failures: history.failures.filter((f) => f.step <= step),
    ...(history.optim ? {
      optim: { gradNorms: history.optim.gradNorms.slice(0, t), learningRates: history.optim.learningRates.slice(0, t), weightNorms: history.optim.weightNorms.slice(0, e) },
    } : {}),
  });
}

class ExtraError extends Error {}

const num = (v: unknown): number => {
  if (v === null) return Number.NaN;
  if (typeof v !== 'number') throw new ExtraError('a number is not a number');
  return v;
};
const list = (v: unknown, length?: number): unknown[] => {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) throw new ExtraError('a list is malformed');
  return v;
};
const steps = (v: unknown, maxStep: number): number[] => {
  const out = list(v).map(num);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isInteger(out[i]) || out[i] < 0 || out[i] > maxStep || (i > 0 && out[i] <= out[i - 1])) throw new ExtraError('steps are not increasing');
  }
  return out;
};
const record = (v: unknown): Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ExtraError('an object is malformed');
  return v as Record<string, unknown>;
};

function point(v: unknown): HistoryPoint {
  const p = record(v);
  return {
    step: num(p.step), trainLoss: num(p.trainLoss), valLoss: num(p.valLoss), retrievalAcc: num(p.retrievalAcc),
    accByDepth: list(p.accByDepth).map(num), tokensPerSec: num(p.tokensPerSec),
    // Multi-token answers (qa) only.
    ...(p.tokenAcc !== undefined ? { tokenAcc: num(p.tokenAcc) } : {}),
    ...(p.answerLoss !== undefined ? { answerLoss: num(p.answerLoss) } : {}),
  };
}

/**
 * Reads the session's extra of a checkpoint at `step` of a study with R runs; throws with a short reason
 * when it is not one (the caller refuses the checkpoint, changing nothing).
 */
export function readSessionExtra(extra: unknown, R: number, step: number): SessionExtra {
  try {
    const e = record(extra);
    if (e.format !== 'meap-session' || e.version !== 1) throw new ExtraError('it was not written by this playground\'s training session');
    const h = record(e.history);
    const train = record(h.train), evals = record(h.evals), speed = record(h.speed);
    const trainSteps = steps(train.steps, step);
    const evalSteps = steps(evals.steps, step);
    const speedSteps = steps(speed.steps, step);
    const history: MetricHistory = {
      train: { steps: trainSteps, losses: list(train.losses, trainSteps.length).map((row) => list(row, R).map(num)) },
      evals: { steps: evalSteps, points: list(evals.points, evalSteps.length).map((row) => list(row, R).map(point)) },
      speed: {
        steps: speedSteps,
        stepsPerSecond: list(speed.stepsPerSecond, speedSteps.length).map(num),
        tokensPerSecond: list(speed.tokensPerSecond, speedSteps.length).map(num),
      },
      failures: list(h.failures).map((f) => {
        const r = record(f);
        const run = num(r.run), at = num(r.step);
        if (!Number.isInteger(run) || run < 0 || run >= R || !Number.isInteger(at) || typeof r.message !== 'string') throw new ExtraError('a failure is malformed');
        return { run, step: at, message: r.message };
      }),
    };
    if (h.optim !== undefined) {
      const o = record(h.optim);
      history.optim = {
        gradNorms: list(o.gradNorms, trainSteps.length).map((row) => list(row, R).map(num)),
        learningRates: list(o.learningRates, trainSteps.length).map(num),
        weightNorms: list(o.weightNorms, evalSteps.length).map((row) => list(row, R).map(num)),
      };
    }
    const a = record(e.accounting);
    const accounting: LossAccounting = {
      evalLossSum: list(a.evalLossSum, R).map(num), evalLossSteps: num(a.evalLossSteps), lastTokensPerSecond: num(a.lastTokensPerSecond),
    };
    if (!Number.isInteger(accounting.evalLossSteps) || accounting.evalLossSteps < 0) throw new ExtraError('its loss accounting is malformed');
    const study = e.study !== undefined && e.study !== null && typeof e.study === 'object' && !Array.isArray(e.study)
      ? { study: e.study as StudyConfig, ...(Number.isInteger(e.baseStep) && (e.baseStep as number) >= 0 ? { baseStep: e.baseStep as number } : {}) } : {};
    return { format: 'meap-session', version: 1, presetName: typeof e.presetName === 'string' ? e.presetName : '', history, accounting, ...study };
  } catch (error) {
    if (error instanceof ExtraError) throw new Error(`its metric history is malformed (${error.message})`);
    throw error;
  }
}

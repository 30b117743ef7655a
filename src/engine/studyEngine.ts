/**
 * What a training session needs from a study, whichever engine computes it: the GPU `Study` (WGSL
 * kernels, every run in one command buffer) or the `CpuStudy` fallback (the float64 reference model).
 * Both train the same runs from the same seeds on the same batches and masks, so their numbers track.
 */
import type { EvalSet, Task } from '../data/task';
import type { StudyConfig } from '../config/presets';
import type { StudyState } from './checkpoint';
import type { RunEvaluation, RunInfo, EngineKind } from './types';

/** Training losses of the steps since the previous report. */
export interface IntervalReport {
  /** Mean training loss of each run over the interval; NaN for a run that is frozen or whose loss was not finite. */
  losses: number[];
  /** Steps the means cover. */
  steps: number;
  /**
   * Per run: the first step of the interval whose loss or gradient norm was not finite (the optimizer
   * skips such a step, so the run has stalled), or null.
   */
  firstNonFiniteStep: (number | null)[];
  /**
   * Per run: the mean gradient norm (before clipping) over the interval's steps whose norm was finite; NaN for
   * a frozen run or none finite. Read with the losses, so it costs no extra readback.
   */
  gradNorms: number[];
  /** The learning rate of the interval's last step (one schedule for every run). */
  learningRate: number;
}

export interface ProbeResult {
  /** Attention probabilities of the probed sequence, every run and layer: [R, L, H, T, T]. */
  probs: Float32Array;
  /** Logits rows at the requested positions: [R, rows, V]. */
  logits: Float32Array;
}

/** The batch of one training step as the engine wrote it: clean tokens [R, B, T+1] and MEAP mask [R, B, T] (1 = masked input). */
export interface TrainingBatch {
  step: number;
  B: number;
  T: number;
  tokens: Uint32Array;
  mask: Uint32Array;
}

/** A copy of the engine's batch arrays of `step`, or null when no step was taken since the build or a restore. */
export function batchCopy(step: number, batchStep: number, B: number, T: number, tokens: Uint32Array, mask: Uint32Array): TrainingBatch | null {
  return batchStep > 0 && batchStep === step ? { step, B, T, tokens: tokens.slice(), mask: mask.slice() } : null;
}

export interface StudyEngine {
  readonly kind: EngineKind;
  readonly config: StudyConfig;
  readonly runs: RunInfo[];
  readonly R: number;
  readonly task: Task;
  readonly evalSet: EvalSet;
  /** Steps taken so far. */
  readonly step: number;
  /** Parameters of one model (unpadded). */
  readonly parameterCount: number;
  /** Memory the engine holds for all runs (GPU buffers, or CPU arrays for the fallback). */
  readonly memoryBytes: number;
  /** Takes one training step for every run that is not frozen. The GPU engine only submits it. */
  trainStep(): void;
  /** The batch the last step trained on (what the page's batch viewer shows); null before a step since the build or a restore. */
  lastBatch(): TrainingBatch | null;
  /** Resolves when every step taken so far has finished (the GPU queue drained up to now). */
  flush(): Promise<void>;
  /** Training losses since the previous call, then starts a new interval. */
  intervalReport(): Promise<IntervalReport>;
  /** Each run's parameter L2 norm (reads the weights back: call it at evaluations only). */
  weightNorms?(): Promise<number[]>;
  /** Clean validation loss and greedy retrieval accuracy of every run on the evaluation set. */
  evaluate(): Promise<RunEvaluation[]>;
  /**
   * Forward of one sequence per run on the evaluation path: `tokens` (at most T + 1 ids, the rest padded
   * with 0) is every run's sequence, or pass one sequence per run; `mask` lists input positions replaced
   * by [MASK]; `logitRows` (at most `batch` positions) selects the logits rows returned.
   */
  probe(tokens: ArrayLike<number> | readonly ArrayLike<number>[], mask: readonly number[], logitRows?: readonly number[]): Promise<ProbeResult>;
  /** Stops run r's optimizer from now on: its parameters and moments stay as they are. */
  freezeRun(r: number): void;
  isFrozen(r: number): boolean;
  /** Everything needed to resume bit-identically (weights, moments, step, generator states, frozen runs). */
  saveState(): Promise<StudyState>;
  /** Continues from a state saved by the same engine kind for the same config. */
  restoreState(state: StudyState): void;
  dispose(): void;
}

/**
 * Checks a probe request against the study's shapes (shared by both engines, so they refuse alike) and
 * returns the sequence of each run.
 */
export function probeSequences(
  config: StudyConfig, R: number, tokens: ArrayLike<number> | readonly ArrayLike<number>[], mask: readonly number[], logitRows: readonly number[],
): ArrayLike<number>[] {
  const T = config.model.context, V = config.model.vocabSize;
  const perRun = isSequenceList(tokens);
  if (perRun && tokens.length !== R) throw new RangeError(`a per-run probe needs ${R} sequences, got ${tokens.length}`);
  const sequences = perRun ? [...tokens] : Array.from({ length: R }, () => tokens);
  if (logitRows.length > config.batch) throw new RangeError(`at most ${config.batch} logit rows per probe, got ${logitRows.length}`);
  for (const sequence of sequences) {
    if (sequence.length > T + 1) throw new RangeError(`a probe holds at most T + 1 = ${T + 1} tokens, got ${sequence.length}`);
    for (let i = 0; i < sequence.length; i++) {
      if (!Number.isInteger(sequence[i]) || sequence[i] < 0 || sequence[i] >= V) throw new RangeError(`token ${sequence[i]} at ${i} is not in the vocabulary`);
    }
  }
  for (const t of mask) if (!(Number.isInteger(t) && t >= 0 && t < T)) throw new RangeError(`mask position ${t} is outside 0..${T - 1}`);
  for (const row of logitRows) if (!(Number.isInteger(row) && row >= 0 && row < T)) throw new RangeError(`logit row ${row} is outside 0..${T - 1}`);
  return sequences;
}

function isSequenceList(tokens: ArrayLike<number> | readonly ArrayLike<number>[]): tokens is readonly ArrayLike<number>[] {
  return tokens.length > 0 && typeof tokens[0] === 'object';
}

/** L2 norm, summed in float64. */
export function l2Norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

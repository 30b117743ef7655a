/**
 * The typed message protocol between the page and the training Worker. The Worker owns the GPU; the
 * page only sends commands and renders what comes back. Large arrays travel as transferables.
 */
import type { AdapterReport } from '../gpu/context';
import type { KernelCheck } from '../selftest/harness';
import type { StudyConfig } from './presets';
import type { HistoryPoint } from './compare';
import type { RunInfo } from './study';

export type EngineKind = 'webgpu' | 'cpu';

export type TrainingState = 'idle' | 'building' | 'running' | 'paused' | 'done' | 'failed';

/** Page → Worker. */
export type ToTrainer =
  /** Find the adapter (or fall back to the CPU engine) and report it. */
  | { type: 'init'; allowCpuFallback: boolean }
  /** Build a study from the config (disposing any previous one); nothing trains until 'start'. */
  | { type: 'configure'; config: StudyConfig }
  | { type: 'start' }
  | { type: 'pause' }
  /** One training step while paused or idle. */
  | { type: 'step' }
  /** Back to step 0 with the same config (same seeds: the same curves again). */
  | { type: 'reset' }
  /** Attention snapshot of evaluation example `example` for run `run` (see AttentionSnapshot). */
  | { type: 'probe'; run: number; example: number }
  /** Greedy continuation and top next-token probabilities of every run for a prompt of token ids. */
  | { type: 'generate'; requestId: number; prompt: number[]; maxTokens: number }
  | { type: 'selftest' };

/** One attention snapshot: the same example through the clean and the masked input, for one run. */
export interface AttentionSnapshot {
  step: number;
  run: number;
  example: number;
  T: number;
  layers: number;
  heads: number;
  /** Input tokens (T) and their segment labels (see SEGMENT_NAMES). */
  tokens: number[];
  tokenNames: string[];
  segments: number[];
  /** Input positions masked in the paired analysis (chosen deterministically, never T − 1). */
  maskedPositions: number[];
  /** Input position whose prediction is the answer. */
  answerPosition: number;
  /** [layers, heads, T, T] on the clean input, and on the input with `maskedPositions` masked. */
  clean: Float32Array;
  masked: Float32Array;
}

export interface GenerationResult {
  requestId: number;
  /** Per run: the greedy continuation (token ids) and the top next-token candidates after the prompt. */
  runs: { continuation: number[]; top: { token: number; probability: number }[] }[];
}

/** Worker → page. */
export type FromTrainer =
  | { type: 'engine'; engine: EngineKind; adapter: AdapterReport | null; notice: string | null }
  | { type: 'built'; runs: RunInfo[]; parameterCount: number; memoryBytes: number; config: StudyConfig }
  | { type: 'state'; state: TrainingState; step: number }
  /** Training loss of every run, averaged over the steps since the last message (sent every few steps). */
  | { type: 'trainLoss'; step: number; losses: number[]; stepsPerSecond: number; tokensPerSecond: number }
  /** Evaluation of every run on the held-out set (clean inputs). */
  | { type: 'evaluation'; step: number; points: HistoryPoint[] }
  | { type: 'attention'; snapshot: AttentionSnapshot }
  | { type: 'generation'; result: GenerationResult }
  /** A run stopped (e.g. non-finite loss); the others go on. */
  | { type: 'runFailed'; run: number; step: number; message: string }
  | { type: 'check'; check: KernelCheck }
  | { type: 'selftestDone'; passed: number; failed: number; milliseconds: number }
  | { type: 'error'; message: string };

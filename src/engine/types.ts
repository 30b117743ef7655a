/**
 * The engine's shared types: what a run is, what an evaluation measures, what a history holds. Both
 * engines, the training loop, the session, studies and (through the protocol) the page use them.
 */

import type { FinetuneVariant } from '../config/presets';

/** Which engine computes a study: the WGSL kernels, or the float64 CPU reference (the no-WebGPU fallback). */
export type EngineKind = 'webgpu' | 'cpu';

export interface RunInfo {
  /** The run's arm: its mask ratio in pretraining; in a fine-tuning stage, its (pretraining arm, variant) pair. */
  arm: number;
  /** Mask ratio of pretraining (of the base model, in a fine-tuning stage). */
  maskRatio: number;
  seed: number;
  objective: 'ntp' | 'meap';
  /** Fine-tuning stage only: how the run fine-tunes, and the pretraining arm its base weights come from. */
  finetune?: FinetuneVariant;
  baseArm?: number;
}

export interface RunEvaluation {
  valLoss: number;
  /** Greedy answer accuracy on the evaluation set; NaN for tasks without retrieval answers (text). */
  retrievalAcc: number;
  accByDepth: number[];
  /**
   * Tasks with multi-token answers (qa) only: `retrievalAcc` is then the exact match of the whole answer span;
   * tokenAcc is the share of answer tokens predicted right given the right prefix, answerLoss their mean loss.
   */
  tokenAcc?: number;
  answerLoss?: number;
}

export interface HistoryPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
  retrievalAcc: number;
  accByDepth: number[];
  tokensPerSec: number;
  /** Multi-token answers only (see RunEvaluation). */
  tokenAcc?: number;
  answerLoss?: number;
}

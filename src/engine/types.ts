/**
 * The engine's shared types: what a run is, what an evaluation measures, what a history holds. Both
 * engines, the training loop, the session, studies and (through the protocol) the page use them.
 */

/** Which engine computes a study: the WGSL kernels, or the float64 CPU reference (the no-WebGPU fallback). */
export type EngineKind = 'webgpu' | 'cpu';

export interface RunInfo {
  arm: number;
  maskRatio: number;
  seed: number;
  objective: 'ntp' | 'meap';
}

export interface RunEvaluation {
  valLoss: number;
  /** Greedy answer accuracy on the evaluation set; NaN for tasks without retrieval answers (text). */
  retrievalAcc: number;
  accByDepth: number[];
}

export interface HistoryPoint {
  step: number;
  trainLoss: number;
  valLoss: number;
  retrievalAcc: number;
  accByDepth: number[];
  tokensPerSec: number;
}

/**
 * FLOP counts of the benchmarked work (a multiply-add = 2 FLOPs). Pure, so the CLI, the page and the
 * tests agree on the same numbers.
 */
import { headDim, type ModelConfig } from '../model/config';

export function matmulFlops(M: number, N: number, K: number): number {
  return 2 * M * N * K;
}

/**
 * Causal attention forward + backward for B sequences of T tokens, H heads of hd channels, counted over
 * the full T×T score matrix (as the usual MFU convention does): forward QKᵀ and PV = 2·2·B·H·T²·hd,
 * backward dV, dP, dQ, dK = 4·2·B·H·T²·hd.
 */
export function attentionFlops(B: number, T: number, H: number, hd: number): { forward: number; backward: number } {
  const one = 2 * B * H * T * T * hd;
  return { forward: 2 * one, backward: 4 * one };
}

/**
 * Model FLOPs of one training step of one run (forward + backward = 3 × forward): every linear layer
 * (q, k, v, o, gate, up, down per layer and the LM head) on B·T rows, plus attention over the full T×T
 * matrix. Elementwise work, norms, the loss and AdamW are not counted (the MFU convention). For needle-s
 * (B 32) this is ≈ 1.64 GFLOP, the figure quoted with the preset.
 */
export function modelFlopsPerStep(config: ModelConfig, B: number): number {
  const D = config.dModel, F = config.dFF, V = config.vocabSize, T = config.context;
  const rows = B * T;
  const linearForward = 2 * rows * (config.layers * (4 * D * D + 3 * D * F) + D * V);
  const attentionForward = config.layers * attentionFlops(B, T, config.heads, headDim(config)).forward;
  return 3 * (linearForward + attentionForward);
}

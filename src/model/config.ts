/**
 * Shape of the LLaMA-style decoder: token embedding (with a reserved [MASK] id) → layers ×
 * [RMSNorm → causal MHA with RoPE → residual → RMSNorm → SwiGLU MLP → residual] → RMSNorm → LM head.
 */
export interface ModelConfig {
  /** Vocabulary size, including the reserved [MASK] id. */
  vocabSize: number;
  maskId: number;
  layers: number;
  dModel: number;
  heads: number;
  /** SwiGLU hidden size. */
  dFF: number;
  /** Context length T (inputs per sequence). */
  context: number;
  ropeBase: number;
  normEps: number;
}

export function headDim(config: ModelConfig): number {
  return config.dModel / config.heads;
}

/** Throws a message naming the field when the shape is not a valid model. */
export function validateModelConfig(c: ModelConfig): void {
  const positive = ['vocabSize', 'layers', 'dModel', 'heads', 'dFF', 'context'] as const;
  for (const field of positive) {
    if (!Number.isInteger(c[field]) || c[field] < 1) throw new RangeError(`model.${field} must be a positive integer, got ${c[field]}`);
  }
  if (!Number.isInteger(c.maskId) || c.maskId < 0 || c.maskId >= c.vocabSize) {
    throw new RangeError(`model.maskId must be an id below vocabSize ${c.vocabSize}, got ${c.maskId}`);
  }
  if (c.dModel % c.heads !== 0) throw new RangeError(`model.heads (${c.heads}) must divide dModel (${c.dModel})`);
  if (headDim(c) % 2 !== 0) throw new RangeError(`model.dModel / heads = ${headDim(c)} must be even for RoPE`);
  if (!(c.ropeBase > 1) || !Number.isFinite(c.ropeBase)) throw new RangeError(`model.ropeBase must be a finite number > 1, got ${c.ropeBase}`);
  if (!(c.normEps > 0) || !Number.isFinite(c.normEps)) throw new RangeError(`model.normEps must be a finite number > 0, got ${c.normEps}`);
}

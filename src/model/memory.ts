import { headDim, type ModelConfig } from './config';
import { parameterLayout } from './layout';
import { gradNormPartialsLength } from '../kernels/gradNorm';
import { ADAMW_HYPER_STRIDE } from '../kernels/adamw';
import { embeddingBackwardScratchWords } from '../kernels/embedding';

/**
 * Every GPU buffer a model of R runs with batch B needs, computed from the config alone, so that the
 * memory can be checked against the adapter's limits before anything is allocated.
 */
export interface BufferPlanEntry { name: string; floats: number }

/** `lossWeights`: the model trains on weighted rows (fine-tuning) and holds their weights [R, B·T] and scales [R]. */
export function bufferPlan(config: ModelConfig, R: number, B: number, options: { lossWeights?: boolean } = {}): BufferPlanEntry[] {
  const T = config.context, D = config.dModel, F = config.dFF, V = config.vocabSize, H = config.heads;
  const N = B * T;
  const { P } = parameterLayout(config);
  const plan: BufferPlanEntry[] = [];
  const add = (name: string, floats: number) => plan.push({ name, floats });
  // Training state: parameters, gradients, AdamW moments (flat [R, P]), decay mask, per-run scalars.
  for (const name of ['params', 'grads', 'm', 'v']) add(name, R * P);
  add('decay', P);
  add('hyper', R * ADAMW_HYPER_STRIDE);
  add('stats', R * 2);
  add('partials', gradNormPartialsLength(R, P));
  // Inputs: clean token blocks and the MEAP mask.
  add('tokens', R * B * (T + 1));
  add('mask', R * N);
  // Activations kept for the backward pass, per layer.
  for (let l = 0; l < config.layers; l++) {
    add(`x.${l}`, R * N * D);
    for (const name of ['h1', 'q', 'k', 'v', 'att', 'xMid', 'h2']) add(`${name}.${l}`, R * N * D);
    for (const name of ['rstd1', 'rstd2']) add(`${name}.${l}`, R * N);
    add(`probs.${l}`, R * B * H * T * T);
    for (const name of ['gate', 'up', 'act']) add(`${name}.${l}`, R * N * F);
  }
  add(`x.${config.layers}`, R * N * D);
  add('hFinal', R * N * D);
  add('rstdFinal', R * N);
  add('logits', R * N * V);
  add('dLogits', R * N * V);
  add('rowLoss', R * N);
  add('lossMean', R);
  if (options.lossWeights) {
    add('lossWeights', R * N);
    add('lossScale', R);
  }
  // Scratch shared by all layers in the backward pass.
  for (const name of ['branch', 'dx', 'dh', 'dhPart', 'dq', 'dk', 'dv', 'dAtt']) add(name, R * N * D);
  add('dScores', R * B * H * T * T);
  for (const name of ['dAct', 'dGate', 'dUp']) add(name, R * N * F);
  add('embedScratch', embeddingBackwardScratchWords({ R, B, T, V }));   // u32 index of the embedding backward
  if (headDim(config) % 2 !== 0) throw new Error('headDim must be even');
  return plan;
}

export interface MemoryCheck {
  totalBytes: number;
  largest: BufferPlanEntry;
}

export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Refuses, before any allocation, a model whose buffers exceed the device's per-buffer limits or the
 * memory budget, with the number it needs and the number available.
 */
export function checkMemory(
  plan: BufferPlanEntry[], limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, budgetBytes: number,
): MemoryCheck {
  const largest = plan.reduce((a, b) => (b.floats > a.floats ? b : a));
  const totalBytes = plan.reduce((sum, e) => sum + Math.max(4, e.floats * 4), 0);
  const perBuffer = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (largest.floats * 4 > perBuffer) {
    throw new ModelTooLargeError(`The model's largest buffer (${largest.name}) needs ${mib(largest.floats * 4)}, ` +
      `but this GPU allows ${mib(perBuffer)} per buffer. Use fewer runs, a smaller batch, context or vocabulary.`);
  }
  if (totalBytes > budgetBytes) {
    throw new ModelTooLargeError(`The model needs ${mib(totalBytes)} of GPU memory, more than the ${mib(budgetBytes)} ` +
      'available. Use fewer runs, a smaller batch or a smaller model.');
  }
  if (largest.floats >= 2 ** 32) throw new ModelTooLargeError(`Buffer ${largest.name} exceeds 2^32 elements`);
  return { totalBytes, largest };
}

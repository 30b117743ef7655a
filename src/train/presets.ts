import type { ModelConfig } from '../model/config';
import type { TaskName, TaskOptions } from '../data/task';

/**
 * A study: arms (mask ratios; 0 = NTP) × seeds, every arm of a seed starting from the same weights and
 * seeing the same batches. A pure function of this object.
 */
export interface StudyConfig {
  task: TaskName;
  taskOptions: TaskOptions;
  model: ModelConfig;
  batch: number;
  steps: number;
  optimizer: {
    lr: number;
    warmupSteps: number;
    minLrRatio: number;
    weightDecay: number;
    beta1: number;
    beta2: number;
    eps: number;
    maxGradNorm: number;
  };
  /** Mask ratio P of each arm; 0 is NTP. */
  arms: number[];
  seedsPerArm: number;
  baseSeed: number;
  /** One set of mask positions for the whole batch (the reference code) instead of one per sequence. */
  sharedMask: boolean;
  evaluation: { every: number; count: number; buckets: number; seed: number };
}

export const PAPER_MASK_GRID = [0, 0.05, 0.1, 0.15, 0.2];

const optimizer = {
  lr: 3e-3, warmupSteps: 100, minLrRatio: 0.1, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, maxGradNorm: 1,
};

/** needle-s: the default retrieval study (≈ 1.6 GFLOP per run-step; retrieval usually jumps after ~1000 steps). */
const needleS: StudyConfig = {
  task: 'needle',
  taskOptions: { fillerWords: 128, keys: 64, values: 64 },
  model: { vocabSize: 264, maskId: 2, layers: 2, dModel: 64, heads: 2, dFF: 176, context: 64, ropeBase: 10000, normEps: 1e-5 },
  batch: 32,
  steps: 3000,
  optimizer,
  arms: [0, 0.15],
  seedsPerArm: 1,
  baseSeed: 1,
  sharedMask: false,
  evaluation: { every: 100, count: 500, buckets: 5, seed: 12345 },
};

/** tiny: seconds on a CPU adapter; for tests and the no-WebGPU fallback. */
const tiny: StudyConfig = {
  task: 'needle',
  taskOptions: { fillerWords: 16, keys: 8, values: 8 },
  model: { vocabSize: 40, maskId: 2, layers: 2, dModel: 32, heads: 2, dFF: 64, context: 16, ropeBase: 10000, normEps: 1e-5 },
  batch: 8,
  steps: 40,
  optimizer: { ...optimizer, lr: 1e-2, warmupSteps: 5 },
  arms: [0, 0.15],
  seedsPerArm: 1,
  baseSeed: 1,
  sharedMask: false,
  evaluation: { every: 10, count: 40, buckets: 4, seed: 12345 },
};

/** needle-long: T = 256, where the needle's depth can matter (a lost-in-the-middle curve). */
const needleLong: StudyConfig = {
  ...needleS,
  model: { ...needleS.model, context: 256 },
  batch: 16,
  evaluation: { ...needleS.evaluation, count: 250 },
};

export const PRESETS = { tiny, 'needle-s': needleS, 'needle-long': needleLong } as const satisfies Record<string, StudyConfig>;
export type PresetName = keyof typeof PRESETS;

export function preset(name: string): StudyConfig {
  const found = (PRESETS as Record<string, StudyConfig>)[name];
  if (!found) throw new RangeError(`unknown preset "${name}" (known: ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(found);
}

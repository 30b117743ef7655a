import type { TaskName, TaskOptionsByName } from '../data/task';
import { DEFAULT_ALPHABET } from '../data/charTokenizer';
import type { ModelConfig } from '../model/config';
import type { MaskReplacement } from '../data/maskPolicy';
import type { ProtectedSegment } from '../data/protectedSegments';

/**
 * A study: arms (mask ratios; 0 = NTP) × seeds, every arm of a seed starting from the same weights and
 * seeing the same batches. A pure function of this object.
 *
 * `StudyConfig<'recall'>` ties the options to the task (RecallTaskOptions), which is how the presets are
 * typed; plain `StudyConfig` accepts any task with any task's options, and validateStudyConfig checks that
 * they match at run time.
 */
export interface StudyConfig<N extends TaskName = TaskName> {
  task: N;
  taskOptions: TaskOptionsByName[N];
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
    /**
     * Step at which the cosine reaches its floor (minLrRatio · lr); later steps stay there. Absent: `steps`.
     * A longer run with scheduleSteps = a shorter run's steps follows that run's schedule exactly up to its end.
     */
    scheduleSteps?: number;
  };
  /** Mask ratio P of each arm; 0 is NTP. */
  arms: number[];
  seedsPerArm: number;
  baseSeed: number;
  /** One set of mask positions for the whole batch (the reference code) instead of one per sequence. */
  sharedMask: boolean;
  /**
   * Never mask the final query tokens (`? K`) of a retrieval task, only the context. Absent or false: the
   * paper's policy (any input but the last may be masked).
   */
  protectQuery?: boolean;
  /**
   * What MEAP's chosen inputs become (issue 17's control): [MASK] (absent or 'mask': the paper), a random
   * ordinary token of the task ('random'), or a random filler word ('random-filler'; retrieval tasks only).
   */
  replace?: MaskReplacement;
  /**
   * Segments of a retrieval block never masked (issue 17's control; src/data/protectedSegments.ts): the needle's
   * key or value, the query's marker or key. Absent or empty: none (besides the last input and protectQuery).
   */
  protect?: ProtectedSegment[];
  evaluation: { every: number; count: number; buckets: number; seed: number };
  /**
   * Text task only (pretrain-then-probe): retrieval is scored zero-shot on needle prompts written in the
   * corpus's language (src/data/textProbe.ts) at every evaluation, instead of the task's own (absent) score.
   */
  zeroShotProbe?: ZeroShotProbe;
  /**
   * A fine-tuning stage after pretraining (qa task only; the paper's second claim): every pretrained (arm, seed)
   * model is then fine-tuned by each variant from the same weights and the same batches (src/engine/finetune.ts).
   */
  finetune?: FinetuneConfig;
  /**
   * Set only on the config of a study's fine-tuning stage (src/config/finetuneStage.ts finetuneStageConfig):
   * its runs are arms × finetune.variants × seeds and start from the pretrained weights.
   */
  stage?: 'finetune';
}

/**
 * How a fine-tuning run treats each example (src/engine/finetune.ts):
 * - `sft`: next-token loss on the answer tokens only, averaged over them;
 * - `meap-sft` (the reference code): SFT plus, for each example whose answer has ≥ minAnswer tokens, a second,
 *   masked copy in the batch with k = max(1, ⌊maskFraction · answer length⌋) answer positions replaced by
 *   [MASK] in its input, carrying loss only at the masked positions (on their clean tokens);
 * - `meap-sft-all` (the paper's text read literally): the same copy carries loss on all its answer tokens.
 */
export type FinetuneVariant = 'sft' | 'meap-sft' | 'meap-sft-all';
export const FINETUNE_VARIANTS = ['sft', 'meap-sft', 'meap-sft-all'] as const satisfies readonly FinetuneVariant[];

export interface FinetuneConfig {
  variants: FinetuneVariant[];
  /** Fine-tuning steps (after the study's `steps` pretraining steps). */
  steps: number;
  /** Peak learning rate; warm-up, cosine decay and the other AdamW settings as `optimizer`. */
  lr: number;
  warmupSteps: number;
  /** Fraction of a copy's answer tokens masked; 0 adds no copies (MEAP-SFT is then plain SFT, bit for bit). */
  maskFraction: number;
  /** Answers shorter than this (in tokens) get no masked copy (the reference code's 50, scaled to the task). */
  minAnswer: number;
}

/** The zero-shot text-needle probe of a text-task study. */
export interface ZeroShotProbe {
  kind: 'text-needle';
  /** Prompts at each evaluation (spread evenly over the depth buckets). */
  count: number;
  buckets: number;
  seed: number;
}

export const PAPER_MASK_GRID = [0, 0.05, 0.1, 0.15, 0.2];

const optimizer = {
  lr: 3e-3, warmupSteps: 100, minLrRatio: 0.1, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, maxGradNorm: 1,
};

/** needle-s: the default retrieval study (≈ 1.6 GFLOP per run-step; retrieval usually jumps after ~1000 steps). */
const needleS: StudyConfig<'needle'> = {
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
const tiny: StudyConfig<'needle'> = {
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

/**
 * quick: the tiny model with a batch of 32 and a gentler learning rate — enough signal for a copy circuit to
 * form within a few hundred steps, so a software (CPU) WebGPU adapter shows a retrieval jump in minutes.
 * In the committed 64-seed study (reports/needle-quick) 16 of 64 NTP seeds and 33 of 64 MEAP seeds passed 50 %
 * retrieval by step 800 — a jump a user can watch, and a difference it took 64 seeds per arm to decide.
 */
const quick: StudyConfig<'needle'> = {
  ...tiny,
  batch: 32,
  steps: 800,
  optimizer: { ...optimizer, lr: 3e-3, warmupSteps: 40 },
  evaluation: { ...tiny.evaluation, every: 50 },
};

/** needle-long: T = 256, where the needle's depth can matter (a lost-in-the-middle curve). */
const needleLong: StudyConfig<'needle'> = {
  ...needleS,
  model: { ...needleS.model, context: 256 },
  batch: 16,
  evaluation: { ...needleS.evaluation, count: 250 },
};

/**
 * recall-s: needle-s with 4 key→value pairs per block (3 distractors); accuracy by which pair is asked
 * (one bucket per pair). Vocabulary 264 as needle-s; T = 64 ≥ 14.
 */
const recallS: StudyConfig<'recall'> = {
  ...needleS,
  task: 'recall',
  taskOptions: { fillerWords: 128, keys: 64, values: 64, pairs: 4 },
  evaluation: { ...needleS.evaluation, buckets: 4 },
};

/**
 * multidoc-s: 6 documents of ≈ 7 words each with one fact, query for one document's fact; accuracy by
 * answer document (the lost-in-the-middle curve). Vocabulary 264 as needle-s; T = 64 ≥ 26.
 */
const multidocS: StudyConfig<'multidoc'> = {
  ...needleS,
  task: 'multidoc',
  taskOptions: { fillerWords: 128, keys: 64, values: 64, documents: 6 },
  evaluation: { ...needleS.evaluation, count: 600, buckets: 6 },
};

/**
 * text-s: character-level language modelling on the generated corpus (2000 training documents ≈ 1.2 M
 * characters, 200 held out); vocabulary 4 specials + 75 characters = 79. No retrieval score.
 */
const textS: StudyConfig<'text'> = {
  ...needleS,
  task: 'text',
  taskOptions: { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: 1, documents: 2000 } },
  model: { ...needleS.model, vocabSize: 79 },
  evaluation: { ...needleS.evaluation, count: 256, buckets: 1 },
};

/**
 * qa-tiny: multi-document QA with multi-token answers on the tiny model, pretrained (NTP) on the QA blocks and
 * then fine-tuned by SFT and MEAP-SFT: 2 documents, answers of 2–4 value words, T = 24. Sized for a software
 * adapter. In the committed 16-seed study (reports/qa-finetune-quick) pretraining reached only ≈ 15 %
 * answer-token accuracy (chance 12.5 %) and fine-tuning ≈ 27 %: both stages end early in learning.
 */
const qaTiny: StudyConfig<'qa'> = {
  ...tiny,
  task: 'qa',
  taskOptions: { fillerWords: 16, keys: 8, values: 8, documents: 2, answerMin: 2, answerMax: 4 },
  model: { ...tiny.model, vocabSize: 40, context: 24 },
  batch: 16,
  steps: 1000,
  optimizer: { ...optimizer, lr: 3e-3, warmupSteps: 50 },
  arms: [0],
  evaluation: { every: 100, count: 96, buckets: 2, seed: 12345 },
  finetune: { variants: ['sft', 'meap-sft'], steps: 200, lr: 1e-3, warmupSteps: 20, maskFraction: 0.1, minAnswer: 3 },
};

/**
 * qa-s: the paper's fine-tuning setting at GPU scale: 20 documents, answers of 3–8 value words, T = 256,
 * the needle-s model; NTP pretraining, then SFT vs MEAP-SFT.
 */
const qaS: StudyConfig<'qa'> = {
  ...needleS,
  task: 'qa',
  taskOptions: { fillerWords: 128, keys: 64, values: 64, documents: 20, answerMin: 3, answerMax: 8 },
  model: { ...needleS.model, context: 256 },
  batch: 16,
  arms: [0],
  evaluation: { ...needleS.evaluation, count: 500, buckets: 5 },
  finetune: { variants: ['sft', 'meap-sft'], steps: 1000, lr: 1e-3, warmupSteps: 50, maskFraction: 0.1, minAnswer: 3 },
};

export const PRESETS = {
  tiny, quick, 'needle-s': needleS, 'needle-long': needleLong, 'recall-s': recallS, 'multidoc-s': multidocS, 'text-s': textS,
  'qa-tiny': qaTiny, 'qa-s': qaS,
} as const satisfies Record<string, StudyConfig>;
export type PresetName = keyof typeof PRESETS;

/** The preset a task gets when none is named (the CLI's --task without --preset). */
export const DEFAULT_PRESET_FOR_TASK: Record<TaskName, PresetName> = {
  needle: 'tiny', recall: 'recall-s', multidoc: 'multidoc-s', text: 'text-s', qa: 'qa-tiny',
};

export function preset(name: string): StudyConfig {
  const found = Object.hasOwn(PRESETS, name) ? (PRESETS as Record<string, StudyConfig>)[name] : undefined;
  if (!found) throw new RangeError(`unknown preset "${name}" (known: ${Object.keys(PRESETS).join(', ')})`);
  return structuredClone(found);
}

/**
 * The two stages of a fine-tuning study (`StudyConfig.finetune`): stage 1 is the study as written (pretraining,
 * `steps` steps, arms × seeds); stage 2 fine-tunes every pretrained (arm, seed) model by each variant. Stage 2 is
 * described by a config of its own — the study's, with `stage: 'finetune'`, the fine-tuning steps and learning
 * rate in `steps` and `optimizer` — so that the training loop, the schedule, checkpoints and the engines treat
 * it like any study.
 */
import type { FinetuneConfig, StudyConfig } from './presets';

/** The fine-tuning settings of a study; throws when it has none. */
export function finetuneOf(config: StudyConfig): FinetuneConfig {
  if (!config.finetune) throw new RangeError('this study has no fine-tuning stage (config.finetune)');
  return config.finetune;
}

/** Whether `config` describes a fine-tuning stage (stage 2) rather than pretraining. */
export function isFinetuneStage(config: StudyConfig): boolean {
  return config.stage === 'finetune';
}

/** Stage 1 of a study: the config without its fine-tuning (what pretraining trains and saves). */
export function pretrainStageConfig(config: StudyConfig): StudyConfig {
  if (isFinetuneStage(config)) throw new RangeError('pretrainStageConfig takes the study config, not its fine-tuning stage');
  const { finetune: _finetune, stage: _stage, ...rest } = config;
  return structuredClone(rest);
}

/** Stage 2 of a study: its fine-tuning steps and learning rate in `steps` and `optimizer`, `stage: 'finetune'`. */
export function finetuneStageConfig(config: StudyConfig): StudyConfig {
  if (isFinetuneStage(config)) return structuredClone(config);
  const f = finetuneOf(config);
  // Pretraining's schedule length is not the stage's: its cosine runs over the fine-tuning steps.
  const { scheduleSteps: _pretrainingSchedule, ...optimizer } = config.optimizer;
  return structuredClone({
    ...config, stage: 'finetune' as const, steps: f.steps,
    optimizer: { ...optimizer, lr: f.lr, warmupSteps: f.warmupSteps },
  });
}

/** Runs of a study or stage: arms × seeds, times the fine-tuning variants in stage 2. */
export function runCount(config: StudyConfig): number {
  const variants = isFinetuneStage(config) ? finetuneOf(config).variants.length : 1;
  return config.arms.length * variants * config.seedsPerArm;
}

/** Whether stage 2 adds masked answer copies to its batches (a MEAP-SFT variant with a mask fraction > 0). */
export function hasAnswerCopies(f: FinetuneConfig): boolean {
  return f.maskFraction > 0 && f.variants.some((v) => v !== 'sft');
}

/**
 * Sequences per run in a step: the batch, doubled in stage 2 when it holds masked copies (every run gets the
 * same rows so that all runs fit one model; an SFT run's copy rows carry no loss and change no bit).
 */
export function sequencesPerStep(config: StudyConfig): number {
  return isFinetuneStage(config) && hasAnswerCopies(finetuneOf(config)) ? 2 * config.batch : config.batch;
}

/** Masked positions of a copy whose answer has `length` tokens: max(1, ⌊f·L⌋) (≤ L), or 0 below minAnswer or at f = 0. */
export function answerMaskCount(f: Pick<FinetuneConfig, 'maskFraction' | 'minAnswer'>, length: number): number {
  if (f.maskFraction <= 0 || length < f.minAnswer || length < 1) return 0;
  return Math.min(length, Math.max(1, Math.floor(f.maskFraction * length)));
}

/**
 * Arms of a study's record: its mask ratios, or with fine-tuning the (pretraining arm, variant) pairs the
 * fine-tuned runs are numbered by (arm = baseArm · variants + variant).
 */
export function recordArms(config: StudyConfig): { maskRatio: number; variant?: FinetuneConfig['variants'][number] }[] {
  const f = config.finetune;
  if (!f) return config.arms.map((maskRatio) => ({ maskRatio }));
  return config.arms.flatMap((maskRatio) => f.variants.map((variant) => ({ maskRatio, variant })));
}

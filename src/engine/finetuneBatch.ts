/**
 * What a fine-tuning step trains on (the paper's MEAP-SFT; ../shared/MEAP.md "Fine-tuning variant"): the runs of
 * a fine-tuning stage and how one run's rows, masks and loss weights are made from the seed's examples.
 *
 * A block is T + 1 tokens whose answer span is block positions start..T (Task.answerSpan). Block position j is
 * the target of row j − 1, so answer-only loss weights sit on rows start − 1 .. T − 1.
 * - Rows 0..B−1 hold the clean examples with weight 1 on their answer rows (every variant: plain SFT).
 * - Rows B..2B−1 (present when the stage has masked copies) hold the copies: for a MEAP-SFT run, each example
 *   whose answer has k = answerMaskCount(L) > 0 positions to mask gets k answer positions j drawn without
 *   replacement from the run's mask stream; input j becomes [MASK] (when j < T: the last answer token is never
 *   an input) and the copy carries loss at rows j − 1 only (`meap-sft`, the reference code) or at all its answer
 *   rows (`meap-sft-all`). An SFT run's copy rows (and those of examples without k) are clean, unmasked and
 *   weighted 0: they add exact zeros to every sum, so the run trains exactly as on its B clean rows.
 */
import { samplePositions } from '../data/maskPolicy';
import type { Task } from '../data/task';
import type { Rng } from '../util/random';
import type { FinetuneConfig, FinetuneVariant, StudyConfig } from '../config/presets';
import { answerMaskCount, finetuneOf, recordArms } from '../config/finetuneStage';
import type { RunInfo } from './types';

/** Runs of a fine-tuning stage: run r = (arm · variants + variant) · seeds + seed; `arm` numbers (arm, variant) pairs. */
export function finetuneRuns(config: StudyConfig): RunInfo[] {
  // The stage's arms are recordArms' (arm = baseArm · variants + variant), each with seedsPerArm runs.
  const variants = finetuneOf(config).variants.length;
  return recordArms(config).flatMap(({ maskRatio, variant }, arm) => Array.from({ length: config.seedsPerArm }, (_, seed) => ({
    arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
    finetune: variant ?? 'sft', baseArm: Math.floor(arm / variants),
  })));
}

/** One run's arrays for a step: tokens [rows, T+1], mask [rows, T], loss weights [rows, T]. */
export interface RunRows {
  tokens: Uint32Array;
  mask: Uint32Array;
  weights: Float32Array;
}

/** The answer span of every example of a batch [B, T+1]. */
export function answerSpans(task: Task, examples: Uint32Array, B: number, T: number): { start: number; length: number }[] {
  if (!task.answerSpan) throw new RangeError(`the ${task.name} task has no answer spans: fine-tuning needs the qa task`);
  const span = task.answerSpan;
  return Array.from({ length: B }, (_, b) => span(examples.subarray(b * (T + 1), (b + 1) * (T + 1)), T));
}

/**
 * Fills one run's rows for a step from its seed's `examples` [B, T+1] (see the file comment). `rows` is B or 2B;
 * `rng` (the run's mask stream) is read only for MEAP-SFT copies, so SFT runs and f = 0 draw nothing.
 */
export function fillFinetuneRows(
  out: RunRows, examples: Uint32Array, spans: readonly { start: number; length: number }[], variant: FinetuneVariant,
  f: FinetuneConfig, B: number, rows: number, T: number, rng: Rng,
): void {
  out.mask.fill(0);
  out.weights.fill(0);
  const answerRows = (row: number, start: number) => {
    for (let j = start; j <= T; j++) out.weights[row * T + j - 1] = 1;
  };
  for (let b = 0; b < B; b++) {
    const block = examples.subarray(b * (T + 1), (b + 1) * (T + 1));
    out.tokens.set(block, b * (T + 1));
    answerRows(b, spans[b].start);
  }
  if (rows === B) return;
  for (let b = 0; b < B; b++) {
    const copy = B + b;
    out.tokens.set(examples.subarray(b * (T + 1), (b + 1) * (T + 1)), copy * (T + 1));
    if (variant === 'sft') continue;
    const { start, length } = spans[b];
    const k = answerMaskCount(f, length);
    if (k === 0) continue;
    for (const offset of samplePositions(rng, length, k)) {
      const j = start + offset;
      if (j < T) out.mask[copy * T + j] = 1;
      if (variant === 'meap-sft') out.weights[copy * T + j - 1] = 1;
    }
    if (variant === 'meap-sft-all') answerRows(copy, start);
  }
}

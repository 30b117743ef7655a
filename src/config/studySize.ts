/**
 * The size of a study computed from its config alone, before anything is built: runs, parameters per model,
 * the GPU memory of its buffer plan (the plan the Worker checks before allocating, src/model/memory.ts) and
 * tokens per step. Here in config/ because the controls show it while the study is being edited.
 */
import type { StudyConfig } from './presets';
import { bufferPlan } from '../model/memory';
import { isFinetuneStage, runCount, sequencesPerStep } from './finetuneStage';
import { parameterCount, parameterLayout } from '../model/layout';

export interface StudySize {
  /** Runs: arms × seeds (× fine-tuning variants in a fine-tuning stage). */
  R: number;
  /** Parameters of one model. */
  params: number;
  /** GPU memory of every buffer of the R runs. */
  bytes: number;
  tokensPerStep: number;
}

/** The study's size; NaN for what a config that cannot be built does not define. */
export function studySize(c: StudyConfig): StudySize {
  const R = runCount(c);
  const rows = sequencesPerStep(c);
  try {
    const params = parameterCount(parameterLayout(c.model));
    const bytes = bufferPlan(c.model, R, rows, { lossWeights: isFinetuneStage(c) }).reduce((sum, e) => sum + Math.max(4, e.floats * 4), 0);
    return { R, params, bytes, tokensPerStep: R * rows * c.model.context };
  } catch {
    return { R, params: NaN, bytes: NaN, tokensPerStep: NaN };
  }
}

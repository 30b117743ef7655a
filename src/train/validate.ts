import { validateModelConfig } from '../model/config';
import { createTask, validateTaskOptions } from '../data/task';
import type { StudyConfig } from './presets';

/** Checks a study config before anything is built; the message names the field at fault. */
export function validateStudyConfig(c: StudyConfig): void {
  validateModelConfig(c.model);
  const positiveInt = (value: number, field: string) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${field} must be a positive integer, got ${value}`);
  };
  positiveInt(c.batch, 'batch');
  positiveInt(c.steps, 'steps');
  positiveInt(c.seedsPerArm, 'seedsPerArm');
  positiveInt(c.evaluation.every, 'evaluation.every');
  positiveInt(c.evaluation.count, 'evaluation.count');
  positiveInt(c.evaluation.buckets, 'evaluation.buckets');
  if (!Number.isInteger(c.baseSeed) || c.baseSeed < 0) throw new RangeError(`baseSeed must be an integer ≥ 0, got ${c.baseSeed}`);
  if (c.arms.length === 0) throw new RangeError('arms must list at least one mask ratio');
  for (const ratio of c.arms) {
    if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`every arm's mask ratio must be in [0, 1), got ${ratio}`);
  }
  const o = c.optimizer;
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new RangeError(`optimizer.lr must be a finite number > 0, got ${o.lr}`);
  if (!(o.warmupSteps >= 0) || !Number.isInteger(o.warmupSteps)) throw new RangeError(`optimizer.warmupSteps must be an integer ≥ 0, got ${o.warmupSteps}`);
  if (!(o.minLrRatio >= 0 && o.minLrRatio <= 1)) throw new RangeError(`optimizer.minLrRatio must be in [0, 1], got ${o.minLrRatio}`);
  if (!(o.weightDecay >= 0) || !Number.isFinite(o.weightDecay)) throw new RangeError(`optimizer.weightDecay must be ≥ 0, got ${o.weightDecay}`);
  for (const [field, value] of [['beta1', o.beta1], ['beta2', o.beta2]] as const) {
    if (!(value >= 0 && value < 1)) throw new RangeError(`optimizer.${field} must be in [0, 1), got ${value}`);
  }
  if (!(o.eps > 0)) throw new RangeError(`optimizer.eps must be > 0, got ${o.eps}`);
  if (!(o.maxGradNorm >= 0) || !Number.isFinite(o.maxGradNorm)) throw new RangeError(`optimizer.maxGradNorm must be ≥ 0 (0 = no clipping), got ${o.maxGradNorm}`);
  validateTaskOptions(c.task, c.taskOptions);
  // Builds the task: a user text is checked here (binary, empty, too long, mostly outside the alphabet).
  const task = createTask(c.task, c.taskOptions);
  if (task.vocabSize !== c.model.vocabSize) {
    throw new RangeError(`model.vocabSize (${c.model.vocabSize}) must equal the ${c.task} task's vocabulary (${task.vocabSize})`);
  }
  if (task.maskId !== c.model.maskId) throw new RangeError(`model.maskId must be the task's [MASK] id ${task.maskId}`);
  const contextProblem = task.contextProblem(c.model.context);
  if (contextProblem) throw new RangeError(`model.context: ${contextProblem}`);
  if (c.evaluation.buckets > task.maxBuckets) {
    const field = c.task === 'recall' ? 'taskOptions.pairs' : c.task === 'multidoc' ? 'taskOptions.documents' : 'the task\'s limit';
    throw new RangeError(`evaluation.buckets (${c.evaluation.buckets}) must be ≤ ${field} (${task.maxBuckets}) for the ${c.task} task: ` +
      `each bucket holds one or more positions of the ${task.bucketLabel}`);
  }
}

import { createTask, type Task } from '../data/task';
import type { StudyConfig } from './presets';
import { ConfigError, parseStudyConfig } from './schema';

/**
 * Built tasks by their options, so that checking the same text-corpus config again (the page re-validates
 * on every edit; the generated corpus takes a quarter of a second to build) costs nothing. A user's text is
 * not cached (it can be megabytes). Tasks are pure: a cached one behaves exactly as a fresh one.
 */
const taskCache = new Map<string, Task>();
const TASK_CACHE_SIZE = 4;

function taskFor(c: StudyConfig): Task {
  const source = c.task === 'text' ? (c.taskOptions as StudyConfig<'text'>['taskOptions']).source : undefined;
  const key = source?.kind === 'user' ? undefined : `${c.task}:${JSON.stringify(c.taskOptions)}`;
  const cached = key === undefined ? undefined : taskCache.get(key);
  if (cached) return cached;
  let task: Task;
  try {
    // Builds the task: a user text is checked here (binary, empty, too long, mostly outside the alphabet).
    task = createTask(c.task, c.taskOptions);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const field = /^taskOptions(\.[\w.]+)?/.exec(error.message)?.[0] ?? 'taskOptions';
    throw new ConfigError(error.message, field);
  }
  if (key !== undefined) {
    taskCache.set(key, task);
    if (taskCache.size > TASK_CACHE_SIZE) taskCache.delete(taskCache.keys().next().value!);
  }
  return task;
}

/**
 * Checks a study config before anything is built: the schema (src/config/schema.ts: types, finite
 * numbers, limits, heads / head dimension, task options), then what needs the built task (vocabulary,
 * [MASK] id, context, evaluation buckets, a user text's content). Throws a ConfigError (a RangeError) whose
 * one-line message names the field at fault; `error.path` is that field.
 */
export function validateStudyConfig(c: StudyConfig): void {
  parseStudyConfig(c);
  if (c.stage === 'finetune' && !c.finetune) throw new ConfigError('stage "finetune" needs the study\'s finetune settings', 'stage');
  const task = taskFor(c);
  if (task.vocabSize !== c.model.vocabSize) {
    throw new ConfigError(`model.vocabSize (${c.model.vocabSize}) must equal the ${c.task} task's vocabulary (${task.vocabSize})`, 'model.vocabSize');
  }
  if (task.maskId !== c.model.maskId) throw new ConfigError(`model.maskId must be the task's [MASK] id ${task.maskId}, got ${c.model.maskId}`, 'model.maskId');
  const contextProblem = task.contextProblem(c.model.context);
  if (contextProblem) throw new ConfigError(`model.context: ${contextProblem}`, 'model.context');
  checkMaskControls(c, task);
  if (c.evaluation.buckets > task.maxBuckets) {
    const field = c.task === 'recall' ? 'taskOptions.pairs' : c.task === 'multidoc' || c.task === 'qa' ? 'taskOptions.documents' : 'the task\'s limit';
    throw new ConfigError(`evaluation.buckets (${c.evaluation.buckets}) must be ≤ ${field} (${task.maxBuckets}) for the ${c.task} task: ` +
      `each bucket holds one or more positions of the ${task.bucketLabel}`, 'evaluation.buckets');
  }
}

/** The mask-policy controls (replace, protect) against what the task offers. */
function checkMaskControls(c: StudyConfig, task: Task): void {
  if (c.replace === 'random-filler' && !task.fillerIds) {
    throw new ConfigError(`replace: random-filler needs a task with filler words (needle, recall, multidoc, qa); the ${c.task} task has none`, 'replace');
  }
  if (c.protect && c.protect.length > 0) {
    if (!task.protectedInputs) throw new ConfigError(`protect needs a retrieval task with a needle and a query; the ${c.task} task has none`, 'protect');
    if (c.sharedMask) throw new ConfigError('protect keeps positions of each sequence unmasked, so masks must be drawn per sequence: turn off sharedMask', 'protect');
  }
  if (c.optimizer.scheduleSteps !== undefined && c.optimizer.scheduleSteps < c.optimizer.warmupSteps) {
    throw new ConfigError(`optimizer.scheduleSteps (${c.optimizer.scheduleSteps}) must be ≥ optimizer.warmupSteps (${c.optimizer.warmupSteps})`, 'optimizer.scheduleSteps');
  }
}

/**
 * A study config read from a file (a safetensors model's metadata: export/safetensors.ts's `checkStudy`),
 * checked by validateStudyConfig and returned typed; throws its ConfigError.
 */
export function checkedStudyConfig(value: object): StudyConfig {
  validateStudyConfig(value as StudyConfig);
  return value as StudyConfig;
}

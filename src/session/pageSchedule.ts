/**
 * What the page's session does beyond the CLI's loop, so that a user sees something within seconds
 * (issue 16, "time to first insight"). None of it changes a run's numbers:
 * - early evaluations: step 0 and steps 4, 8, 16… below `evaluation.every` (evaluating reads the models and
 *   the fixed evaluation set only: no generator, weight or moment is touched);
 * - one timed training step after the build, undone by restoring the state saved before it (the same
 *   save/restore a checkpoint resume uses, bit-identical: test/pageSchedule.test.ts);
 * - a kernel choice measured in the background, applied between steps by rebuilding the GPU engine from its
 *   saved state. Kernel variants are not bit-identical to each other: after a switch the runs continue within
 *   the variants' tested tolerance of the reference (test/matmul.test.ts, test/selftest…), not bit for bit.
 * The CLI (`npm run compare` / `reproduce`) never sets the page's schedule, so its histories stay as they are.
 */
import type { StudyConfig } from '../config/presets';
import type { StudyEngine, TrainingBatch } from '../engine/studyEngine';
import type { TrainingReports } from './reports';
import type { GpuContext } from '../gpu/context';
import { kernelChoiceReport, preferencesOf, type AutotuneResult, type KernelChoiceReport } from '../tuning/autotune';

/** The page's extra evaluations: step 0, then 4, 8, 16… while below the first regular evaluation. */
export function isEarlyEvaluationStep(config: StudyConfig, step: number): boolean {
  if (step === 0) return true;
  return step >= 4 && step < config.evaluation.every && (step & (step - 1)) === 0;
}

/**
 * Wall time of one training step of every run (after one untimed warm-up step), leaving the engine exactly
 * as it was: the state saved before is restored and the steps' losses are dropped.
 */
export async function timeTrainingStep(engine: StudyEngine): Promise<number> {
  if (engine.step !== 0) throw new RangeError('a step is timed only before training (step 0)');
  const saved = await engine.saveState();
  try {
    engine.trainStep();
    await engine.flush();
    const started = performance.now();
    engine.trainStep();
    await engine.flush();
    return performance.now() - started;
  } finally {
    engine.restoreState(saved);
  }
}

/**
 * Sets the measured preferences on the context; a GPU engine built under other ones is rebuilt now from its
 * saved state (`setEngine` gets undefined while it is rebuilt). Returns the choice and the switch's step.
 */
export async function applyKernelChoice(
  ctx: GpuContext, result: AutotuneResult, engine: StudyEngine | undefined, reports: TrainingReports,
  build: () => Promise<StudyEngine>, setEngine: (engine: StudyEngine | undefined) => void,
): Promise<{ kernels: KernelChoiceReport; switchedAtStep: number | null }> {
  const previous = ctx.preferences, next = preferencesOf(result);
  ctx.preferences = next;
  const kernels = kernelChoiceReport(result);
  if (JSON.stringify(previous) === JSON.stringify(next) || engine?.kind !== 'webgpu') return { kernels, switchedAtStep: null };
  setEngine(undefined);
  const rebuilt = await rebuildFromState(engine, reports, build, () => {
    ctx.preferences = previous;
    return build();
  });
  setEngine(rebuilt);
  return { kernels, switchedAtStep: rebuilt.step };
}

/**
 * The same study continued on an engine built now (under the context's current kernel preferences): the
 * pending losses are reported first, the state saved, the old engine freed, the new one built and given the
 * state. If the new build fails, `fallback` builds with the old preferences (the caller restores them).
 */
export async function rebuildFromState(
  engine: StudyEngine, reports: TrainingReports, build: () => Promise<StudyEngine>, fallback: () => Promise<StudyEngine>,
): Promise<StudyEngine> {
  if (reports.stepsSinceReport > 0) await reports.reportTrainLoss(engine);
  const state = await engine.saveState();
  const batch = lastBatchOf(engine);
  engine.dispose();
  let next: StudyEngine;
  try {
    next = await build();
  } catch {
    next = await fallback();
  }
  next.restoreState(state);
  if (batch) carriedBatches.set(next, batch);
  return next;
}

/** The last batch of an engine that was rebuilt before it took a step of its own (the batch viewer's). */
const carriedBatches = new WeakMap<StudyEngine, TrainingBatch>();

/** The batch the study's last step trained on, also across a rebuild under new kernels. */
export function lastBatchOf(engine: StudyEngine): TrainingBatch | null {
  const carried = carriedBatches.get(engine);
  return engine.lastBatch() ?? (carried && carried.step === engine.step ? carried : null);
}

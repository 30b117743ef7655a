import { describe, expect, it } from 'vitest';
import { TrainingSession } from '../src/session/session';
import { applyKernelChoice, isEarlyEvaluationStep, lastBatchOf, timeTrainingStep } from '../src/session/pageSchedule';
import { TrainingReports } from '../src/session/reports';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import type { FromTrainer } from '../src/session/protocol';
import type { AutotuneResult } from '../src/tuning/autotune';
import { testContext } from './gpuContext';

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 12, evaluation: { every: 10, count: 8, buckets: 2, seed: 5 }, ...overrides };
}

/** Trains a session to the end and returns its messages. */
async function trainedSession(config: StudyConfig, pageSchedule: boolean): Promise<FromTrainer[]> {
  const messages: FromTrainer[] = [];
  const session = new TrainingSession({ post: (m) => { messages.push(m); }, createContext: testContext });
  await session.handle({ type: 'configure', config, presetName: 'tiny', pageSchedule });
  await session.handle({ type: 'start' });
  const deadline = performance.now() + 60_000;
  while (!messages.some((m) => m.type === 'state' && m.state === 'done')) {
    if (performance.now() > deadline) throw new Error('the study did not finish');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await session.dispose();
  return messages;
}

const evaluations = (messages: FromTrainer[]) => messages.filter((m): m is Extract<FromTrainer, { type: 'evaluation' }> => m.type === 'evaluation');

describe("the page's schedule", () => {
  it('evaluates at step 0 and at 4, 8, 16… below the first regular evaluation', () => {
    const every50 = tinyStudy({ evaluation: { every: 50, count: 8, buckets: 2, seed: 5 } });
    expect(Array.from({ length: 120 }, (_, s) => s).filter((s) => isEarlyEvaluationStep(every50, s))).toEqual([0, 4, 8, 16, 32]);
    const every10 = tinyStudy();
    expect(Array.from({ length: 40 }, (_, s) => s).filter((s) => isEarlyEvaluationStep(every10, s))).toEqual([0, 4, 8]);
  });

  it('adds evaluations and a timed step without changing a single number of the runs', async () => {
    const config = tinyStudy();
    const plain = await trainedSession(config, false);
    const page = await trainedSession(config, true);
    expect(evaluations(plain).map((m) => m.step)).toEqual([10, 12]);
    expect(evaluations(page).map((m) => m.step)).toEqual([0, 4, 8, 10, 12]);
    const stepTime = page.find((m) => m.type === 'stepTime');
    expect(stepTime && stepTime.type === 'stepTime' && stepTime.msPerStep > 0).toBe(true);
    expect(plain.some((m) => m.type === 'stepTime')).toBe(false);
    // The timed step was undone and evaluating touches no generator or weight: the regular evaluations are
    // bit-identical (validation loss, accuracy, by depth).
    const strip = (m: Extract<FromTrainer, { type: 'evaluation' }>) => m.points.map((p) => [p.valLoss, p.retrievalAcc, p.accByDepth]);
    expect(evaluations(page).filter((m) => m.step >= 10).map(strip)).toEqual(evaluations(plain).map(strip));
    // Each run's mean training loss over all steps is the same too (reports are cut at other steps).
    const meanLoss = (messages: FromTrainer[]) => {
      const train = messages.filter((m): m is Extract<FromTrainer, { type: 'trainLoss' }> => m.type === 'trainLoss');
      let previous = 0;
      const sums = [0, 0];
      for (const m of train) {
        m.losses.forEach((loss, r) => { sums[r] += loss * (m.step - previous); });
        previous = m.step;
      }
      return sums.map((sum) => sum / previous);
    };
    const [a, b] = [meanLoss(plain), meanLoss(page)];
    a.forEach((loss, r) => expect(b[r]).toBeCloseTo(loss, 5));
  });

  it('a timed step leaves the engine exactly as it was', async () => {
    const ctx = await testContext();
    const config = tinyStudy();
    const study = await Study.create(ctx, config);
    const before = await study.saveState();
    expect(await timeTrainingStep(study)).toBeGreaterThan(0);
    const after = await study.saveState();
    expect(after.step).toBe(0);
    expect(Array.from(after.params)).toEqual(Array.from(before.params));
    expect(after.dataRngStates).toEqual(before.dataRngStates);
    expect(after.maskRngStates).toEqual(before.maskRngStates);
    expect((await study.intervalReport()).steps).toBe(0);
    study.dispose();
  });
});

describe('a kernel choice applied between steps', () => {
  /** A measured choice as autotune reports it (only the preferences matter here). */
  function choice(rows: 'serial' | 'workgroup', matmul: 'blocked' | 'tiled'): AutotuneResult {
    return { rows, matmul, measurements: [], key: 'test', method: 'wall', bestTiles: {}, tuningMilliseconds: 1, measuredAt: '', fromCache: false };
  }

  it('rebuilds the engine from its state; the runs continue within the variants\' tolerance', async () => {
    const ctx = await testContext();
    const saved = ctx.preferences;
    try {
      const config = tinyStudy({ steps: 8 });
      ctx.preferences = { rows: 'serial', matmul: 'blocked' };
      const straight = await Study.create(ctx, config);
      for (let s = 0; s < 8; s++) straight.trainStep();
      const straightState = await straight.saveState();
      straight.dispose();

      const reports = new TrainingReports({ post: () => {}, everyRunFailed: () => {} });
      let engine = await Study.create(ctx, config);
      reports.startStudy(engine.R, null);
      for (let s = 0; s < 4; s++) await reports.clock.step(engine);
      const batchBefore = engine.lastBatch()!;
      const same = await applyKernelChoice(ctx, choice('serial', 'blocked'), engine, reports, () => Study.create(ctx, config), (e) => { engine = e as Study; });
      expect(same.switchedAtStep).toBeNull();
      const switched = await applyKernelChoice(ctx, choice('workgroup', 'tiled'), engine, reports, () => Study.create(ctx, config), (e) => { if (e) engine = e as Study; });
      expect(switched.switchedAtStep).toBe(4);
      expect(ctx.preferences).toEqual({ rows: 'workgroup', matmul: 'tiled' });
      expect(engine.step).toBe(4);
      // The batch viewer still shows step 4's batch on the rebuilt engine.
      expect(engine.lastBatch()).toBeNull();
      expect(Array.from(lastBatchOf(engine)!.mask)).toEqual(Array.from(batchBefore.mask));
      for (let s = 0; s < 4; s++) engine.trainStep();
      const switchedState = await engine.saveState();
      engine.dispose();
      expect(switchedState.step).toBe(8);
      expect(switchedState.dataRngStates).toEqual(straightState.dataRngStates);
      // The variants agree with the float64 reference to ~1e-5 (test/matmul.test.ts, test/attention.test.ts);
      // after 4 AdamW steps the weights agree to that order too.
      let worst = 0;
      for (let i = 0; i < straightState.params.length; i++) worst = Math.max(worst, Math.abs(switchedState.params[i] - straightState.params[i]));
      expect(worst).toBeLessThan(1e-3);
    } finally {
      ctx.preferences = saved;
    }
  });
});

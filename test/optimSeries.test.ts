/**
 * Gradient norm, learning rate and weight norm per run (issue 16 item 2's extra charts): both engines report
 * the mean gradient norm before clipping with the interval's losses and the schedule's learning rate, and the
 * parameters' L2 norm at evaluations; the session posts them in 'trainLoss' / 'evaluation'; the runs store
 * keeps them aligned with the steps (null where a message lacks them).
 */
import { describe, expect, it } from 'vitest';
import { preset, type StudyConfig } from '../src/config/presets';
import { CpuStudy } from '../src/engine/cpuStudy';
import { Study } from '../src/engine/gpuStudy';
import { learningRate } from '../src/engine/schedule';
import { TrainingReports } from '../src/session/reports';
import type { FromTrainer } from '../src/session/protocol';
import { applyMessages, type RunsState } from '../src/store/runs';
import { emptyHistory, readSessionExtra, type SessionExtra } from '../src/session/checkpointExtra';
import { testContext } from './gpuContext';

const config: StudyConfig = { ...preset('tiny'), steps: 20, evaluation: { every: 4, count: 8, buckets: 2, seed: 5 } };
const lrAt = (step: number) => learningRate({ peak: config.optimizer.lr, warmupSteps: config.optimizer.warmupSteps,
  totalSteps: config.steps, minRatio: config.optimizer.minLrRatio }, step);

describe('the engines report gradient norm, learning rate and weight norm', () => {
  it('CPU and GPU engines agree; the session posts them', async () => {
    const cpu = CpuStudy.create(config);
    const gpu = await Study.create(await testContext(), config);
    try {
      const initialCpu = await cpu.weightNorms();
      expect(initialCpu.every((n) => n > 0)).toBe(true);
      (await gpu.weightNorms()).forEach((n, r) => expect(Math.abs(n - initialCpu[r]) / initialCpu[r]).toBeLessThan(1e-5));
      for (let i = 0; i < 3; i++) { cpu.trainStep(); gpu.trainStep(); }
      const [a, b] = [await cpu.intervalReport(), await gpu.intervalReport()];
      expect(a.learningRate).toBe(lrAt(3));
      expect(b.learningRate).toBe(lrAt(3));
      expect(a.gradNorms).toHaveLength(cpu.R);
      a.gradNorms.forEach((norm, r) => {
        expect(norm).toBeGreaterThan(0);
        expect(Math.abs(b.gradNorms[r] - norm) / norm).toBeLessThan(1e-3);
      });
      const after = await cpu.weightNorms();
      expect(after).not.toEqual(initialCpu); // trained
      (await gpu.weightNorms()).forEach((n, r) => expect(Math.abs(n - after[r]) / after[r]).toBeLessThan(1e-4));

      // The session's reports carry them: the interval's in 'trainLoss', the weights' in 'evaluation'.
      const posted: FromTrainer[] = [];
      const reports = new TrainingReports({ post: (m) => { posted.push(m); }, everyRunFailed: () => undefined });
      reports.startStudy(cpu.R, null);
      await reports.clock.step(cpu);
      await reports.reportTrainLoss(cpu);
      await reports.reportEvaluation(cpu);
      const trainLoss = posted.find((m) => m.type === 'trainLoss') as Extract<FromTrainer, { type: 'trainLoss' }>;
      expect(trainLoss.learningRate).toBe(lrAt(4));
      expect(trainLoss.gradNorms!.every((n) => n > 0)).toBe(true);
      const evaluation = posted.find((m) => m.type === 'evaluation') as Extract<FromTrainer, { type: 'evaluation' }>;
      expect(evaluation.weightNorms).toEqual(await cpu.weightNorms());

      // A checkpoint's history carries them, aligned with its steps, and reads back as written.
      const extra = reports.extra('tiny', cpu.step);
      expect(extra.history.optim).toEqual({ gradNorms: [trainLoss.gradNorms], learningRates: [lrAt(4)], weightNorms: [evaluation.weightNorms] });
      expect(readSessionExtra(JSON.parse(JSON.stringify(extra)), cpu.R, cpu.step).history.optim).toEqual(extra.history.optim);
    } finally {
      gpu.dispose();
    }
  }, 120_000);

  it('a frozen run reads NaN', async () => {
    const cpu = CpuStudy.create(config);
    cpu.freezeRun(0);
    cpu.trainStep();
    const report = await cpu.intervalReport();
    expect(report.gradNorms[0]).toBeNaN();
    expect(report.gradNorms[1]).toBeGreaterThan(0);
  });
});

describe('checkpoints saved before they were reported', () => {
  const R = 2;
  const oldExtra = (): SessionExtra => {
    const history = emptyHistory();
    history.train = { steps: [2], losses: [[3, 3]] };
    return { format: 'meap-session', version: 1, presetName: 'tiny', history, accounting: { evalLossSum: [0, 0], evalLossSteps: 0, lastTokensPerSecond: 0 } };
  };

  it('read without them; a resumed session reports them aligned with its steps (NaN before)', async () => {
    const extra = readSessionExtra(JSON.parse(JSON.stringify(oldExtra())), R, 2);
    expect(extra.history.optim).toBeUndefined();
    const cpu = CpuStudy.create(config);
    const reports = new TrainingReports({ post: () => undefined, everyRunFailed: () => undefined });
    reports.startStudy(R, null);
    reports.restore(extra, [false, false]);
    for (let i = 0; i < 3; i++) await reports.clock.step(cpu);
    await reports.reportTrainLoss(cpu);
    const optim = reports.history.optim!;
    expect(optim.learningRates).toEqual([Number.NaN, lrAt(3)]);
    expect(optim.gradNorms[0]).toEqual([Number.NaN, Number.NaN]);
    expect(optim.gradNorms[1].every((n) => n > 0)).toBe(true);
  });

  it('a malformed series refuses the checkpoint', () => {
    const extra = JSON.parse(JSON.stringify(oldExtra()));
    extra.history.optim = { gradNorms: [], learningRates: [1], weightNorms: [] };
    expect(() => readSessionExtra(extra, R, 2)).toThrow(/metric history is malformed/);
  });
});

describe('the runs store keeps them aligned with the steps', () => {
  it('per run and per step, null where a message has none', () => {
    const empty: RunsState = {
      state: 'idle', step: 0, study: null, error: null, train: { steps: [], loss: [] }, evals: { steps: [], points: [] },
      speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [], msPerStep: [] }, failures: [],
      optim: { gradNorm: [], learningRate: [], weightNorm: [] },
    };
    const point = (step: number) => ({ step, trainLoss: 1, valLoss: 2, retrievalAcc: 0, accByDepth: [], tokensPerSec: 1 });
    const s = applyMessages(empty, [
      { type: 'trainLoss', step: 2, losses: [3, 3], stepsPerSecond: 1, tokensPerSecond: 1 }, // an older Worker: none
      { type: 'trainLoss', step: 4, losses: [3, 3], stepsPerSecond: 1, tokensPerSecond: 1, gradNorms: [1.5, Number.NaN], learningRate: 2e-4 },
      { type: 'evaluation', step: 4, points: [point(4), point(4)], weightNorms: [40, 41] },
    ]);
    expect(s.optim.gradNorm).toEqual([[null, 1.5], [null, null]]);
    expect(s.optim.learningRate).toEqual([null, 2e-4]);
    expect(s.optim.weightNorm).toEqual([[40], [41]]);
    expect(s.train.steps).toEqual([2, 4]);

    // A resume brings them back from the checkpoint's history (NaN: null).
    const history = emptyHistory();
    history.train = { steps: [4], losses: [[3, 3]] };
    history.evals = { steps: [4], points: [[point(4), point(4)]] };
    history.optim = { gradNorms: [[1.5, Number.NaN]], learningRates: [2e-4], weightNorms: [[40, 41]] };
    const resumed = applyMessages(s, [{ type: 'restored', reason: 'resume', step: 4, history, lostSteps: 0, message: '' }]);
    expect(resumed.optim).toEqual({ gradNorm: [[1.5], [null]], learningRate: [2e-4], weightNorm: [[40], [41]] });
  });
});

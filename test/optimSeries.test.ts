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
  });
});

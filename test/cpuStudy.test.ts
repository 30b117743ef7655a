import { describe, expect, it } from 'vitest';
import { Study } from '../src/engine/gpuStudy';
import { assertCpuSized, CpuStudy } from '../src/engine/cpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import { testContext } from './gpuContext';

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 12, evaluation: { every: 6, count: 8, buckets: 2, seed: 5 }, ...overrides };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('CpuStudy: the no-WebGPU fallback', () => {
  it('tracks the GPU study: same losses for 3 steps (within 1e-4), same evaluation and attention', async () => {
    const config = tinyStudy({ arms: [0, 0.15] });
    const ctx = await testContext();
    const gpu = await Study.create(ctx, config);
    const cpu = CpuStudy.create(config);
    try {
      expect(cpu.runs).toEqual(gpu.runs);
      expect(cpu.parameterCount).toBe(gpu.parameterCount);
      expect(cpu.evalSet.tokens).toEqual(gpu.evalSet.tokens);
      const gpuLosses: number[][] = [];
      const cpuLosses: number[][] = [];
      for (let s = 0; s < 3; s++) {
        gpu.trainStep();
        cpu.trainStep();
        gpuLosses.push(Array.from(await gpu.lastLosses()));
        cpuLosses.push((await cpu.intervalReport()).losses);
      }
      for (let s = 0; s < 3; s++) {
        expect(maxAbsDiff(cpuLosses[s], gpuLosses[s]), `step ${s + 1}`).toBeLessThan(1e-4);
      }
      // Real training happened: the loss moved, and the MEAP arm saw different inputs from step 1.
      expect(Math.abs(cpuLosses[2][0] - cpuLosses[0][0])).toBeGreaterThan(1e-2);
      expect(cpuLosses[0][1]).not.toBe(cpuLosses[0][0]);
      expect(cpu.step).toBe(3);

      const [gpuEval, cpuEval] = [await gpu.evaluate(), await cpu.evaluate()];
      for (let r = 0; r < 2; r++) {
        expect(Math.abs(cpuEval[r].valLoss - gpuEval[r].valLoss)).toBeLessThan(1e-4);
        expect(cpuEval[r].accByDepth).toHaveLength(2);
      }

      const T = config.model.context, V = config.model.vocabSize;
      const example = cpu.evalSet.tokens.subarray(0, T + 1);
      const [gp, cp] = [await gpu.probe(example, [2, 5], [T - 1]), await cpu.probe(example, [2, 5], [T - 1])];
      expect(maxAbsDiff(cp.probs, gp.probs)).toBeLessThan(1e-4);
      expect(cp.logits).toHaveLength(2 * V);
      expect(maxAbsDiff(cp.logits, gp.logits)).toBeLessThan(1e-3);
      await expect(cpu.probe(example, [T])).rejects.toThrow(/mask position/);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('probes one sequence per run: each run sees its own tokens, on both engines', async () => {
    const config = tinyStudy();
    const ctx = await testContext();
    const gpu = await Study.create(ctx, config);
    const cpu = CpuStudy.create(config);
    try {
      const T = config.model.context, V = config.model.vocabSize;
      const a = Array.from(gpu.evalSet.tokens.subarray(0, 9)), b = Array.from(gpu.evalSet.tokens.subarray(T + 1, T + 10));
      for (const engine of [gpu, cpu]) {
        const both = await engine.probe([a, b], [], [8]);
        const onlyA = await engine.probe(a, [], [8]);
        const onlyB = await engine.probe(b, [], [8]);
        expect(both.logits.subarray(0, V)).toEqual(onlyA.logits.subarray(0, V));
        expect(both.logits.subarray(V, 2 * V)).toEqual(onlyB.logits.subarray(V, 2 * V));
        expect(both.logits.subarray(V, 2 * V)).not.toEqual(onlyA.logits.subarray(V, 2 * V));
        await expect(engine.probe([a], [], [8])).rejects.toThrow(/needs 2 sequences/);
      }
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('freezeRun stops one run\'s optimizer while the other trains (GPU and CPU)', async () => {
    const config = tinyStudy();
    const ctx = await testContext();
    const gpu = await Study.create(ctx, config);
    const cpu = CpuStudy.create(config);
    try {
      const P = gpu.model.layout.P;
      gpu.trainStep();
      cpu.trainStep();
      await Promise.all([gpu.intervalReport(), cpu.intervalReport()]);
      const gpuBefore = await gpu.model.readParams();
      const cpuBefore = [Float64Array.from(cpu.runParameters(0)), Float64Array.from(cpu.runParameters(1))];
      gpu.freezeRun(1);
      cpu.freezeRun(1);
      expect(gpu.isFrozen(1) && cpu.isFrozen(1) && !gpu.isFrozen(0)).toBe(true);
      for (let s = 0; s < 2; s++) {
        gpu.trainStep();
        cpu.trainStep();
      }
      const gpuAfter = await gpu.model.readParams();
      expect(gpuAfter.subarray(P, 2 * P)).toEqual(gpuBefore.subarray(P, 2 * P));
      expect(gpuAfter.subarray(0, P)).not.toEqual(gpuBefore.subarray(0, P));
      expect(cpu.runParameters(1)).toEqual(cpuBefore[1]);
      expect(cpu.runParameters(0)).not.toEqual(cpuBefore[0]);
      for (const report of [await gpu.intervalReport(), await cpu.intervalReport()]) {
        expect(report.steps).toBe(2);
        expect(Number.isFinite(report.losses[0])).toBe(true);
        expect(report.losses[1]).toBeNaN();
        expect(report.firstNonFiniteStep).toEqual([null, null]);
      }
      expect(() => gpu.freezeRun(2)).toThrow(/outside 0..1/);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('reports the first step whose gradient is not finite when the learning rate is far too high', async () => {
    const config = tinyStudy({ optimizer: { ...tinyStudy().optimizer, lr: 1e6 } });
    const ctx = await testContext();
    const gpu = await Study.create(ctx, config);
    const cpu = CpuStudy.create(config);
    try {
      for (let s = 0; s < 4; s++) {
        gpu.trainStep();
        cpu.trainStep();
      }
      for (const engine of [gpu, cpu]) {
        const report = await engine.intervalReport();
        expect(report.steps).toBe(4);
        for (const step of report.firstNonFiniteStep) {
          expect(step).not.toBeNull();
          expect(step!).toBeGreaterThan(1);
          expect(step!).toBeLessThanOrEqual(4);
        }
      }
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('refuses studies larger than the tiny preset, saying it needs WebGPU', () => {
    expect(() => assertCpuSized(preset('tiny'))).not.toThrow();
    expect(() => CpuStudy.create(preset('needle-s'))).toThrow(/needs WebGPU; the CPU fallback trains the tiny preset/);
    expect(() => CpuStudy.create(tinyStudy({ seedsPerArm: 3 }))).toThrow(/3\.0× the work per step of the tiny preset/);
    expect(() => CpuStudy.create(tinyStudy({ optimizer: { ...tinyStudy().optimizer, lr: -1 } }))).toThrow(/optimizer\.lr/);
  });
});

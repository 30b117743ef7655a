/**
 * No waste in the training step: once a model (or a Study) is built, a step creates no GPU object
 * (buffer, bind group, pipeline, shader module, layout, query set, texture), submits exactly one
 * command buffer, and maps nothing (no readback inside a step). The device's methods are wrapped to
 * count every call; the same wrappers then see the readback that a deliberate `read` does, so the
 * instrumentation is shown to be live (a test that could not fail would prove nothing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { GpuModel } from '../src/model/gpuModel';
import { initParameters } from '../src/model/init';
import { adamwHyper } from '../src/kernels/adamw';
import { Study } from '../src/engine/gpuStudy';
import { preset } from '../src/config/presets';
import { randomInts } from '../src/util/random';
import { testContext } from './gpuContext';

const CREATORS = [
  'createBuffer', 'createBindGroup', 'createComputePipeline', 'createComputePipelineAsync', 'createShaderModule',
  'createBindGroupLayout', 'createPipelineLayout', 'createQuerySet', 'createTexture', 'createSampler',
] as const;
type Creator = typeof CREATORS[number];

interface Counts extends Record<Creator, number> {
  submit: number;
  commandBuffers: number;
  createCommandEncoder: number;
  writeBuffer: number;
  mapAsync: number;
}

/** Wraps the device's factory methods, queue.submit/writeBuffer and GPUBuffer.prototype.mapAsync. */
function instrument(device: GPUDevice, probe: GPUBuffer): { counts: Counts; restore(): void } {
  const counts = Object.fromEntries([...CREATORS, 'submit', 'commandBuffers', 'createCommandEncoder', 'writeBuffer', 'mapAsync']
    .map((k) => [k, 0])) as unknown as Counts;
  const undo: (() => void)[] = [];
  const wrap = <T extends object>(target: T, name: string, count: (args: unknown[]) => void) => {
    const record = target as Record<string, unknown>;
    const original = record[name];
    if (typeof original !== 'function') return;
    const own = Object.prototype.hasOwnProperty.call(target, name);
    record[name] = function (this: unknown, ...args: unknown[]) {
      count(args);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    undo.push(() => {
      if (own) record[name] = original;
      else delete record[name];
    });
  };
  for (const name of [...CREATORS, 'createCommandEncoder'] as const) wrap(device, name, () => { counts[name]++; });
  wrap(device.queue, 'submit', (args) => {
    counts.submit++;
    counts.commandBuffers += (args[0] as unknown[]).length;
  });
  wrap(device.queue, 'writeBuffer', () => { counts.writeBuffer++; });
  // mapAsync lives on the prototype shared by every buffer, including those created before instrumenting.
  wrap(Object.getPrototypeOf(probe) as object, 'mapAsync', () => { counts.mapAsync++; });
  return { counts, restore: () => { for (const u of undo.reverse()) u(); } };
}

function expectNothingCreated(counts: Counts): void {
  for (const name of CREATORS) expect(counts[name], `${name} calls during the steps`).toBe(0);
}

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

const STEPS = 4;

async function stepsOfModel(ctx: GpuContext) {
  const config = preset('tiny').model;
  const R = 2, B = 4, T = config.context;
  const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 1 });
  for (let r = 0; r < R; r++) model.writeRunParameters(r, initParameters(config, model.layout, 7 + r));
  const tokens = randomInts(3, R * B * (T + 1), config.vocabSize);
  const mask = new Uint32Array(R * B * T).map((_, i) => (i % 9 === 4 ? 1 : 0));
  const settings = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  const hyper = new Float32Array(R * 8);
  await ctx.device.queue.onSubmittedWorkDone();
  return { model, tokens, mask, settings, hyper, R };
}

describe('no waste in the training step', () => {
  it(`GpuModel: ${STEPS} steps create nothing, submit once each, map nothing`, async () => {
    const ctx = await testContext();
    const { model, tokens, mask, settings, hyper, R } = await stepsOfModel(ctx);
    try {
      const arenaBefore = ctx.arena.created;
      const pipelinesBefore = ctx.registry.compiledPipelines;
      const inst = instrument(ctx.device, model.paramsBuffer);
      restore = inst.restore;
      for (let step = 1; step <= STEPS; step++) {
        model.writeBatch(tokens, mask);
        model.writeHyper(adamwHyper(Array.from({ length: R }, () => settings), step, hyper));
        model.trainStep();
        expect(inst.counts.submit, `submits after step ${step}`).toBe(step);
        expect(inst.counts.commandBuffers).toBe(step);
        expect(inst.counts.createCommandEncoder).toBe(step);
      }
      await ctx.device.queue.onSubmittedWorkDone();
      expectNothingCreated(inst.counts);
      expect(inst.counts.mapAsync).toBe(0);
      expect(inst.counts.writeBuffer).toBe(3 * STEPS); // tokens, mask, AdamW hyperparameters
      expect(ctx.arena.created).toBe(arenaBefore);
      expect(ctx.registry.compiledPipelines).toBe(pipelinesBefore);

      // The same wrappers see a readback (staging buffer + mapAsync): the instrumentation is live.
      const loss = await model.readLossMean();
      expect(inst.counts.createBuffer).toBe(1);
      expect(inst.counts.mapAsync).toBe(1);
      expect(inst.counts.submit).toBe(STEPS + 1);
      expect([...loss.subarray(0, R)].every(Number.isFinite)).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it(`Study (default study shape: 2 arms as R runs): ${STEPS} steps create nothing, submit once each, map nothing`, async () => {
    const ctx = await testContext();
    const study = await Study.create(ctx, { ...preset('tiny'), steps: 20, evaluation: { every: 10, count: 8, buckets: 2, seed: 5 } });
    try {
      await study.flush();
      const arenaBefore = ctx.arena.created;
      const pipelinesBefore = ctx.registry.compiledPipelines;
      const inst = instrument(ctx.device, study.model.paramsBuffer);
      restore = inst.restore;
      for (let step = 1; step <= STEPS; step++) {
        study.trainStep();
        expect(inst.counts.submit, `submits after step ${step}`).toBe(step);
        expect(inst.counts.commandBuffers).toBe(step);
        expect(inst.counts.createCommandEncoder).toBe(step);
      }
      await study.flush();
      expectNothingCreated(inst.counts);
      expect(inst.counts.mapAsync).toBe(0);
      expect(inst.counts.writeBuffer).toBeLessThanOrEqual(3 * STEPS);
      expect(ctx.arena.created).toBe(arenaBefore);
      expect(ctx.registry.compiledPipelines).toBe(pipelinesBefore);
      expect(study.step).toBe(STEPS);

      // Reading the interval's losses is a readback outside the steps; the wrappers see it.
      const report = await study.intervalReport();
      expect(report.steps).toBe(STEPS);
      expect(report.losses.every(Number.isFinite)).toBe(true);
      expect(inst.counts.mapAsync).toBeGreaterThan(0);
      expect(inst.counts.createBuffer).toBeGreaterThan(0);
    } finally {
      study.dispose();
    }
  });
});

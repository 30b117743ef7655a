import { describe, expect, it } from 'vitest';
import { GpuModel } from '../src/model/gpuModel';
import { decayMask, parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { referenceBackward, referenceForward } from '../src/reference/model';
import { adamwReference, type AdamWState } from '../src/reference/adamw';
import { gradNormReference } from '../src/reference/gradNorm';
import { adamwHyper } from '../src/kernels/adamw';
import { ModelTooLargeError, bufferPlan, checkMemory } from '../src/model/memory';
import { randomInts } from '../src/util/random';
import { testContext } from './gpuContext';
import type { ModelConfig } from '../src/model/config';

// Awkward sizes on purpose: nothing is a multiple of a tile.
const config: ModelConfig = {
  vocabSize: 13, maskId: 2, layers: 2, dModel: 12, heads: 2, dFF: 20, context: 7, ropeBase: 10000, normEps: 1e-5,
};
const R = 3, B = 2, T = config.context;
const layout = parameterLayout(config);
const settings = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

function batchFor(run: number, step: number) {
  const tokens = randomInts(1000 * run + step, B * (T + 1), config.vocabSize);
  const mask = new Uint32Array(B * T);
  // Run 0 is NTP; runs 1 and 2 mask a couple of input positions (never T − 1).
  if (run > 0) { mask[(step + run) % (T - 1)] = 1; mask[T + ((step * 3 + run) % (T - 1))] = 1; }
  return { B, tokens, mask };
}

function stacked(step: number) {
  const tokens = new Uint32Array(R * B * (T + 1));
  const mask = new Uint32Array(R * B * T);
  for (let r = 0; r < R; r++) {
    const b = batchFor(r, step);
    tokens.set(b.tokens, r * B * (T + 1));
    mask.set(b.mask, r * B * T);
  }
  return { tokens, mask };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number {
  let worst = 0;
  for (let i = from; i < to; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

describe('whole model on WebGPU vs the CPU reference', () => {
  it('loss and every parameter gradient match, per run, with masked and clean inputs', async () => {
    const ctx = await testContext();
    const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 1 });
    try {
      const inits = [0, 1, 2].map((r) => initParameters(config, layout, 10 + r));
      inits.forEach((p, r) => model.writeRunParameters(r, p));
      const { tokens, mask } = stacked(1);
      model.writeBatch(tokens, mask);
      model.writeHyper(adamwHyper([settings, settings, settings].map((s) => ({ ...s, active: false })), 1));
      model.trainStep();
      const losses = await model.readLossMean();
      const grads = await model.readGradients();
      for (let r = 0; r < R; r++) {
        const batch = batchFor(r, 1);
        const forward = referenceForward(config, layout, inits[r], batch);
        const reference = referenceBackward(config, layout, inits[r], batch, forward);
        expect(Math.abs(losses[r] - forward.loss), `loss of run ${r}`).toBeLessThan(1e-5);
        for (const t of layout.tensors) {
          const gpu = grads.subarray(r * layout.P + t.offset, r * layout.P + t.offset + t.size);
          const ref = reference.subarray(t.offset, t.offset + t.size);
          const scale = Math.max(...Array.from(ref, Math.abs));
          expect(scale, `${t.name} gradient is not trivially zero`).toBeGreaterThan(0);
          expect(maxAbs(gpu, ref), `${t.name} gradient of run ${r}`).toBeLessThan(1e-6 + 1e-4 * scale);
        }
      }
      // Frozen runs (active = 0) did not move.
      const params = await model.readParams();
      for (let r = 0; r < R; r++) expect(params.subarray(r * layout.P, (r + 1) * layout.P)).toEqual(inits[r]);
    } finally {
      model.dispose();
    }
  });

  it('after 5 AdamW steps with clipping the GPU and CPU weights still match', async () => {
    const ctx = await testContext();
    const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 0.5 });
    try {
      const cpu: AdamWState[] = [0, 1, 2].map((r) => {
        const p = initParameters(config, layout, 20 + r);
        model.writeRunParameters(r, p);
        return { params: Float64Array.from(p), m: new Float64Array(layout.P), v: new Float64Array(layout.P) };
      });
      const decay = decayMask(layout);
      for (let step = 1; step <= 5; step++) {
        const hyper = adamwHyper([settings, settings, settings], step);
        const { tokens, mask } = stacked(step);
        model.writeBatch(tokens, mask);
        model.writeHyper(hyper);
        model.trainStep();
        for (let r = 0; r < R; r++) {
          const batch = batchFor(r, step);
          const grads = referenceBackward(config, layout, cpu[r].params, batch, referenceForward(config, layout, cpu[r].params, batch));
          const stats = gradNormReference(grads, 1, layout.P, 0.5);
          cpu[r] = adamwReference({ ...cpu[r], grads, decay, hyper: hyper.subarray(r * 8, r * 8 + 8), stats, R: 1, P: layout.P });
        }
      }
      const params = await model.readParams();
      const stats = await model.readGradStats();
      for (let r = 0; r < R; r++) {
        expect(stats[2 * r + 1], 'clipping engaged').toBeLessThan(1);
        const moved = maxAbs(cpu[r].params, initParameters(config, layout, 20 + r));
        expect(moved).toBeGreaterThan(1e-3);
        expect(maxAbs(params.subarray(r * layout.P, (r + 1) * layout.P), cpu[r].params), `run ${r}`).toBeLessThan(2e-5);
      }
    } finally {
      model.dispose();
    }
  });

  it('refuses a model over the memory budget before allocating, with both numbers', async () => {
    const ctx = await testContext();
    const before = ctx.arena.created;
    await expect(GpuModel.build(ctx, config, { R, B, maxGradNorm: 1, memoryBudgetBytes: 1000 }))
      .rejects.toThrow(/needs [\d.]+ MiB of GPU memory, more than the [\d.]+ MiB available/);
    expect(ctx.arena.created).toBe(before);
    expect(() => checkMemory(bufferPlan(config, 1, 1), { maxStorageBufferBindingSize: 64, maxBufferSize: 64 }, 1e12))
      .toThrow(ModelTooLargeError);
  });
});

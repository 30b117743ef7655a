import { afterEach, describe, expect, it } from 'vitest';
import { createGpuContext, type GpuContext, type KernelPreferences } from '../src/gpu/context';
import { nodeGpu } from '../src/gpu/node';
import { GpuModel } from '../src/model/gpuModel';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { referenceBackward, referenceForward } from '../src/reference/model';
import { adamwHyper } from '../src/kernels/adamw';
import { MATMUL_EXTRA_TILES } from '../src/kernels/matmul';
import { randomInts } from '../src/util/random';
import { testContext } from './gpuContext';
import type { ModelConfig } from '../src/model/config';

// The variants meant for real GPUs (vec4 matmul, subgroup RMSNorm and attention) inside the whole model,
// against the float64 reference model — the kernel tests check each on its own; this checks them wired
// together. Two shapes: every matmul operand vec4-aligned (the vec4 entry point everywhere), and the
// awkward sizes of test/gpuModel.test.ts (vec4's scalar-load entry point wherever a dimension is odd).
const aligned: ModelConfig = {
  vocabSize: 16, maskId: 2, layers: 2, dModel: 16, heads: 2, dFF: 24, context: 8, ropeBase: 10000, normEps: 1e-5,
};
const awkward: ModelConfig = {
  vocabSize: 13, maskId: 2, layers: 2, dModel: 12, heads: 2, dFF: 20, context: 7, ropeBase: 10000, normEps: 1e-5,
};
const R = 2, B = 2;
const settings = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

function batchFor(config: ModelConfig, run: number) {
  const T = config.context;
  const tokens = randomInts(500 + run, B * (T + 1), config.vocabSize);
  const mask = new Uint32Array(B * T);
  if (run > 0) { mask[1] = 1; mask[T + 3] = 1; }
  return { B, tokens, mask };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

let restore: { ctx: GpuContext; preferences: KernelPreferences } | undefined;
afterEach(() => {
  if (restore) restore.ctx.preferences = restore.preferences;
  restore = undefined;
});

const CHOICES: { name: string; preferences: KernelPreferences }[] = [
  { name: 'vec4 + subgroup rows', preferences: { rows: 'serial', matmul: 'vec4', subgroupRows: true } },
  { name: 'vec4 128×64 tiles + workgroup rows', preferences: { rows: 'workgroup', matmul: 'vec4', matmulTiles: { vec4: MATMUL_EXTRA_TILES.vec4[1] } } },
];

/** One frozen training step of `config` (R runs, fixed weights and batch) under `preferences`: losses and gradients. */
async function step(ctx: GpuContext, config: ModelConfig, preferences: KernelPreferences): Promise<{ losses: Float32Array; grads: Float32Array }> {
  const saved = ctx.preferences;
  ctx.preferences = preferences;
  const layout = parameterLayout(config);
  const T = config.context;
  const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 1 });
  try {
    [0, 1].forEach((r) => model.writeRunParameters(r, initParameters(config, layout, 30 + r)));
    const tokens = new Uint32Array(R * B * (T + 1));
    const mask = new Uint32Array(R * B * T);
    for (let r = 0; r < R; r++) {
      const batch = batchFor(config, r);
      tokens.set(batch.tokens, r * B * (T + 1));
      mask.set(batch.mask, r * B * T);
    }
    model.writeBatch(tokens, mask);
    model.writeHyper(adamwHyper([settings, settings].map((s) => ({ ...s, active: false })), 1));
    model.trainStep();
    return { losses: await model.readLossMean(), grads: await model.readGradients() };
  } finally {
    model.dispose();
    ctx.preferences = saved;
  }
}

describe('the subgroup kernels on a second device', () => {
  // Subgroup sums are deterministic only if the same pipeline does the same operations: a second device
  // compiles every pipeline afresh (on SwiftShader with the same subgroup size, 4), and must give the same bits.
  it('a fresh device (fresh pipeline compiles) gives bit-identical losses and gradients', async () => {
    const ctx = await testContext();
    const other = await createGpuContext({ gpu: await nodeGpu(), profile: false });
    try {
      const preferences: KernelPreferences = { rows: 'serial', matmul: 'vec4', subgroupRows: true };
      for (const config of [aligned, awkward]) {
        const first = await step(ctx, config, preferences);
        const second = await step(other, config, preferences);
        expect(first.grads.some((x) => x !== 0)).toBe(true);
        expect(Array.from(second.losses)).toEqual(Array.from(first.losses));
        expect(Array.from(second.grads)).toEqual(Array.from(first.grads));
      }
    } finally {
      other.destroy();
    }
  });
});

describe('the whole model built with the GPU-meant kernel variants vs the CPU reference', () => {
  for (const { name, preferences } of CHOICES) {
    for (const [shapeName, config] of [['aligned', aligned], ['awkward', awkward]] as const) {
      it(`${name}, ${shapeName} shapes: loss and every gradient match; two steps are bit-identical`, async () => {
        const ctx = await testContext();
        restore ??= { ctx, preferences: ctx.preferences };
        ctx.preferences = preferences;
        const layout = parameterLayout(config);
        const T = config.context;
        const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 1 });
        try {
          const labels = [...model.forward, ...model.backward].map((d) => d.label);
          // Aligned: the vec4 entry point for every product; awkward: the scalar one wherever an operand's
          // leading dimension is not a multiple of 4 (B·T = 14 rows), the vec4 one elsewhere (12, 20 are).
          const matmuls = new Set(labels.filter((l) => l.startsWith('matmul.')));
          expect(matmuls).toEqual(new Set(shapeName === 'aligned' ? ['matmul.vec4'] : ['matmul.vec4', 'matmul.vec4.scalar']));
          const rows = preferences.subgroupRows ? 'subgroup' : preferences.rows;
          expect(labels).toContain(`rmsnormForward.${rows}`);
          expect(labels).toContain(`rmsnormBackwardInput.${rows}`);
          expect(labels).toContain(`attentionForward.${rows}`);
          expect(labels).toContain(`attentionBackwardRows.${rows}`);

          const inits = [0, 1].map((r) => initParameters(config, layout, 30 + r));
          inits.forEach((p, r) => model.writeRunParameters(r, p));
          const tokens = new Uint32Array(R * B * (T + 1));
          const mask = new Uint32Array(R * B * T);
          for (let r = 0; r < R; r++) {
            const batch = batchFor(config, r);
            tokens.set(batch.tokens, r * B * (T + 1));
            mask.set(batch.mask, r * B * T);
          }
          model.writeBatch(tokens, mask);
          // Frozen runs: the step computes loss and gradients but leaves the weights, so it can be repeated.
          model.writeHyper(adamwHyper([settings, settings].map((s) => ({ ...s, active: false })), 1));
          model.trainStep();
          const losses = await model.readLossMean();
          const grads = await model.readGradients();
          for (let r = 0; r < R; r++) {
            const batch = batchFor(config, r);
            const forward = referenceForward(config, layout, inits[r], batch);
            const reference = referenceBackward(config, layout, inits[r], batch, forward);
            expect(Math.abs(losses[r] - forward.loss), `loss of run ${r}`).toBeLessThan(1e-5);
            for (const t of layout.tensors) {
              const gpu = grads.subarray(r * layout.P + t.offset, r * layout.P + t.offset + t.size);
              const ref = reference.subarray(t.offset, t.offset + t.size);
              const scale = Math.max(...Array.from(ref, Math.abs));
              expect(maxAbs(gpu, ref), `${t.name} gradient of run ${r}`).toBeLessThan(1e-6 + 1e-4 * scale);
            }
          }
          model.trainStep();
          expect(Array.from(await model.readLossMean())).toEqual(Array.from(losses));
          expect(Array.from(await model.readGradients())).toEqual(Array.from(grads));
        } finally {
          model.dispose();
        }
      });
    }
  }
});

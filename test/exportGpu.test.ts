import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { GpuModel } from '../src/model/gpuModel';
import { initParameters } from '../src/model/init';
import { adamwHyper } from '../src/kernels/adamw';
import { encodeDispatches } from '../src/gpu/dispatch';
import { referenceForward } from '../src/reference/model';
import { preset } from '../src/config/presets';
import { randomInts } from '../src/util/random';
import { exportOnnx, inputIdsFrom, ONNX_INPUT, ONNX_LOGITS } from '../src/export/onnx';
import { readSafetensors, writeSafetensors } from '../src/export/safetensors';
import { testContext } from './gpuContext';

ort.env.wasm.numThreads = 1;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Learnable rows: a random start, then next = (3·prev + 1) mod V, so the trained model grows confident logits. */
function patterned(seed: number, rows: number, rowLength: number, V: number): Uint32Array {
  const starts = randomInts(seed, rows, V);
  const out = new Uint32Array(rows * rowLength);
  for (let r = 0; r < rows; r++) {
    out[r * rowLength] = starts[r];
    for (let t = 1; t < rowLength; t++) out[r * rowLength + t] = (3 * out[r * rowLength + t - 1] + 1) % V;
  }
  return out;
}

describe('export of a model trained on WebGPU', () => {
  it('tiny, 30 steps, 2 runs: safetensors → ONNX in onnxruntime-web matches the WGSL forward within 1e-4', async () => {
    const study = preset('tiny');
    const config = study.model;
    const R = 2, B = 4, T = config.context, steps = 30;
    const ctx = await testContext();
    const model = await GpuModel.build(ctx, config, { R, B, maxGradNorm: 1 });
    try {
      const layout = model.layout;
      const inits = [0, 1].map((r) => initParameters(config, layout, 40 + r));
      inits.forEach((p, r) => model.writeRunParameters(r, p));
      const settings = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      for (let step = 1; step <= steps; step++) {
        const tokens = patterned(500 + step, R * B, T + 1, config.vocabSize);
        const mask = new Uint32Array(R * B * T);
        // Run 1 trains with MEAP-style masked inputs.
        for (let i = 0; i < B * T; i++) if ((i * 7 + step) % 6 === 0) mask[B * T + i] = 1;
        model.writeBatch(tokens, mask);
        model.writeHyper(adamwHyper([settings, settings], step));
        model.trainStep();
      }
      // Evaluate on clean inputs (one of them the [MASK] id, as a MEAP input would be).
      const tokens = patterned(9999, R * B, T + 1, config.vocabSize);
      tokens[3] = config.maskId;
      tokens[R * B * (T + 1) - 5] = config.maskId;
      model.writeBatch(tokens, new Uint32Array(R * B * T));
      const encoder = ctx.device.createCommandEncoder();
      encodeDispatches(ctx, encoder, model.evaluate, 'evaluate');
      ctx.device.queue.submit([encoder.finish()]);
      const gpuLogits = await model.readLogits();
      const allParams = await model.readParams();
      const V = config.vocabSize, P = layout.P;
      for (let r = 0; r < R; r++) {
        const params = allParams.slice(r * P, (r + 1) * P);
        expect(maxAbs(params, inits[r]), `run ${r} trained`).toBeGreaterThan(1e-2);
        // Through the file, as a user would: save, load, export.
        const loaded = readSafetensors(writeSafetensors(config, params, { study }));
        expect(loaded.params).toEqual(params);
        const bytes = exportOnnx(loaded.config, loaded.params);
        const runTokens = tokens.subarray(r * B * (T + 1), (r + 1) * B * (T + 1));
        const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
        const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('int64', inputIdsFrom(runTokens, B, T + 1, T), [B, T]) });
        await session.release();
        const onnxLogits = out[ONNX_LOGITS].data as Float32Array;
        const gpu = gpuLogits.subarray(r * B * T * V, (r + 1) * B * T * V);
        const ref = referenceForward(config, layout, params, { B, tokens: runTokens, mask: new Uint32Array(B * T) }).logits;
        const scale = Math.max(...Array.from(ref, Math.abs));
        const vsGpu = maxAbs(onnxLogits, gpu), vsRef = maxAbs(onnxLogits, ref), gpuVsRef = maxAbs(gpu, ref);
        console.log(`run ${r}: max |logit| ${scale.toFixed(3)}; max |Δ| ONNX−WGSL ${vsGpu.toExponential(2)}, ` +
          `ONNX−reference ${vsRef.toExponential(2)}, WGSL−reference ${gpuVsRef.toExponential(2)}`);
        expect(scale).toBeGreaterThan(2);
        expect(vsGpu).toBeLessThan(1e-4);
        expect(vsRef).toBeLessThan(1e-4);
      }
    } finally {
      model.dispose();
    }
  });
});

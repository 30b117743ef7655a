import { describe, expect, it } from 'vitest';
import { validateModelConfig, type ModelConfig } from '../src/model/config';
import { decayMask, parameterCount, parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { referenceBackward, referenceForward } from '../src/reference/model';
import { randomInts } from '../src/util/random';
import { numericGradient } from './finiteDifference';

const tinyConfig: ModelConfig = {
  vocabSize: 11, maskId: 2, layers: 2, dModel: 8, heads: 2, dFF: 12, context: 5, ropeBase: 10000, normEps: 1e-5,
};

function batch(B: number, T: number, seed: number, masked: boolean) {
  const tokens = randomInts(seed, B * (T + 1), tinyConfig.vocabSize);
  const mask = new Uint32Array(B * T);
  if (masked) { mask[1] = 1; mask[T + 2] = 1; }
  return { B, tokens, mask };
}

describe('parameter layout', () => {
  it('places every Hugging Face LLaMA tensor once, aligned, without overlap', () => {
    const layout = parameterLayout(tinyConfig);
    expect(layout.tensors[0].name).toBe('model.embed_tokens.weight');
    expect(layout.tensors.at(-1)!.name).toBe('lm_head.weight');
    expect(layout.tensors).toHaveLength(3 + 9 * tinyConfig.layers);
    for (let i = 0; i < layout.tensors.length; i++) {
      const t = layout.tensors[i];
      expect(t.offset % 64).toBe(0);
      if (i + 1 < layout.tensors.length) expect(t.offset + t.size).toBeLessThanOrEqual(layout.tensors[i + 1].offset);
    }
    expect(parameterCount(layout)).toBe(2 * 11 * 8 + 2 * (2 * 8 + 4 * 64 + 3 * 96) + 8);
    const decay = decayMask(layout);
    expect(decay[layout.byName.get('model.layers.0.self_attn.q_proj.weight')!.offset]).toBe(1);
    expect(decay[layout.byName.get('model.layers.0.input_layernorm.weight')!.offset]).toBe(0);
  });

  it('validation names the field at fault', () => {
    expect(() => validateModelConfig({ ...tinyConfig, heads: 3 })).toThrow(/heads \(3\) must divide dModel/);
    expect(() => validateModelConfig({ ...tinyConfig, maskId: 11 })).toThrow(/maskId/);
    expect(() => validateModelConfig({ ...tinyConfig, layers: 0 })).toThrow(/layers/);
  });
});

describe('reference model', () => {
  const layout = parameterLayout(tinyConfig);
  // Larger than the default init so that every path carries signal that finite differences can see.
  const params = Float64Array.from(initParameters(tinyConfig, layout, 3), (v) => v * 10);
  // RMSNorm weights start at exactly 1 (now 10): give them distinct values so a transposed index shows.
  for (let i = 0; i < layout.P; i++) if (params[i] === 10) params[i] = 1 + 0.1 * Math.sin(i);

  it('every parameter gradient matches central finite differences in float64', () => {
    const b = batch(2, tinyConfig.context, 5, true);
    const forward = referenceForward(tinyConfig, layout, params, b);
    expect(forward.loss).toBeGreaterThan(0);
    const analytic = referenceBackward(tinyConfig, layout, params, b, forward);
    const numeric = numericGradient((x) => referenceForward(tinyConfig, layout, x, b).loss, Float64Array.from(params), 1e-5);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < layout.P; i++) {
      worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]));
      scale = Math.max(scale, Math.abs(numeric[i]));
    }
    expect(scale).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(1e-7);
  });

  it('a masked input changes the loss but the targets stay clean', () => {
    const clean = referenceForward(tinyConfig, layout, params, batch(2, tinyConfig.context, 5, false)).loss;
    const masked = referenceForward(tinyConfig, layout, params, batch(2, tinyConfig.context, 5, true)).loss;
    expect(masked).not.toBe(clean);
  });
});

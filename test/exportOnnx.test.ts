import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import onnxProto from 'onnx-proto';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { referenceForward } from '../src/reference/model';
import { randomInts } from '../src/util/random';
import { attentionOutputName, exportOnnx, inputIdsFrom, ONNX_INPUT, ONNX_LOGITS, ONNX_OPSET } from '../src/export/onnx';
import type { ModelConfig } from '../src/model/config';

ort.env.wasm.numThreads = 1;

// Awkward sizes on purpose.
const config: ModelConfig = {
  vocabSize: 13, maskId: 2, layers: 2, dModel: 12, heads: 2, dFF: 20, context: 7, ropeBase: 10000, normEps: 1e-5,
};
const layout = parameterLayout(config);

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return Number.isNaN(worst) ? Infinity : worst;
}

/** Weights with some spread (trained-looking): the init, plus noise, norms away from 1. */
function params(seed: number): Float32Array {
  const p = initParameters(config, layout, seed);
  const noise = initParameters(config, layout, seed + 1000);
  for (let i = 0; i < p.length; i++) p[i] += 5 * noise[i];
  return p;
}

async function run(bytes: Uint8Array, ids: BigInt64Array, batch: number, seq: number) {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    return await session.run({ [ONNX_INPUT]: new ort.Tensor('int64', ids, [batch, seq]) });
  } finally {
    await session.release();
  }
}

/** Reference logits [B·seq, V] of the first seq inputs of each row (RoPE and the causal mask depend only on t). */
function reference(p: Float32Array, tokens: Uint32Array, B: number, seq: number) {
  const rowLength = config.context + 1;
  const sub = new Uint32Array(B * (seq + 1));
  for (let b = 0; b < B; b++) sub.set(tokens.subarray(b * rowLength, b * rowLength + seq + 1), b * (seq + 1));
  return referenceForward({ ...config, context: seq }, layout, p, { B, tokens: sub, mask: new Uint32Array(B * seq) });
}

describe('ONNX export', () => {
  it('is a valid opset-17 model whose logits match the CPU reference (full context, shorter seq, batch 1 and 3)', async () => {
    const p = params(5);
    const bytes = exportOnnx(config, p);
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    expect(Number(model.opsetImport[0].version)).toBe(ONNX_OPSET);
    expect(Number(model.irVersion)).toBe(8);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    expect(graph.output.map((o) => o.name)).toEqual([ONNX_LOGITS]);
    expect(graph.input.map((i) => i.name)).toEqual([ONNX_INPUT]);
    const ops = new Set(graph.node.map((n) => n.opType));
    expect([...ops].sort()).toEqual(['Add', 'Concat', 'Div', 'Gather', 'MatMul', 'Mul', 'ReduceMean', 'Reshape', 'Shape',
      'Sigmoid', 'Slice', 'Softmax', 'Sqrt', 'Sub', 'Transpose'].sort());
    const T = config.context;
    for (const [B, seq] of [[3, T], [1, T], [2, 4], [1, 1]]) {
      const tokens = randomInts(100 + B * 10 + seq, B * (T + 1), config.vocabSize);
      tokens[0] = config.maskId; // a [MASK] input
      const out = await run(bytes, inputIdsFrom(tokens, B, T + 1, seq), B, seq);
      const logits = out[ONNX_LOGITS];
      expect(logits.dims).toEqual([B, seq, config.vocabSize]);
      const ref = reference(p, tokens, B, seq).logits;
      const scale = Math.max(...Array.from(ref, Math.abs));
      expect(scale).toBeGreaterThan(0.1);
      const err = maxAbs(logits.data as Float32Array, ref);
      console.log(`B=${B} seq=${seq}: max |Δlogits| vs reference = ${err.toExponential(2)} (max |logit| ${scale.toFixed(3)})`);
      expect(err).toBeLessThan(1e-4);
    }
  });

  it('optionally outputs every layer\'s attention probabilities, equal to the reference', async () => {
    const p = params(6);
    const bytes = exportOnnx(config, p, { attentionProbs: true });
    const B = 2, seq = 5, T = config.context;
    const tokens = randomInts(7, B * (T + 1), config.vocabSize);
    const out = await run(bytes, inputIdsFrom(tokens, B, T + 1, seq), B, seq);
    const ref = reference(p, tokens, B, seq);
    for (let l = 0; l < config.layers; l++) {
      const probs = out[attentionOutputName(l)];
      expect(probs.dims).toEqual([B, config.heads, seq, seq]);
      expect(maxAbs(probs.data as Float32Array, ref.probs[l])).toBeLessThan(1e-5);
    }
    expect(maxAbs(out[ONNX_LOGITS].data as Float32Array, ref.logits)).toBeLessThan(1e-4);
  });

  it('refuses wrong parameter counts and non-finite weights', () => {
    expect(() => exportOnnx(config, new Float32Array(layout.P - 1))).toThrow(/expected one run's \d+ parameters/);
    const p = params(1);
    p[layout.byName.get('model.layers.1.mlp.up_proj.weight')!.offset + 3] = NaN;
    expect(() => exportOnnx(config, p)).toThrow(/model\.layers\.1\.mlp\.up_proj\.weight holds a non-finite value/);
  });
});

/**
 * ONNX export of one playground model, built in TypeScript with onnx-proto (no Python).
 *
 * Graph (opset 17, standard ops only; the same math as src/reference/model.ts):
 *   input   input_ids  int64 [batch, seq]   (dynamic batch; 1 ≤ seq ≤ context; a masked position holds maskId)
 *   output  logits     float [batch, seq, vocab]
 *   outputs attention_probs.{l}  float [batch, heads, seq, seq]  (optional, one per layer)
 *
 *   x = Gather(embed_tokens, input_ids)
 *   per layer:  h = RMSNorm(x)·w  (Mul, ReduceMean over the last axis, Add eps, Sqrt, Div, Mul)
 *               q, k, v = MatMul(h, Wᵀ) → Reshape [b, s, H, hd] → Transpose [b, H, s, hd]
 *               q, k ← rotate-half RoPE with cos/sin [context, hd/2] initializers Sliced to [seq, hd/2]
 *               p = Softmax(q·kᵀ · 1/√hd + causal[seq, seq])   (additive −1e9 mask, Sliced likewise)
 *               x += MatMul(Reshape(Transpose(p·v)), W_oᵀ)
 *               h = RMSNorm(x)·w; x += MatMul(gate·Sigmoid(gate)·up, W_downᵀ)
 *   logits = MatMul(RMSNorm(x)·w, lm_headᵀ)
 * Linear weights are stored transposed ([in, out] initializers named `<hf name>_T`) so every projection is
 * one plain MatMul; the embedding, norms and RoPE tables are float initializers too.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { headDim, type ModelConfig } from '../model/config';
import { layerTensorName, parameterLayout, type TensorSlot } from '../model/layout';
import { ropeTables } from '../kernels/ropeTables';
import { canonicalModelConfig, modelConfigFromUnknown } from './modelConfigJson';

const { onnx } = onnxProto;

export const ONNX_OPSET = 17;
/** IR version 8 is the one that goes with opset 17. */
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'input_ids';
export const ONNX_LOGITS = 'logits';
export const attentionOutputName = (layer: number) => `attention_probs.${layer}`;
/** Protobuf messages cannot exceed 2 GiB. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;
const CAUSAL_MASK_VALUE = -1e9;

export interface OnnxExportOptions {
  /** Also output every layer's attention probabilities [batch, heads, seq, seq]. */
  attentionProbs?: boolean;
  /** Stored in the model's metadata_props (string values). */
  metadata?: Record<string, string>;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Attribute = number | number[] | { ints: number[] };

class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private count = 0;

  /** Adds one node with a single output named `out` (made unique) and returns that name. */
  op(opType: string, inputs: string[], out: string, attributes: Record<string, Attribute> = {}): string {
    const name = `${out}#${this.count++}`;
    this.nodes.push({
      opType, input: inputs, output: [name], name: `${opType}_${this.count}`,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return name;
  }

  /** Renames the output of the last node (for graph outputs with fixed names). */
  nameLastOutput(name: string): string {
    const node = this.nodes[this.nodes.length - 1];
    node.output = [name];
    return name;
  }

  float(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: littleEndianBytes(values) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    const bytes = new Uint8Array(data.byteLength);
    const view = new DataView(bytes.buffer);
    data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: bytes });
    return name;
  }
}

function attribute(name: string, value: Attribute): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
  }
  return { name, type: T.INTS, ints: Array.isArray(value) ? value : value.ints };
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  if (littleEndianHost) return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return bytes;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * The ONNX bytes of one run's model. `params` is that run's flat [P] block in the layout of `config`.
 * Throws RangeError for a wrong parameter count, a non-finite weight or a model over protobuf's 2 GiB.
 */
export function exportOnnx(config: ModelConfig, params: Float32Array, options: OnnxExportOptions = {}): Uint8Array {
  const c = modelConfigFromUnknown(canonicalModelConfig(config));
  const layout = parameterLayout(c);
  if (params.length !== layout.P) throw new RangeError(`exportOnnx: expected one run's ${layout.P} parameters, got ${params.length}`);
  const approxBytes = 4 * layout.P + 8 * c.context * (c.context + headDim(c));
  if (approxBytes > MAX_PROTO_BYTES - 1_000_000) {
    throw new RangeError(`exportOnnx: the model has ${(approxBytes / 2 ** 30).toFixed(2)} GiB of weights, over ONNX's 2 GiB single-file limit`);
  }
  const T = c.context, D = c.dModel, F = c.dFF, V = c.vocabSize, H = c.heads, hd = headDim(c), half = hd / 2;
  const g = new GraphBuilder();
  const slot = (name: string): TensorSlot => {
    const t = layout.byName.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    const values = params.subarray(t.offset, t.offset + t.size);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`exportOnnx: ${name} holds a non-finite value (${values[bad]}) at element ${bad}`);
    return t;
  };
  const weight = (name: string) => {
    const t = slot(name);
    return g.float(name, [...t.shape], params.slice(t.offset, t.offset + t.size));
  };
  /** W [out, in] stored as Wᵀ [in, out]. */
  const transposed = (name: string) => {
    const t = slot(name);
    const [rows, cols] = t.shape;
    const out = new Float32Array(t.size);
    for (let r = 0; r < rows; r++) for (let col = 0; col < cols; col++) out[col * rows + r] = params[t.offset + r * cols + col];
    return g.float(`${name}_T`, [cols, rows], out);
  };

  // Constants.
  const eps = g.float('rms_norm_eps', [], new Float32Array([c.normEps]));
  const scale = g.float('attention_scale', [], new Float32Array([1 / Math.sqrt(hd)]));
  const rope = ropeTables(T, hd, c.ropeBase);
  const cosTable = g.float('rope.cos', [T, half], rope.cos);
  const sinTable = g.float('rope.sin', [T, half], rope.sin);
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = CAUSAL_MASK_VALUE;
  const causalTable = g.float('causal_mask', [T, T], causal);
  const zero = g.int64('const.zero', [0]);
  const zeros2 = g.int64('const.zeros2', [0, 0]);
  const axis0 = g.int64('const.axis0', [0]);
  const axes01 = g.int64('const.axes01', [0, 1]);
  const axis3 = g.int64('const.axis3', [3]);
  const halfStart = g.int64('const.half', [half]);
  const headEnd = g.int64('const.head_dim', [hd]);
  const splitHeads = g.int64('const.split_heads', [0, 0, H, hd]);
  const mergeHeads = g.int64('const.merge_heads', [0, 0, D]);

  // Sequence-length slices of the tables.
  const seq = g.op('Shape', [ONNX_INPUT], 'seq_len', { start: 1, end: 2 });
  const cos = g.op('Slice', [cosTable, zero, seq, axis0], 'rope.cos.seq');
  const sin = g.op('Slice', [sinTable, zero, seq, axis0], 'rope.sin.seq');
  const seqSeq = g.op('Concat', [seq, seq], 'seq_seq', { axis: 0 });
  const mask = g.op('Slice', [causalTable, zeros2, seqSeq, axes01], 'causal_mask.seq');

  const rmsNorm = (x: string, weightName: string, label: string) => {
    const w = weight(weightName);
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x], `${label}.sq`)], `${label}.ms`, { axes: [-1], keepdims: 1 });
    const rms = g.op('Sqrt', [g.op('Add', [meanSquare, eps], `${label}.ms_eps`)], `${label}.rms`);
    return g.op('Mul', [g.op('Div', [x, rms], `${label}.normed`), w], label);
  };
  const heads = (x: string, label: string) =>
    g.op('Transpose', [g.op('Reshape', [x, splitHeads], `${label}.bshd`)], label, { perm: [0, 2, 1, 3] });
  const applyRope = (x: string, label: string) => {
    const x1 = g.op('Slice', [x, zero, halfStart, axis3], `${label}.x1`);
    const x2 = g.op('Slice', [x, halfStart, headEnd, axis3], `${label}.x2`);
    const mul = (a: string, b: string, l: string) => g.op('Mul', [a, b], `${label}.${l}`);
    const first = g.op('Sub', [mul(x1, cos, 'x1cos'), mul(x2, sin, 'x2sin')], `${label}.first`);
    const second = g.op('Add', [mul(x2, cos, 'x2cos'), mul(x1, sin, 'x1sin')], `${label}.second`);
    return g.op('Concat', [first, second], label, { axis: 3 });
  };

  const outputs: OnnxTypes.IValueInfoProto[] = [];
  let x = g.op('Gather', [weight('model.embed_tokens.weight'), ONNX_INPUT], 'embedded', { axis: 0 });
  for (let l = 0; l < c.layers; l++) {
    const name = (part: string) => layerTensorName(l, part);
    const p = `layers.${l}`;
    const h1 = rmsNorm(x, name('input_layernorm'), `${p}.input_norm`);
    const q = applyRope(heads(g.op('MatMul', [h1, transposed(name('self_attn.q_proj'))], `${p}.q_proj`), `${p}.q`), `${p}.q_rope`);
    const k = applyRope(heads(g.op('MatMul', [h1, transposed(name('self_attn.k_proj'))], `${p}.k_proj`), `${p}.k`), `${p}.k_rope`);
    const v = heads(g.op('MatMul', [h1, transposed(name('self_attn.v_proj'))], `${p}.v_proj`), `${p}.v`);
    const kT = g.op('Transpose', [k], `${p}.k_t`, { perm: [0, 1, 3, 2] });
    const scores = g.op('Mul', [g.op('MatMul', [q, kT], `${p}.qk`), scale], `${p}.scores`);
    const masked = g.op('Add', [scores, mask], `${p}.scores_masked`);
    let probs = g.op('Softmax', [masked], `${p}.probs`, { axis: -1 });
    if (options.attentionProbs) {
      probs = g.nameLastOutput(attentionOutputName(l));
      outputs.push(valueInfo(probs, FLOAT, ['batch', H, 'seq', 'seq']));
    }
    const context = g.op('MatMul', [probs, v], `${p}.context`);
    const merged = g.op('Reshape', [g.op('Transpose', [context], `${p}.context_bshd`, { perm: [0, 2, 1, 3] }), mergeHeads], `${p}.attention`);
    x = g.op('Add', [x, g.op('MatMul', [merged, transposed(name('self_attn.o_proj'))], `${p}.o_proj`)], `${p}.x_mid`);
    const h2 = rmsNorm(x, name('post_attention_layernorm'), `${p}.post_attention_norm`);
    const gate = g.op('MatMul', [h2, transposed(name('mlp.gate_proj'))], `${p}.gate`);
    const up = g.op('MatMul', [h2, transposed(name('mlp.up_proj'))], `${p}.up`);
    const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate], `${p}.gate_sigmoid`)], `${p}.silu`);
    const act = g.op('Mul', [silu, up], `${p}.swiglu`);
    x = g.op('Add', [x, g.op('MatMul', [act, transposed(name('mlp.down_proj'))], `${p}.down`)], `${p}.out`);
  }
  const hFinal = rmsNorm(x, 'model.norm.weight', 'final_norm');
  g.op('MatMul', [hFinal, transposed('lm_head.weight')], 'lm_head');
  g.nameLastOutput(ONNX_LOGITS);
  outputs.unshift(valueInfo(ONNX_LOGITS, FLOAT, ['batch', 'seq', V]));

  const metadata: Record<string, string> = {
    ...options.metadata,
    meap_model_config: JSON.stringify(c),
    mask_token_id: String(c.maskId),
    max_sequence_length: String(T),
  };
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'meap-playground',
    producerVersion: '1',
    docString: `LLaMA-style decoder from the MEAP playground: ${c.layers} layers, d=${D}, ${H} heads, dFF=${F}, ` +
      `vocab ${V} ([MASK] = ${c.maskId}), context ${T}. input_ids int64 [batch, seq ≤ ${T}] → logits [batch, seq, ${V}].`,
    graph: {
      name: 'meap_llama',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, INT64, ['batch', 'seq'])],
      output: outputs,
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  if (bytes.length > MAX_PROTO_BYTES) throw new RangeError('exportOnnx: the model is over ONNX\'s 2 GiB single-file limit');
  return bytes;
}

/** input_ids for onnxruntime: the first `seq` tokens of each row of `tokens` [batch, rowLength], as int64. */
export function inputIdsFrom(tokens: ArrayLike<number>, batch: number, rowLength: number, seq = rowLength): BigInt64Array {
  const ids = new BigInt64Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) ids[b * seq + t] = BigInt(tokens[b * rowLength + t]);
  return ids;
}

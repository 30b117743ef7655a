import { describe, expect, it } from 'vitest';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { preset } from '../src/config/presets';
import { checkedStudyConfig } from '../src/config/validate';
import { randomNormals } from '../src/util/random';
import {
  CheckpointError, MAX_HEADER_BYTES, METADATA_KEYS, SAFETENSORS_FORMAT_VERSION, readSafetensors, tryReadSafetensors,
  writeSafetensors,
} from '../src/export/safetensors';
import { hfConfigFor, hfConfigJson, modelConfigFromHf } from '../src/export/hfConfig';
import type { ModelConfig } from '../src/model/config';

const config: ModelConfig = {
  vocabSize: 13, maskId: 2, layers: 2, dModel: 12, heads: 2, dFF: 20, context: 7, ropeBase: 10000, normEps: 1e-5,
};
const layout = parameterLayout(config);
const V = config.vocabSize, D = config.dModel;

/** Random weights with awkward float32 values in them (−0, subnormal, extremes), padding zero. */
function weights(seed = 3): Float32Array {
  const p = new Float32Array(layout.P);
  const noise = randomNormals(seed, layout.P, 1);
  for (const t of layout.tensors) p.set(noise.subarray(t.offset, t.offset + t.size), t.offset);
  const q = layout.byName.get('model.layers.0.self_attn.q_proj.weight')!.offset;
  p[q] = -0; p[q + 1] = 1e-45; p[q + 2] = 3.4028234663852886e38; p[q + 3] = -1.1754943508222875e-38;
  return p;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

interface Parts { header: Record<string, any>; data: Uint8Array }

/** Header object and data section of a file (no validation: for building hostile variants). */
function split(bytes: Uint8Array): Parts {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.slice(8 + n) };
}

/** A file from a header object and a data section, padded like the writer. */
function join({ header, data }: Parts): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

const good = () => writeSafetensors(config, weights());
const variant = (edit: (p: Parts) => void): Uint8Array => {
  const parts = split(good());
  edit(parts);
  return join(parts);
};
const metadataWith = (key: string, value: string | undefined) => variant(({ header }) => {
  if (value === undefined) delete header.__metadata__[key];
  else header.__metadata__[key] = value;
});

/** The reader refuses `bytes` with a CheckpointError matching `message`, and leaves the bytes untouched. */
function refuses(bytes: Uint8Array, message: RegExp, options: Parameters<typeof readSafetensors>[1] = {}): string {
  const before = bytes.slice();
  const result = tryReadSafetensors(bytes, options);
  expect(result.ok).toBe(false);
  const text = result.ok ? '' : result.message;
  expect(text).toMatch(message);
  expect(() => readSafetensors(bytes, options)).toThrow(CheckpointError);
  expect(bytes).toEqual(before);
  return text;
}

describe('safetensors writer and reader', () => {
  it('round-trips one run bit-exactly, with the config (and study) in the metadata', () => {
    const params = weights();
    const bytes = writeSafetensors(config, params);
    const back = readSafetensors(bytes);
    expect(back.config).toEqual(config);
    expect(bits(back.params)).toEqual(bits(params));
    expect(back.study).toBeUndefined();
    expect(back.metadata[METADATA_KEYS.format]).toBe('pt');
    expect(back.metadata[METADATA_KEYS.formatVersion]).toBe(SAFETENSORS_FORMAT_VERSION);
    expect(JSON.parse(back.metadata[METADATA_KEYS.modelConfig])).toEqual(config);
    // Deterministic bytes.
    expect(writeSafetensors(config, Float32Array.from(params))).toEqual(bytes);

    const study = preset('tiny');
    const p2 = initParameters(study.model, parameterLayout(study.model), 1);
    const withStudy = readSafetensors(writeSafetensors(study.model, p2, { study, metadata: { note: 'run 0' } }), { checkStudy: checkedStudyConfig });
    expect(withStudy.study).toEqual(study);
    // Without a checker the study is checked as far as export/ knows (JSON object, the file's model), not returned.
    expect(readSafetensors(writeSafetensors(study.model, p2, { study })).study).toBeUndefined();
    expect(withStudy.metadata.note).toBe('run 0');
    expect(bits(withStudy.params)).toEqual(bits(p2));
  });

  it('writes the layout the format specifies: u64 LE length, space-padded JSON to 8 bytes, F32 LE tensors in layout order', () => {
    const params = weights();
    const bytes = writeSafetensors(config, params);
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{"__metadata__":')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual(layout.tensors.map((t) => t.name));
    let cursor = 0;
    for (const t of layout.tensors) {
      expect(header[t.name]).toEqual({ dtype: 'F32', shape: [...t.shape], data_offsets: [cursor, cursor + 4 * t.size] });
      // Little-endian float32 values, row-major as in the layout.
      for (const i of [0, t.size - 1]) expect(view.getFloat32(8 + n + cursor + 4 * i, true)).toBe(params[t.offset + i]);
      cursor += 4 * t.size;
    }
    expect(bytes.length).toBe(8 + n + cursor);
    for (const value of Object.values(header.__metadata__)) expect(typeof value).toBe('string');
  });

  it('reads from a view into a larger buffer at an odd offset, and from Node Buffers', () => {
    const bytes = good();
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(bits(readSafetensors(big.subarray(3)).params)).toEqual(bits(weights()));
    // A Node Buffer (readFileSync): its slice() is a view into a shared pool.
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(bytes)]).subarray(3);
    expect(bits(readSafetensors(pooled).params)).toEqual(bits(weights()));
    expect(bits(readSafetensors(Buffer.from(bytes)).params)).toEqual(bits(weights()));
  });

  it('refuses to write non-finite weights, naming the tensor and element', () => {
    const p = weights();
    p[layout.byName.get('lm_head.weight')!.offset + D + 1] = Infinity;
    expect(() => writeSafetensors(config, p)).toThrow(/lm_head\.weight holds a non-finite value \(Infinity\) at element \[1, 1\]/);
    expect(() => writeSafetensors(config, new Float32Array(5))).toThrow(/expected one run's \d+ parameters, got 5/);
    expect(() => writeSafetensors(config, weights(), { metadata: { format: 'x' } })).toThrow(/reserved/);
  });
});

describe('hostile or broken uploads are refused with a message', () => {
  it('too small, header length beyond the file or over the limit, truncated data', () => {
    refuses(new Uint8Array(0), /too small to be a safetensors model \(0 bytes/);
    refuses(new Uint8Array(7), /too small/);
    const bytes = good();
    refuses(bytes.slice(0, 100), /truncated or not safetensors: its header length field says \d+ bytes but only 92 bytes follow/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    refuses(huge, /more than the 100000000 a safetensors header may have/);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    refuses(huge, /header length field says/);
    refuses(bytes.slice(0, bytes.length - 4), /data_offsets \[\d+, \d+\] beyond the \d+ bytes of data: the file is truncated/);
  });

  it('a header that is not UTF-8, not JSON or not an object', () => {
    const withHeader = (raw: Uint8Array) => {
      const out = new Uint8Array(8 + raw.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(raw.length), true);
      out.set(raw, 8);
      return out;
    };
    refuses(withHeader(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/);
    refuses(withHeader(new TextEncoder().encode('{"a": [1, 2')), /not valid JSON/);
    refuses(withHeader(new TextEncoder().encode('[1, 2, 3]')), /does not start with "\{"/);
    refuses(withHeader(new TextEncoder().encode('{}')), /holds no tensors/);
    refuses(withHeader(new TextEncoder().encode('PK\u0003\u0004 a zip file')), /does not start with "\{"/);
  });

  it('metadata that is not an object of strings', () => {
    refuses(variant(({ header }) => { header.__metadata__ = [1]; }), /"__metadata__" must be an object of strings/);
    refuses(variant(({ header }) => { header.__metadata__.x = 5; }), /Metadata entry "x" must be a string, got number/);
  });

  it('a missing or an unknown tensor, named', () => {
    // Removing a tensor and its bytes: the rest still tiles the data section.
    const missing = variant((parts) => {
      const entry = parts.header['model.norm.weight'];
      const [begin, end] = entry.data_offsets;
      delete parts.header['model.norm.weight'];
      for (const [name, e] of Object.entries(parts.header)) {
        if (name !== '__metadata__' && e.data_offsets[0] >= end) e.data_offsets = e.data_offsets.map((o: number) => o - (end - begin));
      }
      parts.data = new Uint8Array([...parts.data.subarray(0, begin), ...parts.data.subarray(end)]);
    });
    refuses(missing, /lacks the tensor model\.norm\.weight\./);
    const extra = variant((parts) => {
      parts.header['model.layers.0.self_attn.rotary_emb.inv_freq'] = { dtype: 'F32', shape: [2], data_offsets: [parts.data.length, parts.data.length + 8] };
      parts.data = new Uint8Array([...parts.data, ...new Uint8Array(8)]);
    });
    refuses(extra, /holds a tensor this model does not have: model\.layers\.0\.self_attn\.rotary_emb\.inv_freq/);
  });

  it('a dtype other than F32', () => {
    refuses(variant(({ header }) => { header['model.norm.weight'].dtype = 'F16'; }), /model\.norm\.weight has dtype F16; only F32/);
    refuses(variant(({ header }) => { delete header['lm_head.weight'].dtype; }), /lm_head\.weight has no dtype/);
  });

  it('a shape that does not match the config, or not its bytes, or is malformed or giant', () => {
    // Same element count, transposed: passes the byte check, fails the config check.
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [D, V]; }),
      /lm_head\.weight has shape \[12, 13\] but the config needs \[13, 12\]/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [V, D + 1]; }),
      /lm_head\.weight has shape \[13, 13\], which does not match its 624 bytes of data/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [2 ** 40, 2 ** 40, 2 ** 40]; }), /does not match its 624 bytes/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [1e300, 1]; }), /malformed shape/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [-13, -12]; }), /malformed shape/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = [6.5, 24]; }), /malformed shape/);
    refuses(variant(({ header }) => { header['lm_head.weight'].shape = 'big'; }), /malformed shape/);
  });

  it('offsets out of range, reversed, overlapping, leaving gaps or trailing bytes', () => {
    refuses(variant(({ header }) => { header['lm_head.weight'].data_offsets = [0, 2 ** 52]; }), /does not match its \d+ bytes|beyond/);
    refuses(variant(({ header, data }) => {
      const [, end] = header['lm_head.weight'].data_offsets;
      header['lm_head.weight'].data_offsets = [data.length, data.length + (end - header['lm_head.weight'].data_offsets[0])];
    }), /lm_head\.weight has data_offsets \[\d+, \d+\] beyond the \d+ bytes of data/);
    refuses(variant(({ header }) => { header['lm_head.weight'].data_offsets = [10, 5]; }), /end before they begin/);
    refuses(variant(({ header }) => { header['lm_head.weight'].data_offsets = [0, 1, 2]; }), /malformed data_offsets/);
    refuses(variant(({ header }) => { header['lm_head.weight'].data_offsets = [-4, 620]; }), /malformed data_offsets/);
    // lm_head pointing at the embedding's bytes (same size): overlap, and its own bytes are then unused.
    refuses(variant(({ header }) => { header['lm_head.weight'].data_offsets = header['model.embed_tokens.weight'].data_offsets; }),
      /Tensors (model\.embed_tokens\.weight and lm_head\.weight|lm_head\.weight and model\.embed_tokens\.weight) overlap in the data section \(bytes 0–624\)/);
    refuses(variant((parts) => {
      const e = parts.header['lm_head.weight'];
      e.data_offsets = e.data_offsets.map((o: number) => o + 4);
      parts.data = new Uint8Array([...parts.data, 0, 0, 0, 0]);
    }), /Bytes \d+–\d+ of the data section belong to no tensor/);
    refuses(variant((parts) => { parts.data = new Uint8Array([...parts.data, 1, 2, 3, 4]); }), /4 bytes after the last tensor/);
    // A duplicated name (JSON keeps the last entry): the first entry's bytes are left to no tensor.
    const { header, data } = split(good());
    const text = JSON.stringify(header);
    const norm = JSON.stringify(header['model.norm.weight']);
    const dup = text.replace('"lm_head.weight":', `"model.norm.weight":${norm},"lm_head.weight":`)
      .replace(`"model.norm.weight":${norm},"lm_head.weight"`, `"model.norm.weight":${JSON.stringify(header['lm_head.weight'])},"lm_head.weight"`);
    expect(dup).not.toBe(text);
    const raw = new TextEncoder().encode(dup);
    const file = new Uint8Array(8 + raw.length + data.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(raw.length), true);
    file.set(raw, 8);
    file.set(data, 8 + raw.length);
    refuses(file, /overlap|belong to no tensor/);
  });

  it('non-finite values, naming the tensor and element', () => {
    const p = weights();
    const file = writeSafetensors(config, p);
    const { header } = split(file);
    const n = file.length - split(file).data.length;
    const poke = (name: string, index: number, value: number) => {
      const bytes = file.slice();
      new DataView(bytes.buffer).setFloat32(n + header[name].data_offsets[0] + 4 * index, value, true);
      return bytes;
    };
    refuses(poke('model.layers.1.mlp.down_proj.weight', 21, NaN),
      /model\.layers\.1\.mlp\.down_proj\.weight holds a non-finite value \(NaN\) at element \[1, 1\]/);
    refuses(poke('model.norm.weight', 11, -Infinity), /model\.norm\.weight holds a non-finite value \(-Infinity\) at element \[11\]/);
  });

  it('a missing, malformed or invalid model config, and configs that disagree', () => {
    refuses(metadataWith(METADATA_KEYS.modelConfig, undefined), /carries no model config .* and no config\.json was given/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, '{"vocabSize": 13,'), /model config in the metadata .* is not valid JSON/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, heads: 5 })),
      /model config in the metadata is invalid: model\.heads \(5\) must divide dModel \(12\)/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, normEps: 'tiny' })), /model\.normEps must be a finite number/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, extra: 1 })), /unknown field "extra"/);
    const { layers: _drop, ...noLayers } = config;
    void _drop;
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify(noLayers)), /lacks the field "layers"/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, layers: 3 })), /lacks 9 tensors: model\.layers\.2\./);
    // Giant configs: refused without building a billion-layer layout or allocating anything.
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, layers: 1e9 })),
      /describes 1000000000 layers .* but the file holds only 21 tensors/);
    refuses(metadataWith(METADATA_KEYS.modelConfig, JSON.stringify({ ...config, vocabSize: 1e12 })),
      /model\.embed_tokens\.weight has shape \[13, 12\] but the config needs \[1000000000000, 12\]/);
    refuses(metadataWith(METADATA_KEYS.formatVersion, '2'), /format version 2; this playground reads version 1/);
    refuses(metadataWith(METADATA_KEYS.formatName, 'something-else'), /format is "something-else"/);
    // A config from config.json: used when the file has none, must agree when it has one.
    const noConfig = metadataWith(METADATA_KEYS.modelConfig, undefined);
    expect(readSafetensors(noConfig, { config }).config).toEqual(config);
    refuses(good(), /model config in the file and config\.json disagree \(dFF: 20 in the file, 24 in config\.json\)/, { config: { ...config, dFF: 24 } });
  });

  it('an invalid study config in the metadata', () => {
    const study = preset('tiny');
    const p = initParameters(study.model, parameterLayout(study.model), 1);
    const withStudy = (s: unknown) => {
      const parts = split(writeSafetensors(study.model, p));
      parts.header.__metadata__[METADATA_KEYS.studyConfig] = typeof s === 'string' ? s : JSON.stringify(s);
      return join(parts);
    };
    refuses(withStudy('{'), /study config in the metadata .* is not valid JSON/);
    refuses(withStudy({ ...study, model: { ...study.model, dFF: 32 } }), /study config's model differs from the file's model config \(dFF: 32 in the study, 64 in the file\)/);
    refuses(withStudy({ ...study, batch: 0 }), /study config in the metadata is invalid: batch must be a positive integer/, { checkStudy: checkedStudyConfig });
  });
});

describe('Hugging Face config.json', () => {
  it('has the LlamaConfig fields of the model and maps back', () => {
    const c = preset('tiny').model;
    const hf = hfConfigFor(c);
    expect(hf).toMatchObject({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: c.dModel, intermediate_size: c.dFF,
      num_attention_heads: c.heads, num_key_value_heads: c.heads, num_hidden_layers: c.layers, vocab_size: c.vocabSize,
      max_position_embeddings: c.context, rms_norm_eps: c.normEps, rope_theta: c.ropeBase, tie_word_embeddings: false,
      hidden_act: 'silu', attention_bias: false, mlp_bias: false, torch_dtype: 'float32', mask_token_id: c.maskId,
      head_dim: c.dModel / c.heads, rope_scaling: null,
    });
    const text = hfConfigJson(c);
    expect(text.endsWith('\n')).toBe(true);
    expect(modelConfigFromHf(JSON.parse(text))).toEqual(c);
  });

  it('refuses what the playground model cannot represent', () => {
    const hf = { ...hfConfigFor(config) } as Record<string, unknown>;
    expect(() => modelConfigFromHf({ ...hf, num_key_value_heads: 1 })).toThrow(/grouped-query attention is not supported/);
    expect(() => modelConfigFromHf({ ...hf, tie_word_embeddings: true })).toThrow(/tie_word_embeddings must be false/);
    expect(() => modelConfigFromHf({ ...hf, hidden_act: 'gelu' })).toThrow(/hidden_act must be "silu"/);
    expect(() => modelConfigFromHf({ ...hf, rope_scaling: { type: 'linear', factor: 2 } })).toThrow(/rope_scaling must be null/);
    expect(() => modelConfigFromHf({ ...hf, model_type: 'gpt2' })).toThrow(/model_type must be "llama"/);
    expect(() => modelConfigFromHf({ ...hf, mask_token_id: undefined })).toThrow(/mask_token_id is missing/);
    expect(() => modelConfigFromHf({ ...hf, mask_token_id: 99 })).toThrow(/maskId must be an id below vocabSize 13/);
    expect(() => modelConfigFromHf({ ...hf, hidden_size: '12' })).toThrow(/hidden_size must be a number/);
  });
});

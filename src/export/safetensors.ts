/**
 * One model of the playground as a safetensors file (https://huggingface.co/docs/safetensors), with the
 * Hugging Face LLaMA tensor names of src/model/layout.ts, so `LlamaForCausalLM.from_pretrained` reads it
 * (with the config.json of hfConfig.ts; see docs/hf-mapping.md).
 *
 * Layout of the bytes:
 *   [0, 8)        header length n, unsigned 64-bit little-endian
 *   [8, 8 + n)    UTF-8 JSON header, padded with spaces so that 8 + n is a multiple of 8:
 *                 { "__metadata__": { string: string },
 *                   "<tensor name>": { "dtype": "F32", "shape": [out, in], "data_offsets": [begin, end] }, … }
 *   [8 + n, end)  the data section: every tensor's float32 values, little-endian, row-major, in layout
 *                 order, back to back; data_offsets are byte offsets into this section.
 * The metadata carries the playground's ModelConfig (`meap_model_config`, JSON), the format name and
 * version, `format: "pt"` (which transformers requires) and optionally the StudyConfig. What a study config
 * must hold is config/'s business (export/ is a leaf beside model/): the reader checks that the metadata's
 * study is a JSON object with the file's model, and a caller that wants it passes `checkStudy`
 * (config/validate.ts's `checkedStudyConfig`).
 *
 * The reader is for untrusted uploads: it never allocates more than the file's size, checks everything
 * before it returns, changes no state, and throws a CheckpointError whose message a user can act on.
 */
import { parameterLayout, type ParameterLayout } from '../model/layout';
import { canonicalModelConfig, describeConfigDifference, modelConfigFromUnknown, sameModelConfig } from './modelConfigJson';
import type { ModelConfig } from '../model/config';
import { CheckpointError, checkCoverage, listNames, parseHeader, printable } from './safetensorsHeader';

export { CheckpointError, MAX_HEADER_BYTES } from './safetensorsHeader';

export const SAFETENSORS_FORMAT_NAME = 'meap-playground-llama';
export const SAFETENSORS_FORMAT_VERSION = '1';
/** Metadata keys the writer owns. */
export const METADATA_KEYS = {
  format: 'format',
  formatName: 'meap_format',
  formatVersion: 'meap_format_version',
  modelConfig: 'meap_model_config',
  studyConfig: 'meap_study_config',
} as const;

export interface WriteOptions {
  /** The study the model was trained in (a StudyConfig, stored as JSON in the metadata). */
  study?: { model: ModelConfig };
  /** Extra metadata (string values; the writer's own keys are reserved). */
  metadata?: Record<string, string>;
}

const utf8 = new TextEncoder();
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The safetensors bytes of one run: `params` is that run's flat [P] block in the layout of `config`
 * (e.g. `gpuModel.readParams()` sliced to [r·P, (r+1)·P)). Throws on a non-finite value, naming the tensor.
 */
export function writeSafetensors(config: ModelConfig, params: Float32Array, options: WriteOptions = {}): Uint8Array {
  const canonical = modelConfigFromUnknown(canonicalModelConfig(config));
  const layout = parameterLayout(canonical);
  if (params.length !== layout.P) {
    throw new RangeError(`writeSafetensors: expected one run's ${layout.P} parameters, got ${params.length}`);
  }
  for (const t of layout.tensors) {
    const bad = firstNonFinite(params.subarray(t.offset, t.offset + t.size));
    if (bad >= 0) {
      throw new RangeError(`cannot save: ${t.name} holds a non-finite value (${params[t.offset + bad]}) at ${elementName(t.shape, bad)}`);
    }
  }
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if ((Object.values(METADATA_KEYS) as string[]).includes(key)) throw new RangeError(`writeSafetensors: metadata key "${key}" is reserved`);
    if (typeof value !== 'string') throw new RangeError(`writeSafetensors: metadata "${key}" must be a string`);
    metadata[key] = value;
  }
  metadata[METADATA_KEYS.format] = 'pt';
  metadata[METADATA_KEYS.formatName] = SAFETENSORS_FORMAT_NAME;
  metadata[METADATA_KEYS.formatVersion] = SAFETENSORS_FORMAT_VERSION;
  metadata[METADATA_KEYS.modelConfig] = JSON.stringify(canonical);
  if (options.study) metadata[METADATA_KEYS.studyConfig] = JSON.stringify(options.study);

  const header: Record<string, unknown> = { __metadata__: metadata };
  let cursor = 0;
  for (const t of layout.tensors) {
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [cursor, cursor + 4 * t.size] };
    cursor += 4 * t.size;
  }
  const json = utf8.encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + cursor);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of layout.tensors) {
    const values = params.subarray(t.offset, t.offset + t.size);
    if (littleEndianHost) {
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    } else {
      for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i], true);
    }
    at += 4 * t.size;
  }
  return out;
}

export interface ReadOptions<Study = never> {
  /**
   * A config from elsewhere (a config.json next to the file). Used when the file carries none (e.g. saved
   * by transformers); when both exist they must agree.
   */
  config?: ModelConfig;
  /**
   * Checks the metadata's study config (a JSON object whose model equals the file's) and returns it typed,
   * throwing with the reason when it is invalid (config/validate.ts's `checkedStudyConfig`). Without it
   * the study is still checked that far, but not returned.
   */
  checkStudy?: (study: object) => Study;
}

export interface ParsedCheckpoint<Study = never> {
  config: ModelConfig;
  layout: ParameterLayout;
  /** One run's flat [P] block in the layout of `config` (padding zero). */
  params: Float32Array;
  /** Every metadata entry of the file. */
  metadata: Record<string, string>;
  /** The study config in the metadata, when there is one and `checkStudy` was given. */
  study?: Study;
}

/**
 * Parses and validates a safetensors model file (see the module comment for what is checked).
 * Throws CheckpointError with a user-readable message; returns only a fully checked model.
 */
export function readSafetensors<Study = never>(bytes: Uint8Array, options: ReadOptions<Study> = {}): ParsedCheckpoint<Study> {
  const { metadata, entries, dataStart } = parseHeader(bytes);
  const dataLength = bytes.length - dataStart;
  checkCoverage(entries, dataLength);

  const config = configOf(metadata, options.config);
  const expectedCount = 9 * config.layers + 3;
  if (expectedCount > 2 * entries.length + 64) {
    throw new CheckpointError(`The config describes ${config.layers} layers (${expectedCount} tensors) but the file holds only ${entries.length} tensors.`);
  }
  const layout = parameterLayout(config);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const missing = layout.tensors.filter((t) => !byName.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    throw new CheckpointError(`The file lacks ${missing.length === 1 ? 'the tensor' : `${missing.length} tensors:`} ${listNames(missing)}.`);
  }
  const unknown = entries.filter((e) => !layout.byName.has(e.name)).map((e) => e.name);
  if (unknown.length > 0) {
    throw new CheckpointError(`The file holds ${unknown.length === 1 ? 'a tensor' : `${unknown.length} tensors`} this model does not have: ${listNames(unknown)}.`);
  }
  for (const t of layout.tensors) {
    const e = byName.get(t.name)!;
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new CheckpointError(`Tensor ${t.name} has shape [${e.shape.join(', ')}] but the config needs [${t.shape.join(', ')}].`);
    }
  }
  // Every shape matches the config and the tensors tile the data section, so P ≈ the file's size / 4.
  const params = new Float32Array(layout.P);
  for (const t of layout.tensors) {
    const e = byName.get(t.name)!;
    const values = readFloat32(bytes, dataStart + e.begin, t.size);
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      throw new CheckpointError(`Tensor ${t.name} holds a non-finite value (${values[bad]}) at ${elementName(t.shape, bad)}; the model cannot be loaded.`);
    }
    params.set(values, t.offset);
  }
  const result: ParsedCheckpoint<Study> = { config, layout, params, metadata };
  const studyText = metadata[METADATA_KEYS.studyConfig];
  if (studyText !== undefined) {
    const study = studyOf(studyText, config, options.checkStudy);
    if (study !== undefined) result.study = study;
  }
  return result;
}

/** readSafetensors without exceptions, for an upload form. */
export function tryReadSafetensors<Study = never>(bytes: Uint8Array, options: ReadOptions<Study> = {}):
  { ok: true; checkpoint: ParsedCheckpoint<Study> } | { ok: false; message: string } {
  try {
    return { ok: true, checkpoint: readSafetensors(bytes, options) };
  } catch (error) {
    if (error instanceof CheckpointError) return { ok: false, message: error.message };
    throw error;
  }
}

function configOf(metadata: Record<string, string>, external: ModelConfig | undefined): ModelConfig {
  const text = metadata[METADATA_KEYS.modelConfig];
  const name = metadata[METADATA_KEYS.formatName];
  if (name !== undefined && name !== SAFETENSORS_FORMAT_NAME) {
    throw new CheckpointError(`The file's format is "${printable(name)}", not "${SAFETENSORS_FORMAT_NAME}".`);
  }
  const version = metadata[METADATA_KEYS.formatVersion];
  if (version !== undefined && version !== SAFETENSORS_FORMAT_VERSION) {
    throw new CheckpointError(`The file has format version ${printable(version)}; this playground reads version ${SAFETENSORS_FORMAT_VERSION}.`);
  }
  let checkedExternal: ModelConfig | undefined;
  if (external) {
    try {
      checkedExternal = modelConfigFromUnknown(external);
    } catch (error) {
      throw new CheckpointError(`The given config is invalid: ${(error as Error).message}.`);
    }
  }
  if (text === undefined) {
    if (checkedExternal) return checkedExternal;
    throw new CheckpointError(`The file carries no model config (metadata "${METADATA_KEYS.modelConfig}") and no config.json was given: it was not saved by this playground.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CheckpointError(`The model config in the metadata ("${METADATA_KEYS.modelConfig}") is not valid JSON.`);
  }
  let config: ModelConfig;
  try {
    config = modelConfigFromUnknown(parsed);
  } catch (error) {
    throw new CheckpointError(`The model config in the metadata is invalid: ${(error as Error).message}.`);
  }
  if (checkedExternal && !sameModelConfig(config, checkedExternal)) {
    throw new CheckpointError(`The model config in the file and config.json disagree (${describeConfigDifference(config, checkedExternal, 'the file', 'config.json')}).`);
  }
  return config;
}

/** The metadata's study config: valid JSON, an object, the file's model; then `checkStudy`'s verdict, if given. */
function studyOf<Study>(text: string, config: ModelConfig, checkStudy: ((study: object) => Study) | undefined): Study | undefined {
  let study: unknown;
  try {
    study = JSON.parse(text);
  } catch {
    throw new CheckpointError(`The study config in the metadata ("${METADATA_KEYS.studyConfig}") is not valid JSON.`);
  }
  if (typeof study !== 'object' || study === null || Array.isArray(study)) {
    throw new CheckpointError('The study config in the metadata must be a JSON object.');
  }
  let model: ModelConfig;
  try {
    model = modelConfigFromUnknown((study as { model?: unknown }).model);
  } catch (error) {
    throw new CheckpointError(`The study config in the metadata is invalid: ${(error as Error).message}.`);
  }
  if (!sameModelConfig(model, config)) {
    throw new CheckpointError(`The study config's model differs from the file's model config (${describeConfigDifference(model, config, 'the study', 'the file')}).`);
  }
  if (!checkStudy) return undefined;
  try {
    return checkStudy(study);
  } catch (error) {
    throw new CheckpointError(`The study config in the metadata is invalid: ${(error as Error).message}.`);
  }
}

function readFloat32(bytes: Uint8Array, start: number, count: number): Float32Array {
  if (littleEndianHost) {
    // A copy (fresh buffer: aligned whatever the header length, independent of the caller's bytes; note that
    // a Node Buffer's slice() is a view, hence the constructor).
    return new Float32Array(new Uint8Array(bytes.subarray(start, start + 4 * count)).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, 4 * count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** "element [3, 17]" of a row-major tensor. */
function elementName(shape: readonly number[], flat: number): string {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `element [${index.join(', ')}]`;
}

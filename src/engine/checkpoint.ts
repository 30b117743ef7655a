/**
 * The full training state of a study — what a resumed run needs to continue bit-identically to one that
 * was never interrupted: weights, AdamW moments, step, every generator's state, frozen runs — plus the
 * metric history the page shows. Encoded as one self-describing binary file (safetensors-style: 8-byte
 * little-endian header length, JSON header, raw little-endian arrays) and validated on the way in.
 */
import type { StudyConfig } from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { parameterLayout } from '../model/layout';
import { runCount } from '../config/finetuneStage';

export const STUDY_CHECKPOINT_FORMAT = 'meap-playground-study';
export const STUDY_CHECKPOINT_VERSION = 1;

export interface StudyState {
  config: StudyConfig;
  step: number;
  /** One generator per seed (batches) and per run (masks): their internal states. */
  dataRngStates: number[];
  maskRngStates: number[];
  frozen: boolean[];
  /** [R, P] in the engine's precision: float32 for the GPU, float64 for the CPU fallback. */
  params: Float32Array | Float64Array;
  m: Float32Array | Float64Array;
  v: Float32Array | Float64Array;
}

/** What the page adds: anything JSON (the metric history) travels in the header untouched. */
export interface StudyCheckpoint {
  state: StudyState;
  extra: unknown;
}

export class StudyCheckpointError extends Error {
  override name = 'StudyCheckpointError';
}

const ARRAYS = ['params', 'm', 'v'] as const;

export function encodeStudyCheckpoint(checkpoint: StudyCheckpoint): Uint8Array {
  const { state } = checkpoint;
  const dtype = state.params instanceof Float64Array ? 'F64' : 'F32';
  const width = dtype === 'F64' ? 8 : 4;
  let offset = 0;
  const arrays: Record<string, { dtype: string; length: number; offset: number }> = {};
  for (const name of ARRAYS) {
    const array = state[name];
    if ((array instanceof Float64Array ? 'F64' : 'F32') !== dtype) throw new StudyCheckpointError('params, m and v must share one precision');
    arrays[name] = { dtype, length: array.length, offset };
    offset += array.length * width;
  }
  const header = {
    format: STUDY_CHECKPOINT_FORMAT, version: STUDY_CHECKPOINT_VERSION, config: state.config, step: state.step,
    dataRngStates: state.dataRngStates, maskRngStates: state.maskRngStates, frozen: state.frozen, arrays, extra: checkpoint.extra,
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  for (const name of ARRAYS) {
    const array = state[name];
    const at = dataStart + arrays[name].offset;
    for (let i = 0; i < array.length; i++) {
      if (width === 8) view.setFloat64(at + 8 * i, array[i], true);
      else view.setFloat32(at + 4 * i, array[i], true);
    }
  }
  return out;
}

function fail(message: string): never {
  throw new StudyCheckpointError(`This study checkpoint cannot be used: ${message}.`);
}

function isUint32List(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
}

/** Reads and fully validates a checkpoint; throws StudyCheckpointError with a user-readable reason. */
export function decodeStudyCheckpoint(bytes: Uint8Array): StudyCheckpoint {
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes, too small to be a checkpoint`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail(`its header claims ${headerLength} bytes but the file has only ${bytes.length - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    fail('its header is not valid JSON');
  }
  if (header === null || typeof header !== 'object') fail('its header is not an object');
  if (header.format !== STUDY_CHECKPOINT_FORMAT) fail(`it is not a MEAP playground study checkpoint (format ${JSON.stringify(header.format)})`);
  if (header.version !== STUDY_CHECKPOINT_VERSION) fail(`it has version ${JSON.stringify(header.version)}, this playground reads version ${STUDY_CHECKPOINT_VERSION}`);
  const config = header.config as StudyConfig;
  try {
    validateStudyConfig(config);
  } catch (error) {
    fail(`its config is invalid (${(error as Error).message})`);
  }
  const R = runCount(config);
  const { P } = parameterLayout(config.model);
  const step = header.step;
  if (!Number.isInteger(step) || (step as number) < 0 || (step as number) > config.steps) fail(`its step ${JSON.stringify(step)} is outside 0..${config.steps}`);
  if (!isUint32List(header.dataRngStates, config.seedsPerArm)) fail('its data generator states are malformed');
  if (!isUint32List(header.maskRngStates, R)) fail('its mask generator states are malformed');
  const frozen = header.frozen;
  if (!Array.isArray(frozen) || frozen.length !== R || !frozen.every((f) => typeof f === 'boolean')) fail('its frozen-run flags are malformed');
  const arrays = header.arrays as Record<string, { dtype: unknown; length: unknown; offset: unknown }> | undefined;
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const out: Partial<Record<(typeof ARRAYS)[number], Float32Array | Float64Array>> = {};
  let expectedOffset = 0;
  for (const name of ARRAYS) {
    const entry = arrays?.[name];
    if (!entry) fail(`it has no ${name} array`);
    if (entry.dtype !== 'F32' && entry.dtype !== 'F64') fail(`its ${name} array has dtype ${JSON.stringify(entry.dtype)}`);
    if (entry.length !== R * P) fail(`its ${name} array holds ${JSON.stringify(entry.length)} values, the config needs ${R * P}`);
    if (entry.offset !== expectedOffset) fail(`its ${name} array is not where the header says`);
    const width = entry.dtype === 'F64' ? 8 : 4;
    if (expectedOffset + R * P * width > dataLength) fail(`the file is truncated (${name} runs past the end)`);
    const array = entry.dtype === 'F64' ? new Float64Array(R * P) : new Float32Array(R * P);
    const at = dataStart + expectedOffset;
    for (let i = 0; i < array.length; i++) {
      array[i] = width === 8 ? view.getFloat64(at + 8 * i, true) : view.getFloat32(at + 4 * i, true);
      if (!Number.isFinite(array[i])) fail(`its ${name} array holds a non-finite value at index ${i}`);
    }
    out[name] = array;
    expectedOffset += R * P * width;
  }
  if (expectedOffset !== dataLength) fail(`it has ${dataLength - expectedOffset} unexpected trailing bytes`);
  if ((out.params instanceof Float64Array) !== (out.m instanceof Float64Array) || (out.m instanceof Float64Array) !== (out.v instanceof Float64Array)) {
    fail('its arrays mix precisions');
  }
  return {
    state: {
      config, step: step as number, dataRngStates: header.dataRngStates as number[], maskRngStates: header.maskRngStates as number[],
      frozen: frozen as boolean[], params: out.params!, m: out.m!, v: out.v!,
    },
    extra: header.extra,
  };
}

/** Refuses a state from another study (config, run count) or of the other engine's precision. */
export function assertSameStudy(config: StudyConfig, state: StudyState, precision: 'float32' | 'float64', values: number): void {
  if (JSON.stringify(state.config) !== JSON.stringify(config)) {
    throw new StudyCheckpointError('This checkpoint belongs to a different study configuration; load its config first.');
  }
  const wanted = precision === 'float64' ? Float64Array : Float32Array;
  for (const name of ARRAYS) {
    if (!(state[name] instanceof wanted)) {
      throw new StudyCheckpointError(`This checkpoint was saved by the ${precision === 'float64' ? 'GPU' : 'CPU'} engine; it resumes only there.`);
    }
    if (state[name].length !== values) throw new StudyCheckpointError(`This checkpoint's ${name} holds ${state[name].length} values, expected ${values}.`);
  }
}

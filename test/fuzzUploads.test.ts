/**
 * Property tests (fast-check, fixed seeds, bounded runs) of every reader of an uploaded file:
 *   - a user text (strings and bytes: binary, huge, empty, invalid UTF-8) → userTextFromBytes / prepareUserText;
 *   - a safetensors model (truncated, wrong header length, lying offsets, giant shapes, NaN weights, random
 *     bytes, mutated valid files) → readSafetensors / tryReadSafetensors;
 *   - a study checkpoint (the same, plus lying sizes and configs in its header) → decodeStudyCheckpoint.
 * Each reader either accepts — and then what it returns is checked to be really valid — or refuses with its
 * own error class and a one-line message; it never throws anything else, never takes long, and never asks for
 * more memory than the file's size allows (every typed array and ArrayBuffer constructed during the call is
 * counted; an allocation over 64 MiB is stopped before it happens and fails the property).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_TEXT_BYTES, MAX_TEXT_CHARACTERS, MAX_CONTROL_SHARE, MAX_UNKNOWN_SHARE, prepareUserText, userTextFromBytes,
} from '../src/data/textTask';
import { DEFAULT_ALPHABET, charTokenizer, normalizeText } from '../src/data/charTokenizer';
import {
  CheckpointError, METADATA_KEYS, readSafetensors, tryReadSafetensors, writeSafetensors, type ParsedCheckpoint,
} from '../src/export/safetensors';
import { modelConfigFromUnknown } from '../src/export/modelConfigJson';
import { StudyCheckpointError, decodeStudyCheckpoint, encodeStudyCheckpoint, type StudyCheckpoint } from '../src/engine/checkpoint';
import { checkedStudyConfig, validateStudyConfig } from '../src/config/validate';
import { preset, type StudyConfig } from '../src/config/presets';
import { needleVocab } from '../src/data/needleVocab';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { randomFloats } from '../src/util/random';

const RUNS = 300;

// ---------------------------------------------------------------------------------------------------------
// Counting allocations

const TRACKED = ['ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;
const STOP_BYTES = 64 * 2 ** 20;

class AllocationTooLarge extends Error {}

interface Tracked<T> { value?: T; error?: unknown; totalBytes: number; largestBytes: number }

/** Runs `fn` with every typed-array / ArrayBuffer constructor counting the bytes it is asked for. */
function tracked<T>(fn: () => T): Tracked<T> {
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = TRACKED.map((name) => g[name]);
  const result: Tracked<T> = { totalBytes: 0, largestBytes: 0 };
  TRACKED.forEach((name, i) => {
    const Target = originals[i] as { BYTES_PER_ELEMENT?: number } & (new (...args: unknown[]) => unknown);
    const width = Target.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(Target, {
      construct(target, args, newTarget) {
        const first = args[0];
        let bytes = 0;
        if (typeof first === 'number') bytes = first * width;
        else if (first instanceof (originals[0] as typeof ArrayBuffer) || (typeof SharedArrayBuffer !== 'undefined' && first instanceof SharedArrayBuffer)) bytes = 0;
        else if (first !== null && typeof first === 'object' && 'length' in first) bytes = Number((first as ArrayLike<unknown>).length) * width;
        if (!(bytes <= STOP_BYTES)) throw new AllocationTooLarge(`new ${name}(${String(first)}): ${bytes} bytes asked for`);
        result.totalBytes += bytes;
        result.largestBytes = Math.max(result.largestBytes, bytes);
        return Reflect.construct(target, args, newTarget);
      },
    });
  });
  try {
    result.value = fn();
  } catch (error) {
    result.error = error;
  } finally {
    TRACKED.forEach((name, i) => { g[name] = originals[i]; });
  }
  return result;
}

function expectOneLine(message: unknown, max = 1000): void {
  expect(typeof message).toBe('string');
  expect((message as string).length).toBeGreaterThan(10);
  expect((message as string).length).toBeLessThan(max);
  expect(message).not.toMatch(/[\n\r]/);
}

// ---------------------------------------------------------------------------------------------------------
// User text

const tokenizer = charTokenizer(DEFAULT_ALPHABET);

/** prepareUserText accepts a text the rules allow (checked independently) and refuses the rest with a clear line. */
function checkText(text: string): 'accepted' | 'refused' {
  const started = performance.now();
  let streams: ReturnType<typeof prepareUserText> | undefined;
  try {
    streams = prepareUserText(text, tokenizer);
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    const message = (error as Error).message;
    expectOneLine(message, 400);
    expect(message).toMatch(/^taskOptions\.source\.text[ :]/);
    if (text.length > MAX_TEXT_CHARACTERS) expect(message).toContain(`has ${text.length} characters; at most ${MAX_TEXT_CHARACTERS}`);
    if (text.includes('\0') && text.length <= MAX_TEXT_CHARACTERS) expect(message).toMatch(/NUL character \(at offset \d+\)/);
    return 'refused';
  } finally {
    expect(performance.now() - started).toBeLessThan(5000);
  }
  // Accepted: within the limits, no NUL, mostly text, not empty; the streams are the normalised text's ids.
  expect(text.length).toBeLessThanOrEqual(MAX_TEXT_CHARACTERS);
  expect(text).not.toContain('\0');
  const controls = Array.from(text).filter((c) => /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd]/.test(c)).length;
  expect(controls).toBeLessThanOrEqual(MAX_CONTROL_SHARE * text.length + 2 * MAX_CONTROL_SHARE * controls);
  const normal = normalizeText(text);
  expect(normal.trim()).not.toBe('');
  const ids = [...streams!.train, ...streams!.heldOut];
  expect(ids.length).toBe(Array.from(normal).length);
  expect(streams!.heldOut.length).toBe(Math.floor(ids.length / 10));
  expect(ids.every((id) => id === tokenizer.unkId || (id >= 4 && id < tokenizer.size))).toBe(true);
  expect(ids.filter((id) => id === tokenizer.unkId).length).toBeLessThanOrEqual(MAX_UNKNOWN_SHARE * ids.length);
  return 'accepted';
}

const textArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 3000 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 3000, size: 'max' }),
  fc.string({ unit: 'grapheme', maxLength: 1000, size: 'large' }),
  fc.string({ unit: 'binary', maxLength: 1000, size: 'large' }),
  fc.string({ unit: 'binary-ascii', maxLength: 1000, size: 'large' }),
  // Mostly prose with a sprinkling of trouble.
  fc.tuple(fc.constantFrom('The quick brown fox jumps over the lazy dog. ', 'Ünïcödé ñ text, ok. ', '\r\n\t  \r\n'),
    fc.integer({ min: 0, max: 80 }), fc.constantFrom('', '\u0000', '\u0001', '\ufffd', '\ud800', '\ufeff', '<script>', '\u007f'.repeat(3)),
    fc.nat(3000))
    .map(([unit, n, odd, at]) => { const t = unit.repeat(n); const i = at % (t.length + 1); return t.slice(0, i) + odd + t.slice(i); }),
  fc.constantFrom('', ' ', '\n\n\n', '\ufeff', '\u0000', '\ufffd'.repeat(10)),
);

/** UTF-8 bytes of a text, then damaged: cut mid-character, stray continuation bytes, overlongs, random bytes. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 4000, size: 'large' }),
  fc.tuple(textArb, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xe0, 0xf5, 0xff, 0xfe, 0x00)), { maxLength: 5 }), fc.nat())
    .map(([text, damage, cut]) => {
      const bytes = new TextEncoder().encode(text);
      for (const [at, value] of damage) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return cut % 3 === 0 ? bytes.subarray(0, Math.max(0, bytes.length - 1)) : bytes;
    }),
  textArb.map((t) => new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(t)])),
);

describe('uploaded text', () => {
  it(`arbitrary strings: accepted only when really usable, else refused with one line (${RUNS} cases)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(fc.property(textArb, (text) => { seen[checkText(text)]++; }), { seed: 0x7e571, numRuns: RUNS });
    expect(seen.accepted).toBeGreaterThan(RUNS / 10);
    expect(seen.refused).toBeGreaterThan(RUNS / 10);
  });

  it(`arbitrary bytes (binary, invalid UTF-8, BOM): decoded leniently, then accepted or refused, never crashing (${RUNS} cases)`, () => {
    fc.assert(fc.property(bytesArb, (bytes) => {
      const text = userTextFromBytes(bytes);
      expect(typeof text).toBe('string');
      // Undecodable bytes become U+FFFD: a file that is not UTF-8 is never read as something else.
      let valid = true;
      try { new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { valid = false; }
      if (!valid) expect(text).toContain('\ufffd');
      checkText(text);
    }), { seed: 0x7e572, numRuns: RUNS });
  });

  it('random binary is refused as binary, naming the offset of its first control character (100 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 200, maxLength: 4000 }), (bytes) => {
      expect(() => prepareUserText(userTextFromBytes(bytes), tokenizer)).toThrow(/looks binary: (it contains a NUL character \(at offset \d+\)|\d+ of its \d+ characters are control characters or U\+FFFD)/);
    }), { seed: 0x7e573, numRuns: 100 });
  });

  it('a text or file over the limit is refused with its size, before it is decoded (8 cases)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3_000_000 }), (extra) => {
      const text = 'a'.repeat(MAX_TEXT_CHARACTERS + extra);
      expect(checkText(text)).toBe('refused');
      const size = MAX_TEXT_BYTES + extra;
      const file = new Uint8Array(size);
      const run = tracked(() => userTextFromBytes(file));
      expect(run.error).toBeInstanceOf(RangeError);
      expect((run.error as Error).message).toBe(`the file has ${size} bytes; at most ${MAX_TEXT_BYTES} bytes (${MAX_TEXT_CHARACTERS} characters) are accepted`);
      expect(run.totalBytes, 'nothing decoded or copied').toBe(0);
    }), { seed: 0x7e574, numRuns: 8 });
    expect(checkText('a'.repeat(MAX_TEXT_CHARACTERS - 1) + '.')).toBe('accepted');
    expect(() => userTextFromBytes('text' as never)).toThrow('the file must be bytes (a Uint8Array), got string');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Shared pieces of the file fuzzers

/** A small needle study whose files are a few kilobytes. */
function smallStudy(): StudyConfig {
  const base = preset('tiny');
  return {
    ...base, taskOptions: { fillerWords: 8, keys: 4, values: 4 },
    model: { ...base.model, vocabSize: needleVocab(8, 4, 4).size, layers: 1, dModel: 8, heads: 2, dFF: 8, context: 16 },
  };
}

/** 8-byte little-endian header length, the JSON header, the data. */
function joinFile(header: unknown, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function splitFile(bytes: Uint8Array): { header: any; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.slice(8 + n) };
}

const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -1, 1, 0.5, 1.5, 2, 7, 64, 2 ** 20, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 1e300, -1e300, 4096, 65_536, 1e9),
  fc.integer({ min: -5, max: 5000 }),
  fc.constantFrom('', 'F32', 'F64', 'F16', 'I32', 'BF16', 'meap-playground-study', '1', 'x', '<img src=x onerror=alert(1)>', '{', '{}', 'null', '[1,2]'),
  fc.constantFrom(null, true, false, [], {}, [0], [0, 1], [1, 0], [-4, 620], [0, 2 ** 52], [2 ** 53, 2 ** 53 + 4]),
  fc.array(fc.oneof(fc.nat(64), fc.constantFrom(2 ** 20, 2 ** 40, 1e300, -3, 1.5)), { maxLength: 9 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Raw damage to any file: cut, extend, overwrite bytes, a lying length field, or random bytes instead. */
type RawOp =
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'flip'; hits: [number, number][] }
  | { kind: 'length'; value: bigint }
  | { kind: 'random'; bytes: Uint8Array };
const rawOp: fc.Arbitrary<RawOp> = fc.oneof(
  fc.nat().map((at) => ({ kind: 'truncate' as const, at })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'append' as const, bytes })),
  fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }).map((hits) => ({ kind: 'flip' as const, hits })),
  fc.oneof(fc.constantFrom(0n, 1n, 2n, 7n, 8n, 2n ** 32n, 2n ** 53n, 100_000_001n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    fc.integer({ min: -40, max: 40 }).map((d) => BigInt(-1000 + d)))
    .map((value) => ({ kind: 'length' as const, value })),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => ({ kind: 'random' as const, bytes })),
);

function applyRaw(file: Uint8Array, op: RawOp): Uint8Array {
  switch (op.kind) {
    case 'truncate': return file.slice(0, op.at % (file.length + 1));
    case 'append': return new Uint8Array([...file, ...op.bytes]);
    case 'flip': {
      const out = file.slice();
      for (const [at, value] of op.hits) out[at % out.length] = value;
      return out;
    }
    case 'length': {
      if (file.length < 8) return file;
      const out = file.slice();
      // Negative values are "the real length minus a little" (off-by-a-few lies); the rest are absolute.
      const real = new DataView(out.buffer).getBigUint64(0, true);
      const value = op.value > 2n ** 63n ? op.value : op.value < 0n ? real + (op.value + 1000n) : op.value;
      new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
      return out;
    }
    case 'random': return op.bytes;
  }
}

/** Sets the value at a path of a JSON object (creating nothing: a path that does not exist is skipped). */
function setAt(root: any, path: (string | number)[], value: unknown): void {
  let parent = root;
  for (const k of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return;
    parent = parent[k];
  }
  if (typeof parent === 'object' && parent !== null) parent[path[path.length - 1]] = value;
}

function jsonPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...jsonPaths(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Safetensors

const study = smallStudy();
const layout = parameterLayout(study.model);
const goodSafetensors = writeSafetensors(study.model, initParameters(study.model, layout, 3), { study, metadata: { note: 'fuzz' } });
const tensorNames = layout.tensors.map((t) => t.name);

type SafetensorsOp =
  | { kind: 'raw'; op: RawOp }
  | { kind: 'entry'; tensor: number; field: 'dtype' | 'shape' | 'data_offsets' | 'whole'; value: unknown }
  | { kind: 'giant'; tensor: number; shape: number[] }
  | { kind: 'drop' | 'rename'; tensor: number; name: string }
  | { kind: 'model' | 'study'; path: number; value: unknown }
  | { kind: 'modelGiant'; field: 'layers' | 'vocabSize' | 'dModel' | 'dFF'; value: number }
  | { kind: 'metadata'; key: string; value: unknown }
  | { kind: 'poke'; at: number; value: number };

const safetensorsOp: fc.Arbitrary<SafetensorsOp> = fc.oneof(
  rawOp.map((op) => ({ kind: 'raw' as const, op })),
  fc.record({ kind: fc.constant('entry' as const), tensor: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'whole') as fc.Arbitrary<'dtype'>, value: nastyJson }),
  fc.record({ kind: fc.constant('giant' as const), tensor: fc.nat(), shape: fc.array(fc.constantFrom(2 ** 10, 2 ** 20, 2 ** 26, 3, 13), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constantFrom('drop', 'rename') as fc.Arbitrary<'drop'>, tensor: fc.nat(), name: fc.oneof(fc.constantFrom('__metadata__', 'model.norm.weight', 'x\ny'), fc.string({ maxLength: 200 })) }),
  fc.record({ kind: fc.constantFrom('model', 'study') as fc.Arbitrary<'model'>, path: fc.nat(), value: nastyJson }),
  fc.record({ kind: fc.constant('modelGiant' as const), field: fc.constantFrom('layers', 'vocabSize', 'dModel', 'dFF') as fc.Arbitrary<'layers'>,
    value: fc.constantFrom(2, 64, 4096, 2 ** 20, 1e9, 1e12, 2 ** 53) }),
  fc.record({ kind: fc.constant('metadata' as const), key: fc.constantFrom(...Object.values(METADATA_KEYS), 'note'), value: fc.oneof(nastyJson, fc.constant(undefined)) }),
  fc.record({ kind: fc.constant('poke' as const), at: fc.nat(), value: fc.constantFrom(NaN, Infinity, -Infinity, 1e30, -0) }),
);

function applySafetensors(file: Uint8Array, op: SafetensorsOp): Uint8Array {
  if (op.kind === 'raw') return applyRaw(file, op.op);
  let parts: { header: any; data: Uint8Array };
  try {
    parts = splitFile(file);
  } catch {
    return file;   // already damaged beyond JSON: leave it as it is
  }
  const { header, data } = parts;
  if (typeof header !== 'object' || header === null) return file;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names.length > 0 ? names[('tensor' in op ? op.tensor : 0) % names.length] : tensorNames[0];
  const meta = (typeof header.__metadata__ === 'object' && header.__metadata__ !== null) ? header.__metadata__ : (header.__metadata__ = {});
  switch (op.kind) {
    case 'entry':
      if (op.field === 'whole') header[name] = op.value;
      else if (typeof header[name] === 'object' && header[name] !== null) header[name][op.field] = op.value;
      break;
    case 'giant': {
      // A consistent lie: shape and data_offsets agree on a huge tensor the file does not hold.
      const entry = header[name];
      if (typeof entry !== 'object' || entry === null || !Array.isArray(entry.data_offsets)) break;
      const bytes = op.shape.reduce((a, b) => a * b, 4);
      entry.shape = op.shape;
      entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[0] + bytes];
      break;
    }
    case 'drop': delete header[name]; break;
    case 'rename': header[op.name] = header[name]; delete header[name]; break;
    case 'model': case 'study': {
      const key = op.kind === 'model' ? METADATA_KEYS.modelConfig : METADATA_KEYS.studyConfig;
      let config: unknown;
      try { config = JSON.parse(meta[key]); } catch { break; }
      const all = jsonPaths(config);
      if (all.length > 0) setAt(config, all[op.path % all.length], op.value);
      meta[key] = JSON.stringify(config);
      break;
    }
    case 'modelGiant': {
      for (const key of [METADATA_KEYS.modelConfig, METADATA_KEYS.studyConfig]) {
        try {
          const config = JSON.parse(meta[key]);
          if (key === METADATA_KEYS.modelConfig) config[op.field] = op.value;
          else config.model[op.field] = op.value;
          meta[key] = JSON.stringify(config);
        } catch { /* leave it */ }
      }
      break;
    }
    case 'metadata': meta[op.key] = op.value; break;
    case 'poke': {
      const out = data.slice();
      if (out.length >= 4) new DataView(out.buffer).setFloat32(4 * (op.at % Math.floor(out.length / 4)), op.value, true);
      return joinFile(header, out);
    }
  }
  return joinFile(header, data);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function expectValidCheckpoint(c: ParsedCheckpoint<StudyConfig>, bytes: Uint8Array): void {
  const config = modelConfigFromUnknown(c.config);
  const modelLayout = parameterLayout(config);
  expect(c.params.length).toBe(modelLayout.P);
  // The data section is exactly the tensors, nothing before, between or after them.
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  expect(bytes.length - 8 - headerLength).toBe(4 * modelLayout.tensors.reduce((n, t) => n + t.size, 0));
  // The header, read independently: exactly the model's tensors, all float32 with the model's shapes; string metadata.
  const { header } = splitFile(bytes);
  const { __metadata__: metadata = {}, ...tensors } = header;
  expect(Object.values(metadata).every((v) => typeof v === 'string')).toBe(true);
  expect(Object.keys(tensors).sort()).toEqual(modelLayout.tensors.map((t) => t.name).sort());
  for (const t of modelLayout.tensors) {
    expect(tensors[t.name].dtype).toBe('F32');
    expect(tensors[t.name].shape).toEqual([...t.shape]);
  }
  expect(c.params.every(Number.isFinite)).toBe(true);
  if (c.study) {
    validateStudyConfig(c.study);
    expect(c.study.model).toEqual(c.config);
  }
}

function checkSafetensors(bytes: Uint8Array, options: { config?: StudyConfig['model'] } = {}): 'accepted' | 'refused' {
  const started = performance.now();
  const copy = bytes.slice();
  const reading = { ...options, checkStudy: checkedStudyConfig };
  const run = tracked(() => tryReadSafetensors(bytes, reading));
  expect(performance.now() - started, 'one read').toBeLessThan(5000);
  if (run.error !== undefined) throw run.error;   // anything but a CheckpointError escapes tryReadSafetensors
  // Memory: the tensors' copies and the parameter block, each bounded by the file's size (plus alignment padding).
  expect(run.totalBytes).toBeLessThanOrEqual(2 * bytes.length + 64 * 1024);
  expect(sameBytes(bytes, copy), 'the upload is not modified').toBe(true);
  const result = run.value!;
  if (result.ok) {
    expectValidCheckpoint(result.checkpoint, bytes);
    return 'accepted';
  }
  expectOneLine(result.message);
  expect(() => readSafetensors(bytes, reading)).toThrow(CheckpointError);
  // A length field that claims more than the file holds is named as such.
  if (bytes.length >= 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const claimed = view.getUint32(0, true) + 2 ** 32 * view.getUint32(4, true);
    if (claimed > bytes.length - 8) expect(result.message).toMatch(/header length field says \d+ bytes/);
  }
  return 'refused';
}

describe('uploaded safetensors models', () => {
  it('the unmodified file is accepted', () => {
    expect(checkSafetensors(goodSafetensors)).toBe('accepted');
  });

  it(`mutated valid files: refused with a CheckpointError line or accepted only when valid, memory bounded by the file (${RUNS} cases)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(fc.property(fc.array(safetensorsOp, { minLength: 1, maxLength: 3 }), fc.boolean(), (ops, withConfigJson) => {
      // Half the time with a config.json next to the file (which must then agree with the file's own config).
      seen[checkSafetensors(ops.reduce(applySafetensors, goodSafetensors), withConfigJson ? { config: study.model } : {})]++;
    }), { seed: 0x5afe1, numRuns: RUNS });
    expect(seen.accepted).toBeGreaterThan(3);
    expect(seen.refused).toBeGreaterThan(RUNS / 2);
  });

  it(`random bytes, and random headers behind a correct length field (${RUNS} cases)`, () => {
    fc.assert(fc.property(fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 256 })).map(([header, data]) => joinFile(header, data)),
      fc.tuple(fc.dictionary(fc.oneof(fc.constantFrom(...tensorNames), fc.string({ maxLength: 8 })), nastyJson, { maxKeys: 6 }), fc.uint8Array({ maxLength: 256 }))
        .map(([header, data]) => joinFile(header, data)),
    ), (bytes) => { expect(checkSafetensors(bytes)).toBe('refused'); }), { seed: 0x5afe2, numRuns: RUNS });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Study checkpoints

function checkpointOf(precision: 'F32' | 'F64'): Uint8Array {
  const c = smallStudy();
  const R = c.arms.length * c.seedsPerArm;
  const P = parameterLayout(c.model).P;
  const make = (seed: number) => {
    const values = randomFloats(seed, R * P);
    return precision === 'F64' ? Float64Array.from(values) : values;
  };
  const checkpoint: StudyCheckpoint = {
    state: { config: c, step: 3, dataRngStates: [11], maskRngStates: [12, 13], frozen: [false, true], params: make(1), m: make(2), v: make(3) },
    extra: { history: [1, 2, 3], note: '<b>not markup</b>' },
  };
  return encodeStudyCheckpoint(checkpoint);
}
const goodCheckpoints = [checkpointOf('F32'), checkpointOf('F64')];

type CheckpointOp =
  | { kind: 'raw'; op: RawOp }
  | { kind: 'set'; path: number; value: unknown }
  | { kind: 'field'; path: string; value: unknown }
  | { kind: 'mixed'; name: 'params' | 'm' | 'v' }
  | { kind: 'lie'; field: 'layers' | 'dModel' | 'dFF' | 'seedsPerArm' | 'arms'; value: number }
  | { kind: 'poke'; at: number; value: number };

const checkpointOp: fc.Arbitrary<CheckpointOp> = fc.oneof(
  rawOp.map((op) => ({ kind: 'raw' as const, op })),
  fc.record({ kind: fc.constant('set' as const), path: fc.nat(), value: nastyJson }),
  fc.record({ kind: fc.constant('field' as const), path: fc.constantFrom('format', 'version', 'step', 'dataRngStates', 'dataRngStates.0',
    'maskRngStates', 'maskRngStates.1', 'frozen', 'frozen.0', 'arrays', 'arrays.params', 'arrays.params.dtype', 'arrays.m.dtype',
    'arrays.v.length', 'arrays.m.offset', 'config', 'config.model', 'config.steps', 'extra'), value: nastyJson }),
  fc.record({ kind: fc.constant('mixed' as const), name: fc.constantFrom('params', 'm', 'v') as fc.Arbitrary<'params'> }),
  fc.record({ kind: fc.constant('lie' as const), field: fc.constantFrom('layers', 'dModel', 'dFF', 'seedsPerArm', 'arms') as fc.Arbitrary<'layers'>,
    value: fc.constantFrom(2, 8, 16, 64, 512, 1024, 4096, 16_384) }),
  fc.record({ kind: fc.constant('poke' as const), at: fc.nat(), value: fc.constantFrom(NaN, Infinity, -Infinity, 1e300) }),
);

function applyCheckpoint(file: Uint8Array, op: CheckpointOp): Uint8Array {
  if (op.kind === 'raw') return applyRaw(file, op.op);
  let parts: { header: any; data: Uint8Array };
  try {
    parts = splitFile(file);
  } catch {
    return file;
  }
  const { header, data } = parts;
  if (typeof header !== 'object' || header === null) return file;
  switch (op.kind) {
    case 'set': {
      const all = jsonPaths(header);
      if (all.length > 0) setAt(header, all[op.path % all.length], op.value);
      break;
    }
    case 'field':
      setAt(header, op.path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), op.value);
      break;
    case 'mixed': {
      // A consistent file whose one array has the other precision: header and data agree, only the mix is wrong.
      const arrays = header.arrays;
      if (typeof arrays !== 'object' || arrays === null) break;
      const names = ['params', 'm', 'v'] as const;
      if (!names.every((n) => typeof arrays[n] === 'object' && arrays[n] !== null && (arrays[n].dtype === 'F32' || arrays[n].dtype === 'F64')
        && Number.isSafeInteger(arrays[n].length) && Number.isSafeInteger(arrays[n].offset) && arrays[n].offset >= 0)) break;
      const values = names.map((n) => {
        const e = arrays[n];
        const width = e.dtype === 'F64' ? 8 : 4;
        const view = new DataView(data.buffer, data.byteOffset);
        return Array.from({ length: Math.max(0, Math.min(e.length, Math.floor((data.length - e.offset) / width))) }, (_, i) =>
          (width === 8 ? view.getFloat64(e.offset + 8 * i, true) : view.getFloat32(e.offset + 4 * i, true)));
      });
      const flip = arrays[op.name].dtype === 'F64' ? 'F32' : 'F64';
      const chunks: Uint8Array[] = [];
      let offset = 0;
      names.forEach((n, k) => {
        const dtype = n === op.name ? flip : arrays[n].dtype;
        const out = dtype === 'F64' ? new Float64Array(values[k]) : new Float32Array(values[k]);
        arrays[n] = { dtype, length: values[k].length, offset };
        offset += out.byteLength;
        chunks.push(new Uint8Array(out.buffer));
      });
      const joined = new Uint8Array(offset);
      let at = 0;
      for (const chunk of chunks) { joined.set(chunk, at); at += chunk.length; }
      return joinFile(header, joined);
    }
    case 'lie': {
      // A consistent lie: a bigger study in the header, array sizes and offsets to match, the same small data.
      const c = header.config;
      if (typeof c !== 'object' || c === null || typeof c.model !== 'object' || c.model === null) break;
      if (op.field === 'arms') c.arms = Array.from({ length: Math.min(op.value, 16) }, (_, i) => i / 20);
      else if (op.field === 'seedsPerArm') c.seedsPerArm = Math.min(op.value, 64);
      else c.model[op.field] = op.value;
      try {
        const R = c.arms.length * c.seedsPerArm;
        const P = parameterLayout(c.model).P;
        let offset = 0;
        for (const name of ['params', 'm', 'v']) {
          const entry = header.arrays?.[name];
          if (!entry) continue;
          entry.length = R * P;
          entry.offset = offset;
          offset += R * P * (entry.dtype === 'F64' ? 8 : 4);
        }
        header.dataRngStates = Array.from({ length: c.seedsPerArm }, () => 1);
        header.maskRngStates = Array.from({ length: R }, () => 1);
        header.frozen = Array.from({ length: R }, () => false);
      } catch { /* an invalid config: leave the rest */ }
      break;
    }
    case 'poke': {
      const out = data.slice();
      const dtype = header.arrays?.params?.dtype;
      if (dtype === 'F64' && out.length >= 8) new DataView(out.buffer).setFloat64(8 * (op.at % Math.floor(out.length / 8)), op.value, true);
      else if (out.length >= 4) new DataView(out.buffer).setFloat32(4 * (op.at % Math.floor(out.length / 4)), op.value, true);
      return joinFile(header, out);
    }
  }
  return joinFile(header, data);
}

function checkStudyCheckpoint(bytes: Uint8Array): 'accepted' | 'refused' {
  const started = performance.now();
  const run = tracked(() => decodeStudyCheckpoint(bytes));
  expect(performance.now() - started, 'one decode').toBeLessThan(5000);
  // The three arrays (float32 or float64), each bounded by the data section.
  expect(run.totalBytes).toBeLessThanOrEqual(bytes.length + 64 * 1024);
  if (run.error !== undefined) {
    if (!(run.error instanceof StudyCheckpointError)) throw run.error;
    expectOneLine(run.error.message, 2000);
    expect(run.error.message.startsWith('This study checkpoint cannot be used: ')).toBe(true);
    if (bytes.length >= 8 && new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true) > BigInt(bytes.length - 8)) {
      expect(run.error.message).toMatch(/its header claims \d+ bytes but the file has only \d+/);
    }
    return 'refused';
  }
  const { state } = run.value!;
  validateStudyConfig(state.config);
  const R = state.config.arms.length * state.config.seedsPerArm;
  const P = parameterLayout(state.config.model).P;
  expect(state.step).toBeGreaterThanOrEqual(0);
  expect(state.step).toBeLessThanOrEqual(state.config.steps);
  expect(state.dataRngStates).toHaveLength(state.config.seedsPerArm);
  expect(state.maskRngStates).toHaveLength(R);
  expect(state.frozen).toHaveLength(R);
  // The data section is exactly the three arrays.
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  expect(bytes.length - 8 - headerLength).toBe(3 * R * P * state.params.BYTES_PER_ELEMENT);
  // The header, read independently, says exactly what was returned.
  const { header } = splitFile(bytes);
  expect([header.format, header.version]).toEqual(['meap-playground-study', 1]);
  expect(Number.isInteger(header.step)).toBe(true);
  for (const s of [...header.dataRngStates, ...header.maskRngStates]) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
  expect(header.frozen.every((f: unknown) => typeof f === 'boolean')).toBe(true);
  const dtype = state.params instanceof Float64Array ? 'F64' : 'F32';
  ['params', 'm', 'v'].forEach((name, k) => {
    expect(header.arrays[name]).toEqual({ dtype, length: R * P, offset: k * R * P * state.params.BYTES_PER_ELEMENT });
  });
  for (const array of [state.params, state.m, state.v]) {
    expect(array.length).toBe(R * P);
    expect(array.every(Number.isFinite)).toBe(true);
    expect(array.constructor).toBe(state.params.constructor);
  }
  return 'accepted';
}

describe('uploaded study checkpoints', () => {
  it('the unmodified files (float32 and float64) are accepted', () => {
    for (const file of goodCheckpoints) expect(checkStudyCheckpoint(file)).toBe('accepted');
  });

  it(`mutated valid files: refused with a StudyCheckpointError line or accepted only when valid, memory bounded by the file (${RUNS} cases)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(fc.property(fc.nat(1), fc.array(checkpointOp, { minLength: 1, maxLength: 3 }), (which, ops) => {
      seen[checkStudyCheckpoint(ops.reduce(applyCheckpoint, goodCheckpoints[which]))]++;
    }), { seed: 0xc4ec1, numRuns: RUNS });
    expect(seen.accepted).toBeGreaterThan(3);
    expect(seen.refused).toBeGreaterThan(RUNS / 2);
  });

  it(`one header field at a time set to an odd value: accepted only when still valid (${RUNS} cases)`, () => {
    const fields = ['format', 'version', 'step', 'dataRngStates', 'dataRngStates.0', 'maskRngStates', 'maskRngStates.1', 'frozen', 'frozen.0',
      'arrays.params.dtype', 'arrays.m.dtype', 'arrays.v.length', 'arrays.m.offset', 'arrays.v.offset', 'config.steps', 'config.model.layers',
      'config.arms', 'config.seedsPerArm', 'extra'];
    fc.assert(fc.property(fc.nat(1), fc.constantFrom(...fields), fc.oneof(nastyJson, fc.integer({ min: -2, max: 60 })), (which, path, value) => {
      checkStudyCheckpoint(applyCheckpoint(goodCheckpoints[which], { kind: 'field', path, value }));
    }), { seed: 0xc4ec3, numRuns: RUNS });
  });

  it(`random bytes and random headers (${RUNS} cases)`, () => {
    fc.assert(fc.property(fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 256 })).map(([header, data]) => joinFile(header, data)),
      fc.tuple(fc.record({ format: fc.constantFrom('meap-playground-study', 'x'), version: fc.constantFrom(1, 2, '1'), config: nastyJson,
        step: nastyJson, arrays: nastyJson }), fc.uint8Array({ maxLength: 256 })).map(([header, data]) => joinFile(header, data)),
    ), (bytes) => { expect(checkStudyCheckpoint(bytes)).toBe('refused'); }), { seed: 0xc4ec2, numRuns: RUNS });
  });
});

/**
 * The safetensors header of an untrusted file, checked before anything else is read: the length field,
 * UTF-8 JSON, string metadata, F32 tensors whose shapes match their byte spans, and spans that tile the data
 * section exactly. Every refusal is a CheckpointError whose message a user can act on (safetensors.ts).
 */

/** The reference implementation's limit on the JSON header. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A file that cannot be loaded; `message` is meant for the user. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The header's metadata and tensor entries, each checked (length field, UTF-8, JSON, F32, shapes, offsets). */
export function parseHeader(bytes: Uint8Array): { metadata: Record<string, string>; entries: HeaderEntry[]; dataStart: number } {
  if (bytes.length < 8) {
    throw new CheckpointError(`The file is too small to be a safetensors model (${bytes.length} bytes; its first 8 bytes must give the header length).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true), high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new CheckpointError(`The header length field says ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} a safetensors header may have: the file is corrupt or not safetensors.`);
  }
  if (8 + headerLength > bytes.length) {
    throw new CheckpointError(`The file is truncated or not safetensors: its header length field says ${headerLength} bytes but only ${bytes.length - 8} bytes follow it.`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new CheckpointError('The file header is not valid UTF-8 text: the file is corrupt or not safetensors.');
  }
  if (!text.startsWith('{')) throw new CheckpointError('The file header does not start with "{": the file is corrupt or not safetensors.');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`The file header is not valid JSON (${(error as Error).message}): the file is corrupt or not safetensors.`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError('The file header must be a JSON object of tensors.');
  }
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new CheckpointError('The header\'s "__metadata__" must be an object of strings.');
      }
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new CheckpointError(`Metadata entry "${printable(key)}" must be a string, got ${typeof v}.`);
        metadata[key] = v;
      }
      continue;
    }
    entries.push(headerEntry(name, value));
  }
  if (entries.length === 0) throw new CheckpointError('The file holds no tensors.');
  return { metadata, entries, dataStart: 8 + headerLength };
}

function headerEntry(rawName: string, value: unknown): HeaderEntry {
  const name = printable(rawName);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`Tensor ${name} has a malformed header entry (expected {dtype, shape, data_offsets}).`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new CheckpointError(`Tensor ${name} has no dtype.`);
  if (dtype !== 'F32') {
    throw new CheckpointError(`Tensor ${name} has dtype ${printable(dtype)}; only F32 (float32) models can be loaded — convert it with model.float() before saving.`);
  }
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CheckpointError(`Tensor ${name} has a malformed shape (expected a list of non-negative integers).`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new CheckpointError(`Tensor ${name} has malformed data_offsets (expected [begin, end] byte offsets).`);
  }
  const [begin, end] = offsets as number[];
  if (end < begin) throw new CheckpointError(`Tensor ${name} has data_offsets [${begin}, ${end}] that end before they begin.`);
  // The product is compared against the byte span step by step, so giant shapes cannot overflow it.
  let bytes = 4;
  for (const d of shape as number[]) {
    bytes *= d;
    if (bytes > end - begin) break;
  }
  if (bytes !== end - begin) {
    throw new CheckpointError(`Tensor ${name} has shape [${(shape as number[]).join(', ')}], which does not match its ${end - begin} bytes of data (data_offsets [${begin}, ${end}]).`);
  }
  return { name: rawName, dtype, shape: shape as number[], begin, end };
}

/** The tensors must tile the data section exactly: no byte outside it, shared, unused or trailing. */
export function checkCoverage(entries: HeaderEntry[], dataLength: number): void {
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new CheckpointError(`Tensor ${printable(e.name)} has data_offsets [${e.begin}, ${e.end}] beyond the ${dataLength} bytes of data: the file is truncated or corrupt.`);
    }
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: HeaderEntry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor) {
      throw new CheckpointError(`Tensors ${printable(previous!.name)} and ${printable(e.name)} overlap in the data section (bytes ${e.begin}–${Math.min(cursor, e.end)}).`);
    }
    if (e.begin > cursor) {
      throw new CheckpointError(`Bytes ${cursor}–${e.begin} of the data section belong to no tensor: the header does not describe the data exactly.`);
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) {
    throw new CheckpointError(`The data section has ${dataLength - cursor} bytes after the last tensor: the header does not describe the data exactly.`);
  }
}

/** Up to five names from the file, shown safely, and how many more. */
export function listNames(names: string[]): string {
  const shown = names.slice(0, 5).map(printable).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/** A name from the file, safe to show: control characters escaped, at most 120 characters. */
export function printable(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return escaped.length > 120 ? `${escaped.slice(0, 117)}…` : escaped;
}

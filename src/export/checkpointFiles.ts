/**
 * Node-only: a model checkpoint directory as a user takes it to PyTorch, `DIR/model.safetensors` +
 * `DIR/config.json` (what `LlamaForCausalLM.from_pretrained(DIR)` reads). For `npm run compare -- --save`
 * and `npm run export`.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { FileGuardError, readFileBounded } from '../util/safeFiles';
import { dirname, join } from 'node:path';
import { hfConfigJson, modelConfigFromHf } from './hfConfig';
import { CheckpointError, readSafetensors, writeSafetensors, type ParsedCheckpoint, type WriteOptions } from './safetensors';
import type { ModelConfig } from '../model/config';

export const SAFETENSORS_FILE = 'model.safetensors';
export const HF_CONFIG_FILE = 'config.json';
/** Larger files cannot become one ONNX file (protobuf's 2 GiB) and are not playground models. */
export const MAX_CHECKPOINT_BYTES = 2 ** 31;
/** A Hugging Face config.json is a few hundred bytes. */
const MAX_CONFIG_JSON_BYTES = 2 ** 20;

/** Writes DIR/model.safetensors and DIR/config.json (creating DIR); returns the two paths. */
export function writeCheckpointDir(dir: string, config: ModelConfig, params: Float32Array, options: WriteOptions = {}): string[] {
  const bytes = writeSafetensors(config, params, options);
  mkdirSync(dir, { recursive: true });
  const weights = join(dir, SAFETENSORS_FILE), hf = join(dir, HF_CONFIG_FILE);
  writeFileSync(weights, bytes);
  writeFileSync(hf, hfConfigJson(config));
  return [weights, hf];
}

/**
 * Reads a checkpoint: `path` is a directory holding model.safetensors (and optionally config.json, which
 * must then agree with the file's config) or a .safetensors file itself (config.json beside it is used
 * the same way). Throws CheckpointError with a one-line reason.
 */
export function readCheckpoint(path: string): ParsedCheckpoint & { file: string } {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw new CheckpointError(`cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const file = stats.isDirectory() ? join(path, SAFETENSORS_FILE) : path;
  const configFile = join(stats.isDirectory() ? path : dirname(path), HF_CONFIG_FILE);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (error) {
    throw new CheckpointError(`cannot read "${file}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(`"${file}" has ${size} bytes, more than the 2 GiB a playground model can have`);
  let config: ModelConfig | undefined;
  if (existsSync(configFile)) {
    try {
      config = modelConfigFromHf(JSON.parse(new TextDecoder().decode(readFileBounded(configFile, MAX_CONFIG_JSON_BYTES))));
    } catch (error) {
      throw new CheckpointError(`"${configFile}": ${(error as Error).message.replace(/^config\.json: /, '')}`);
    }
  }
  // Counted as read, from a regular file only: `stat` says nothing of a FIFO's or a device's size.
  let bytes: Uint8Array;
  try {
    bytes = readFileBounded(file, MAX_CHECKPOINT_BYTES);
  } catch (error) {
    if (error instanceof FileGuardError) throw new CheckpointError(error.message);
    throw error;
  }
  try {
    return { ...readSafetensors(bytes, { config }), file };
  } catch (error) {
    if (error instanceof CheckpointError) throw new CheckpointError(`"${file}": ${error.message}`);
    throw error;
  }
}

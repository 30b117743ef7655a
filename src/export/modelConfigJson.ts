/**
 * Reading a ModelConfig out of untrusted JSON (a checkpoint's metadata, an uploaded file): every field
 * present, a finite number, nothing extra, then validateModelConfig. Messages name the field.
 */
import { validateModelConfig, type ModelConfig } from '../model/config';

export const MODEL_CONFIG_FIELDS = [
  'vocabSize', 'maskId', 'layers', 'dModel', 'heads', 'dFF', 'context', 'ropeBase', 'normEps',
] as const satisfies readonly (keyof ModelConfig)[];

/** The config fields in a fixed order (what the writer stores, so equal configs give equal bytes). */
export function canonicalModelConfig(c: ModelConfig): ModelConfig {
  const out = {} as Record<string, number>;
  for (const field of MODEL_CONFIG_FIELDS) out[field] = c[field];
  return out as unknown as ModelConfig;
}

/** Throws a RangeError naming the field when `value` is not a valid ModelConfig object. */
export function modelConfigFromUnknown(value: unknown): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RangeError('the model config must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(MODEL_CONFIG_FIELDS as readonly string[]).includes(key)) throw new RangeError(`the model config has an unknown field "${key}"`);
  }
  const out = {} as Record<string, number>;
  for (const field of MODEL_CONFIG_FIELDS) {
    const v = record[field];
    if (v === undefined) throw new RangeError(`the model config lacks the field "${field}"`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`model.${field} must be a finite number, got ${JSON.stringify(v)}`);
    out[field] = v;
  }
  const config = out as unknown as ModelConfig;
  validateModelConfig(config);
  return config;
}

export function sameModelConfig(a: ModelConfig, b: ModelConfig): boolean {
  return MODEL_CONFIG_FIELDS.every((f) => a[f] === b[f]);
}

/** "layers: 2 in the file, 3 in config.json; …" for a message. */
export function describeConfigDifference(a: ModelConfig, b: ModelConfig, aName: string, bName: string): string {
  return MODEL_CONFIG_FIELDS.filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f]} in ${aName}, ${b[f]} in ${bName}`).join('; ');
}

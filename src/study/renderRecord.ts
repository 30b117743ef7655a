/**
 * `npm run reproduce -- --from study.json`: renders a study record that was produced elsewhere (a copy of
 * reports/<study>/study.json, or the playground page's "Download study.json" of the user's own run) into a
 * report folder, without training anything. The record is checked first: a file that is not a study
 * record, or whose numbers cannot be read, is refused with the reason and nothing is written.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { show, studyConfigIssue } from '../config/schema';
import type { StudyConfig } from '../config/presets';
import { recordArms } from '../config/finetuneStage';
import { analyseStudy, STUDY_FORMAT, type StudyRecord, type StudySummary } from './report';
import { writeReport } from './reportFiles';
import type { FinetuneSummary } from './finetuneReport';
import { studyDir } from './reproduce';
import { canonicalPath, FileGuardError, isSameOrInside, prepareOutputDir, readFileBounded } from '../util/safeFiles';

export class StudyRecordError extends Error {
  override name = 'StudyRecordError';
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A JSON number that is finite (JSON has no NaN: a frozen run's NaN loss is written as null, which is kept). */
const finiteOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));
const inUnitOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && x >= 0 && x <= 1);
/** Longest text field kept (titles and questions are a line or two; segment names a word). */
const MAX_TEXT = 10_000;

/** The first non-finite number (1e999 parses to Infinity) or non-JSON leaf inside an attention record, or null. */
function attentionIssue(value: unknown, path: string, depth = 0): string | null {
  if (depth > 6) return `${path} is nested too deeply`;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} must be a finite number`;
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'string') return value.length <= MAX_TEXT ? null : `${path} is too long`;
  if (typeof value !== 'object') return `${path} is not a JSON value`;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value as object);
  for (const [key, item] of entries) {
    const issue = attentionIssue(item, `${path}.${key}`, depth + 1);
    if (issue) return issue;
  }
  return null;
}

// Array.from: every() would skip the holes of a sparse array.
const numbers = (x: unknown, length: number): boolean => Array.isArray(x) && x.length === length && Array.from(x).every(finiteOrNull);
const matrix = (x: unknown, rows: number, columns: number): boolean => Array.isArray(x) && x.length === rows && Array.from(x).every((row) => numbers(row, columns));

/** Why a run's attention analyses cannot be rendered (shapes of the model's layers and heads, the task's segments), or null. */
function attentionShapeIssue(a: Record<string, unknown>, where: string, config: StudyConfig): string | null {
  const finite = attentionIssue(a, `${where} attention`);
  if (finite) return finite;
  const { layers, heads } = config.model;
  if (!Array.isArray(a.segmentNames) || a.segmentNames.length === 0 || a.segmentNames.length > 64 || !Array.from(a.segmentNames).every((n) => typeof n === 'string')) {
    return `${where} attention.segmentNames must be a list of names`;
  }
  const segments = a.segmentNames.length;
  if (!Array.isArray(a.examples) || !Array.from(a.examples).every((e) => Number.isInteger(e))) return `${where} attention.examples must be whole numbers`;
  if (!numbers(a.segmentMass, segments)) return `${where} attention.segmentMass must hold ${segments} numbers`;
  if (!matrix(a.segmentMassByLayer, layers, segments)) return `${where} attention.segmentMassByLayer must be ${layers} × ${segments} numbers`;
  if (!matrix(a.headEntropy, layers, heads)) return `${where} attention.headEntropy must be ${layers} × ${heads} numbers`;
  for (const key of ['onMaskedClean', 'onMaskedMasked', 'scoreDecay', 'varianceClean', 'varianceMasked', 'varianceIncrease', 'uniformEntropy']) {
    if (!finiteOrNull(a[key])) return `${where} attention.${key} must be a finite number (or null)`;
  }
  return tokenMassIssue(a, where, layers) ?? keySwapIssue(a.keySwap, where);
}

/** The retrieval tasks' optional key-swap probe: two shares in [0, 1]. */
function keySwapIssue(k: unknown, where: string): string | null {
  if (k === undefined) return null;
  const share = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  return isObject(k) && share(k.clean) && share(k.swapped) ? null : `${where} attention.keySwap must hold two shares in [0, 1] (clean, swapped)`;
}

/** The retrieval tasks' optional split of the answer position's attention by single token: both fields or neither. */
function tokenMassIssue(a: Record<string, unknown>, where: string, layers: number): string | null {
  if (a.tokenNames === undefined && a.tokenMassByLayer === undefined) return null;
  if (!Array.isArray(a.tokenNames) || a.tokenNames.length === 0 || a.tokenNames.length > 64 || !Array.from(a.tokenNames).every((n) => typeof n === 'string')) {
    return `${where} attention.tokenNames must be a list of names (with tokenMassByLayer)`;
  }
  const tokens = a.tokenNames.length;
  if (!matrix(a.tokenMassByLayer, layers, tokens)) return `${where} attention.tokenMassByLayer must be ${layers} × ${tokens} numbers`;
  return null;
}

/** Why a run's evaluation history cannot be rendered, or null: steps increasing, every metric a number in range. */
function historyIssue(history: unknown[], where: string, steps: number, buckets: number): string | null {
  let previous = -1;
  for (const [i, p] of history.entries()) {
    const at = `${where} evaluation ${i}`;
    if (!isObject(p)) return `${at} is not an object`;
    if (!(Number.isInteger(p.step) && (p.step as number) > previous && (p.step as number) <= steps)) {
      return `${at}: step must be a whole number after ${previous} and at most ${steps}`;
    }
    previous = p.step as number;
    for (const key of ['trainLoss', 'valLoss', 'tokensPerSec'] as const) {
      if (!finiteOrNull(p[key]) || (p[key] as number) < 0) return `${at}: ${key} must be a finite number ≥ 0 (or null), got ${show(p[key])}`;
    }
    if (!inUnitOrNull(p.retrievalAcc)) return `${at}: retrievalAcc must be a number in [0, 1] (or null), got ${show(p.retrievalAcc)}`;
    if (!Array.isArray(p.accByDepth) || p.accByDepth.length !== buckets || !Array.from(p.accByDepth).every(inUnitOrNull)) {
      return `${at}: accByDepth must hold ${buckets} numbers in [0, 1]`;
    }
  }
  return null;
}

/**
 * Why `value` is not a study record this version can render, or null. Checked like a checkpoint: every number
 * where a number belongs is finite and in range, every run belongs to an arm of the config with that arm's
 * mask ratio, no (arm, seed) pair is repeated, and every arm holds the same seeds — the seed counts the report
 * states are then the record's own (see `seedsInRecord`).
 */
export function studyRecordIssue(value: unknown): string | null {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.format !== STUDY_FORMAT) return `its format is ${show(value.format)}, not "${STUDY_FORMAT}"`;
  // The name becomes a folder name: letters, digits and dashes only.
  if (typeof value.study !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/i.test(value.study)) return 'its "study" is not a plain name (letters, digits, dashes)';
  if (typeof value.quick !== 'boolean') return '"quick" must be true or false';
  const d = value.definition;
  if (!isObject(d)) return 'it has no "definition"';
  const configIssue = studyConfigIssue(d.config);
  if (configIssue) return `definition.config: ${configIssue.message}`;
  if (!(typeof d.learnedThreshold === 'number' && d.learnedThreshold >= 0 && d.learnedThreshold <= 1)) return 'definition.learnedThreshold must be a number in [0, 1]';
  const endpoint = d.primaryEndpoint;
  if (endpoint !== undefined && !(isObject(endpoint) && endpoint.kind === 'learned-by-last-step'
    && typeof endpoint.threshold === 'number' && endpoint.threshold >= 0 && endpoint.threshold <= 1
    && typeof endpoint.margin === 'number' && endpoint.margin > 0 && endpoint.margin <= 1)) {
    return 'definition.primaryEndpoint must be { kind: "learned-by-last-step", threshold in [0, 1], margin in (0, 1] }';
  }
  const rule = d.sequential;
  if (rule !== undefined && !(isObject(rule) && rule.spending === 'obrien-fleming' && Number.isSafeInteger(rule.maxSeedsPerArm)
    && (rule.maxSeedsPerArm as number) >= 1 && typeof rule.alpha === 'number' && rule.alpha > 0 && rule.alpha < 1)) {
    return 'definition.sequential must be { maxSeedsPerArm: a whole number ≥ 1, alpha in (0, 1), spending: "obrien-fleming" }';
  }
  for (const key of ['seedsForClaim', 'seedsPerUnit'] as const) {
    if (!(Number.isSafeInteger(d[key]) && (d[key] as number) >= 1)) return `definition.${key} must be a whole number ≥ 1`;
  }
  for (const key of ['name', 'title', 'question', 'bucketLabel'] as const) {
    if (typeof d[key] !== 'string' || (d[key] as string).length > MAX_TEXT) return `definition.${key} must be text (at most ${MAX_TEXT} characters)`;
  }
  const config = d.config as StudyConfig;
  const armList = recordArms(config);
  const arms = armList.length;
  // A fine-tuning study's runs are its fine-tuned ones: their steps are the fine-tuning steps.
  const steps = config.finetune ? config.finetune.steps : config.steps;
  if (!Array.isArray(value.units) || value.units.length === 0) return 'it has no units';
  const seedsOfArm = armList.map(() => new Set<number>());
  for (const [u, unit] of value.units.entries()) {
    if (!isObject(unit) || !Array.isArray(unit.runs)) return `unit ${u} has no runs`;
    for (const [i, run] of unit.runs.entries()) {
      const where = `unit ${u} run ${i}`;
      if (!isObject(run)) return `${where} is not an object`;
      if (!(Number.isInteger(run.arm) && (run.arm as number) >= 0 && (run.arm as number) < arms)) return `${where}: arm must be 0..${arms - 1}`;
      const arm = run.arm as number;
      const { maskRatio, variant } = armList[arm];
      if (run.maskRatio !== maskRatio) return `${where}: maskRatio ${show(run.maskRatio)} is not arm ${arm}'s ${maskRatio}`;
      if (run.objective !== (maskRatio === 0 ? 'ntp' : 'meap')) return `${where}: objective ${show(run.objective)} does not match mask ratio ${maskRatio}`;
      if (run.finetune !== variant) return `${where}: fine-tuning variant ${show(run.finetune)} is not arm ${arm}'s ${show(variant)}`;
      if (!(Number.isSafeInteger(run.seed) && (run.seed as number) >= 0)) return `${where}: seed must be a whole number ≥ 0`;
      if (seedsOfArm[arm].has(run.seed as number)) return `${where}: arm ${arm} has seed ${run.seed} twice`;
      seedsOfArm[arm].add(run.seed as number);
      if (!Array.isArray(run.history) || run.history.length === 0) return `${where} has no evaluations`;
      const issue = historyIssue(run.history, where, steps, config.evaluation.buckets);
      if (issue) return issue;
      if (run.attention !== null && !isObject(run.attention)) return `${where}: attention must be an object or null`;
      const attention = run.attention === null ? null : attentionShapeIssue(run.attention as Record<string, unknown>, where, config);
      if (attention) return attention;
    }
  }
  const seeds = (arm: number) => [...seedsOfArm[arm]].sort((a, b) => a - b).join(',');
  for (let arm = 1; arm < arms; arm++) {
    if (seeds(arm) !== seeds(0)) return `arm ${arm} holds seeds {${seeds(arm)}} but arm 0 holds {${seeds(0)}}: every arm must hold the same seeds`;
  }
  if (seedsOfArm[0].size === 0) return 'it has no runs';
  return null;
}

/** Seeds per arm the record holds (every arm holds the same ones once `studyRecordIssue` passed). */
export function seedsInRecord(record: StudyRecord): number {
  return new Set(record.units.flatMap((u) => u.runs.filter((r) => r.arm === 0).map((r) => r.seed))).size;
}

/**
 * The record as its report should describe it: a partial record (a study stopped after some units, or a page
 * run cut short) states the seeds it holds, not the ones its config planned.
 */
export function recordAsHeld(record: StudyRecord): { record: StudyRecord; planned: number; held: number } {
  const planned = record.definition.config.seedsPerArm;
  const held = seedsInRecord(record);
  if (held === planned) return { record, planned, held };
  const definition = { ...record.definition, config: { ...record.definition.config, seedsPerArm: held } };
  return { record: { ...record, definition }, planned, held };
}

/** The largest record accepted (the committed ones are ~0.1–0.3 MB; a full GPU study a few MB). */
export const MAX_RECORD_BYTES = 64 * 2 ** 20;

/** Where the report would go is not a place to write it (exit 2: nothing was read wrongly, the command was). */
export class ReportFolderError extends Error {
  override name = 'ReportFolderError';
}

export interface RenderOptions {
  /** The existing report folder the caller agrees to replace (it must name exactly the folder written). */
  force?: string;
}

function isNonEmptyDir(dir: string): boolean {
  try {
    return statSync(dir).isDirectory() ? readdirSync(dir).length > 0 : true;
  } catch {
    return false;
  }
}

/**
 * Reads, checks and renders a study record into <out>/<study>; returns the folder and the summary. The record
 * is read through a byte-counting loop (regular files only, at most MAX_RECORD_BYTES). An existing, non-empty
 * report folder — a committed report, say, since the page names an unedited study's download after the study —
 * is replaced only when `force` names it; a folder holding the record itself is never written.
 */
export function renderRecordFile(
  path: string, out: string, options: RenderOptions = {},
): { dir: string; record: StudyRecord; summary: StudySummary | FinetuneSummary; partial: string | null } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readFileBounded(path, MAX_RECORD_BYTES)));
  } catch (error) {
    const reason = error instanceof FileGuardError ? error.message.replace(`"${path}" `, '') : (error as Error).message.split('\n')[0];
    throw new StudyRecordError(`cannot read ${path}: ${reason}`);
  }
  const issue = studyRecordIssue(value);
  if (issue) throw new StudyRecordError(`${path} is not a study record: ${issue}`);
  const record = value as StudyRecord;
  const held = recordAsHeld(record);
  try {
    analyseStudy(held.record);
  } catch (error) {
    throw new StudyRecordError(`${path}: its numbers cannot be analysed (${(error as Error).message.split('\n')[0]})`);
  }
  const dir = studyDir(out, record.study, record.quick);
  const target = canonicalPath(dir);
  if (isSameOrInside(canonicalPath(path), target)) {
    throw new ReportFolderError(`${path} is inside ${dir}, where its report would be written; render it into another --out`);
  }
  if (isNonEmptyDir(target)) {
    if (options.force === undefined) {
      throw new ReportFolderError(`${dir} already exists; render into another --out, or pass --force ${dir} to replace its report`);
    }
    if (canonicalPath(options.force) !== target) throw new ReportFolderError(`--force names ${options.force}, but the report goes to ${dir}`);
  }
  try {
    prepareOutputDir(dir);
  } catch (error) {
    if (error instanceof FileGuardError) throw new ReportFolderError(`--out: ${error.message}`);
    throw error;
  }
  writeFileSync(join(dir, 'study.json'), JSON.stringify(record) + '\n');
  const { summary } = writeReport(dir, held.record);
  const partial = held.held === held.planned ? null : `the record holds ${held.held} of the ${held.planned} seeds per arm its config plans; the report states ${held.held}`;
  return { dir, record, summary, partial };
}

/**
 * `npm run reproduce -- --from study.json`: renders a study record that was produced elsewhere (a copy of
 * reports/<study>/study.json, or the playground page's "Download study.json" of the user's own run) into a
 * report folder, without training anything. The record is checked first: a file that is not a study
 * record, or whose numbers cannot be read, is refused with the reason and nothing is written.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { studyConfigIssue } from '../config/schema';
import { analyseStudy, STUDY_FORMAT, type StudyRecord, type StudySummary } from './report';
import { writeReport } from './reportFiles';
import { studyDir } from './reproduce';

export class StudyRecordError extends Error {
  override name = 'StudyRecordError';
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Why `value` is not a study record this version can render, or null. */
export function studyRecordIssue(value: unknown): string | null {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.format !== STUDY_FORMAT) return `its format is ${JSON.stringify(value.format)}, not "${STUDY_FORMAT}"`;
  // The name becomes a folder name: letters, digits and dashes only.
  if (typeof value.study !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/i.test(value.study)) return 'its "study" is not a plain name (letters, digits, dashes)';
  if (typeof value.quick !== 'boolean') return '"quick" must be true or false';
  const d = value.definition;
  if (!isObject(d)) return 'it has no "definition"';
  const configIssue = studyConfigIssue(d.config);
  if (configIssue) return `definition.config: ${configIssue.message}`;
  for (const key of ['learnedThreshold', 'seedsForClaim', 'seedsPerUnit'] as const) {
    if (typeof d[key] !== 'number' || !Number.isFinite(d[key])) return `definition.${key} must be a number`;
  }
  for (const key of ['name', 'title', 'question', 'bucketLabel'] as const) {
    if (typeof d[key] !== 'string') return `definition.${key} must be text`;
  }
  const arms = (d.config as { arms: number[] }).arms.length;
  if (!Array.isArray(value.units) || value.units.length === 0) return 'it has no units';
  for (const [u, unit] of value.units.entries()) {
    if (!isObject(unit) || !Array.isArray(unit.runs)) return `unit ${u} has no runs`;
    for (const [i, run] of unit.runs.entries()) {
      const where = `unit ${u} run ${i}`;
      if (!isObject(run)) return `${where} is not an object`;
      if (!(Number.isInteger(run.arm) && (run.arm as number) >= 0 && (run.arm as number) < arms)) return `${where}: arm must be 0..${arms - 1}`;
      if (!Number.isInteger(run.seed)) return `${where}: seed must be a whole number`;
      if (!Array.isArray(run.history) || run.history.length === 0) return `${where} has no evaluations`;
      if (!run.history.every((p) => isObject(p) && typeof p.step === 'number' && Array.isArray(p.accByDepth))) return `${where}: its history is not a list of evaluations`;
      if (run.attention !== null && !isObject(run.attention)) return `${where}: attention must be an object or null`;
    }
  }
  return null;
}

/** Reads, checks and renders a study record into <out>/<study>; returns the folder and the summary. */
export function renderRecordFile(path: string, out: string): { dir: string; record: StudyRecord; summary: StudySummary } {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new StudyRecordError(`cannot read ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  const issue = studyRecordIssue(value);
  if (issue) throw new StudyRecordError(`${path} is not a study record: ${issue}`);
  const record = value as StudyRecord;
  try {
    analyseStudy(record);
  } catch (error) {
    throw new StudyRecordError(`${path}: its numbers cannot be analysed (${(error as Error).message.split('\n')[0]})`);
  }
  const dir = studyDir(out, record.study, record.quick);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'study.json'), JSON.stringify(record) + '\n');
  const { summary } = writeReport(dir, record);
  return { dir, record, summary };
}

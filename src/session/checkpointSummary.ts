/**
 * What the page lists of a stored checkpoint, and the check of a summary read back from storage.
 *
 * IndexedDB is not ours alone: another version of the page, an extension, a hand edit in the developer tools
 * or a half-written record can leave any structured-cloneable value under a key. A summary is therefore read
 * like an upload: `readCheckpointSummary` either returns a fresh, fully checked summary or says in one line
 * why the entry is unreadable (the page then lists it as "unreadable checkpoint" with a delete button instead
 * of rendering fields that are not there). The Worker checks what it reads from the store, and the page checks
 * again what the Worker sends (src/store/checkpoints.ts), so no panel ever renders an unchecked summary.
 */
import * as v from 'valibot';
import type { StudyConfig } from '../config/presets';
import { show, studyConfigIssue } from '../config/schema';
import type { EngineKind } from '../engine/types';

/** Why a checkpoint was written. */
export type CheckpointReason = 'auto' | 'manual' | 'hidden' | 'done';

/** What the page lists: everything about a stored checkpoint except its bytes. */
export interface CheckpointSummary {
  key: string;
  engine: EngineKind;
  config: StudyConfig;
  /** The page's name for the config (the preset it started from), for display and to restore the controls. */
  presetName: string;
  step: number;
  /** Date.now() of the save. */
  savedAt: number;
  /** Size of the encoded checkpoint in bytes. */
  bytes: number;
  reason: CheckpointReason;
}

/** A stored entry that is not a readable checkpoint: its storage key (to delete it) and why, in one line. */
export interface UnreadableCheckpoint {
  key: string;
  problem: string;
}

/** Longest preset name kept (the page's names are short; anything longer is not one of ours). */
const MAX_PRESET_NAME = 200;
const MAX_PROBLEM = 300;
/** The range a JavaScript Date can hold (outside it, formatting the save time throws). */
const MAX_TIME = 8.64e15;

const SummaryFieldsSchema = v.object({
  key: v.string('must be a string'),
  engine: v.picklist(['webgpu', 'cpu'], 'must be "webgpu" or "cpu"'),
  presetName: v.pipe(v.string('must be a string'), v.maxLength(MAX_PRESET_NAME, `must be at most ${MAX_PRESET_NAME} characters`)),
  step: v.pipe(v.number('must be a number'), v.safeInteger('must be a whole number'), v.minValue(0, 'must be ≥ 0')),
  savedAt: v.pipe(v.number('must be a number'), v.finite('must be finite'), v.minValue(-MAX_TIME, 'is not a date'), v.maxValue(MAX_TIME, 'is not a date')),
  bytes: v.pipe(v.number('must be a number'), v.safeInteger('must be a whole number'), v.minValue(0, 'must be ≥ 0')),
  reason: v.picklist(['auto', 'manual', 'hidden', 'done'], 'must be auto, manual, hidden or done'),
});

/** A problem as one short line (an exception's message from a hostile value can be anything). */
function oneLine(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > MAX_PROBLEM ? `${line.slice(0, MAX_PROBLEM)}…` : line;
}

/**
 * The storage key as the page shows and sends it back. Keys that are not text were never written by us; the
 * store numbers them (`n`) so that two of them never share a text, and maps the text back to delete them.
 */
export function storageKeyText(key: unknown, n = 0): string {
  if (typeof key === 'string') return key;
  const shown = key instanceof Date ? `date ${Number.isNaN(key.getTime()) ? 'invalid' : key.toISOString()}` : show(key);
  return `non-text key ${n}: ${shown}`;
}

/**
 * A checked copy of `value` read under `storedKey`, or why it is unreadable. `storedKey` is the key the entry
 * is stored under: a summary claiming another key would make a delete or a resume miss it.
 */
export function readCheckpointSummary(
  value: unknown, storedKey: unknown, key = storageKeyText(storedKey),
): { summary: CheckpointSummary } | { unreadable: UnreadableCheckpoint } {
  const unreadable = (problem: string) => ({ unreadable: { key, problem: oneLine(problem) } });
  try {
    if (typeof storedKey !== 'string') return unreadable(`its storage key is ${show(storedKey)}, not text`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return unreadable(`it is ${show(value)}, not a checkpoint summary`);
    const fields = v.safeParse(SummaryFieldsSchema, value, { abortEarly: true });
    if (!fields.success) {
      const issue = fields.issues[0];
      const field = issue.path?.map((p) => String(p.key)).join('.') ?? '';
      return unreadable(`${field || 'the summary'} ${issue.message}, got ${show(issue.input)}`);
    }
    const s = fields.output;
    if (s.key !== storedKey) return unreadable(`it names the key ${show(s.key)} but is stored under ${show(storedKey)}`);
    const config = (value as { config?: unknown }).config;
    const issue = studyConfigIssue(config);
    if (issue) return unreadable(`config: ${issue.message}`);
    const study = config as StudyConfig;
    if (s.step > study.steps) return unreadable(`step ${s.step} is beyond the study's ${study.steps} steps`);
    return { summary: { key: s.key, engine: s.engine, config: study, presetName: s.presetName, step: s.step, savedAt: s.savedAt, bytes: s.bytes, reason: s.reason } };
  } catch (error) {
    // A value the checks themselves cannot walk (a getter that throws is impossible after structured
    // cloning, but the page also checks what it is sent): unreadable, never a crash.
    return unreadable(`it cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Splits entries read from storage into checked summaries and unreadable ones. */
export function readCheckpointSummaries(
  entries: Iterable<[key: unknown, value: unknown]>, keyText: (key: unknown) => string = storageKeyText,
): { summaries: CheckpointSummary[]; unreadable: UnreadableCheckpoint[] } {
  const summaries: CheckpointSummary[] = [];
  const unreadable: UnreadableCheckpoint[] = [];
  for (const [key, value] of entries) {
    const read = readCheckpointSummary(value, key, keyText(key));
    if ('summary' in read) summaries.push(read.summary); else unreadable.push(read.unreadable);
  }
  return { summaries: summaries.sort((a, b) => b.savedAt - a.savedAt), unreadable };
}

/**
 * `npm run reproduce`: runs a named study unit by unit (resuming from the saved units), then writes
 * <out>/<study>[-quick]/study.json, report.md, summary.json and figures/*.svg.
 *
 * Layout of a study folder:
 *   units/unit-NN.json   one per unit (all arms × seedsPerUnit seeds), written atomically when the unit finishes
 *   study.json           the raw result: definition, command, every unit and run (the report's only input)
 *   summary.json         every number the report shows (analyseStudy(study.json))
 *   report.md, figures/  the report
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuContext } from '../gpu/context';
import { armLabel, runLabel } from '../util/palette';
import { computeEstimate, primaryEndpointOf, quickDefinition, studyDefinition, unitCount, type StudyDefinition } from './studies';
import { sequentialOfUnits, type SequentialRule } from './sequential';
import { trainUnit, unitKey, UNIT_FORMAT, type UnitProgress, type UnitRecord } from './runner';
import { trainFinetuneUnit } from './finetuneRunner';
import type { StudyConfig } from '../config/presets';
import type { HistoryPoint } from '../engine/types';
import { STUDY_FORMAT, type StudyRecord, type StudySummary } from './report';
import { writeReport } from './reportFiles';
import type { FinetuneSummary } from './finetuneReport';

export interface ReproduceOptions {
  study: string;
  quick: boolean;
  /** Root folder; the study goes to <out>/<study> (or <out>/<study>-quick). */
  out: string;
  /** The command line to record in the report. */
  command: string;
  ctx: GpuContext;
  log?: (line: string) => void;
  /**
   * Grow the seeds unit by unit until the primary endpoint is decided or this many seeds per arm are spent
   * (sequential.ts: O'Brien–Fleming-type α spending); replaces the study's own seedsPerArm.
   */
  seedsUntilDecided?: number;
  /**
   * Wall-clock budget (seconds) of this call: no unit starts once the time spent, plus the last unit's time
   * when one was trained, would pass it; then BudgetReached is thrown with every finished unit saved.
   */
  budgetSeconds?: number;
}

/** The budget stopped the study between units: what is saved resumes on the next call. */
export class BudgetReached extends Error {
  override name = 'BudgetReached';
  constructor(readonly dir: string, readonly nextUnit: number, readonly units: number, readonly trainedUnits: number[]) {
    super(`budget reached before unit ${nextUnit + 1}/${units} of ${dir}: ${trainedUnits.length} unit(s) trained in this call; the same command resumes`);
  }
}

/** Why --seeds-until-decided cannot run on a study, or null (one MEAP arm against NTP; whole units). */
export function seedsUntilDecidedIssue(d: StudyDefinition, max: number): string | null {
  if (d.config.finetune) return `--seeds-until-decided covers pretraining studies; ${d.name} is a fine-tuning study (grow its seedsPerArm instead)`;
  if (d.config.arms.length !== 2 || d.config.arms[0] !== 0) return `--seeds-until-decided needs a study of NTP and one MEAP arm; ${d.name} has arms ${d.config.arms.join(', ')}`;
  if (!(Number.isSafeInteger(max) && max >= d.seedsPerUnit && max % d.seedsPerUnit === 0)) {
    return `--seeds-until-decided must be a whole multiple of the study's ${d.seedsPerUnit} seed(s) per unit, got ${max}`;
  }
  return null;
}

export interface ReproduceResult {
  dir: string;
  definition: StudyDefinition;
  trainedUnits: number[];
  skippedUnits: number[];
  summary: StudySummary | FinetuneSummary;
  record: StudyRecord;
  wallMs: number;
}

export function studyDir(out: string, study: string, quick: boolean): string {
  return join(out, quick ? `${study}-quick` : study);
}

export function unitPath(dir: string, u: number): string {
  return join(dir, 'units', `unit-${String(u).padStart(2, '0')}.json`);
}

/** A saved unit if it exists, parses and matches the key; otherwise null and why. */
export function savedUnit(path: string, key: string): { unit: UnitRecord | null; reason: string } {
  if (!existsSync(path)) return { unit: null, reason: 'not run yet' };
  try {
    const unit = JSON.parse(readFileSync(path, 'utf8')) as UnitRecord;
    if (unit.format !== UNIT_FORMAT) return { unit: null, reason: `saved with format ${String(unit.format)}` };
    if (unit.key !== key) return { unit: null, reason: 'saved for a different configuration' };
    return { unit, reason: '' };
  } catch (error) {
    return { unit: null, reason: `unreadable (${(error as Error).message.split('\n')[0]})` };
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function progressLine(p: UnitProgress, units: number, arms: number[], startedMs: number, unitsLeftAfter: number): string {
  const parts = arms.map((ratio, arm) => {
    const mine = p.points.filter((_, r) => p.runs[r].arm === arm);
    const acc = mine.reduce((a, x) => a + x.retrievalAcc, 0) / mine.length;
    const loss = mine.reduce((a, x) => a + x.valLoss, 0) / mine.length;
    return `${armLabel(ratio)} ${(100 * acc).toFixed(1)}% / ${loss.toFixed(3)}`;
  });
  const elapsed = performance.now() - startedMs;
  const unitEta = (elapsed / p.step) * (p.steps - p.step);
  const totalEta = unitEta + unitsLeftAfter * (elapsed / p.step) * p.steps;
  const left = totalEta < 120_000 ? `${Math.ceil(totalEta / 1000)} s` : totalEta < 7_200_000 ? `${Math.ceil(totalEta / 60_000)} min` : `${(totalEta / 3_600_000).toFixed(1)} h`;
  return `unit ${p.unit + 1}/${units} step ${p.step}/${p.steps}: ${parts.join(' | ')} (acc / val loss; ` +
    `${Math.round(p.points[0].tokensPerSec)} tok/s; about ${left} left)`;
}

/** A fine-tuning unit's progress: the stage, step, and per arm exact match / token accuracy (means over seeds). */
function finetuneProgressLine(p: UnitProgress & { stage: 'pretrain' | 'finetune' }, units: number, config: StudyConfig): string {
  const arms = [...new Set(p.runs.map((r) => r.arm))];
  const parts = arms.map((arm) => {
    const mine = p.points.filter((_, r) => p.runs[r].arm === arm);
    const label = runLabel(p.runs.find((r) => r.arm === arm)!, config.arms);
    const avg = (f: (x: HistoryPoint) => number) => mine.reduce((a, x) => a + f(x), 0) / mine.length;
    return `${label} ${(100 * avg((x) => x.retrievalAcc)).toFixed(1)}% / ${(100 * avg((x) => x.tokenAcc ?? Number.NaN)).toFixed(1)}%`;
  });
  return `unit ${p.unit + 1}/${units} ${p.stage === 'pretrain' ? 'pretraining' : 'fine-tuning'} step ${p.step}/${p.steps}: ${parts.join(' | ')} ` +
    `(exact / answer tokens; ${Math.round(p.points[0].tokensPerSec)} tok/s)`;
}

/** The look after a unit: logs it and says whether the primary endpoint is decided. */
function lookDecides(units: UnitRecord[], d: StudyDefinition, rule: SequentialRule, log: (line: string) => void): boolean {
  const outcome = sequentialOfUnits(units, 1, 0, primaryEndpointOf(d).threshold, rule);
  const look = outcome.looks[outcome.looks.length - 1];
  log(`look ${outcome.looks.length}: ${look.seedsPerArm} seeds per arm, MEAP ${look.meap.k}/${look.meap.n} vs NTP ${look.ntp.k}/${look.ntp.n}, ` +
    `Fisher p = ${look.p.toPrecision(3)} vs this look's level ${look.level.toExponential(2)} → ${look.decided ? 'decided: stopping' : 'not decided'}`);
  return look.decided;
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const base = studyDefinition(o.study);
  const planned = o.quick ? quickDefinition(base) : base;
  let rule: SequentialRule | undefined;
  if (o.seedsUntilDecided !== undefined) {
    const issue = seedsUntilDecidedIssue(planned, o.seedsUntilDecided);
    if (issue) throw new RangeError(issue);
    rule = { maxSeedsPerArm: o.seedsUntilDecided, alpha: 0.05, spending: 'obrien-fleming' };
  }
  // With a sequential rule the study plans its maximum; the record keeps the seeds actually trained.
  let d: StudyDefinition = rule ? { ...planned, config: { ...planned.config, seedsPerArm: rule.maxSeedsPerArm }, sequential: rule } : planned;
  const dir = studyDir(o.out, d.name, o.quick);
  mkdirSync(join(dir, 'units'), { recursive: true });
  const n = unitCount(d);
  const est = computeEstimate(d);
  log(`${d.title}: ${d.config.arms.length} arms × ${d.config.seedsPerArm} seeds, ${d.config.steps} steps, ` +
    `${n} unit(s) of ${d.seedsPerUnit} seed(s); ≈ ${(est.trainFlops / 1e12).toFixed(2)} TFLOP training; writing ${dir}`);
  if (o.ctx.adapter.isFallbackAdapter && !o.quick) {
    log('note: this is a software adapter (no GPU); a full study may take days here. --quick runs a one-minute version.');
  }
  const units: UnitRecord[] = [];
  const trainedUnits: number[] = [];
  const skippedUnits: number[] = [];
  let lastTrainedMs = 0;
  for (let u = 0; u < n; u++) {
    const path = unitPath(dir, u);
    const { unit, reason } = savedUnit(path, unitKey(d, u, o.quick));
    if (unit) {
      log(`unit ${u + 1}/${n}: done earlier (${path}), skipped`);
      units.push(unit);
      skippedUnits.push(u);
      if (rule && lookDecides(units, d, rule, log)) break;
      continue;
    }
    if (o.budgetSeconds !== undefined) {
      const spent = (performance.now() - t0) / 1000;
      const last = lastTrainedMs / 1000;
      if (spent + last > o.budgetSeconds) {
        log(`unit ${u + 1}/${n}: not started — ${spent.toFixed(0)} s spent${last > 0 ? ` and the last unit took ${last.toFixed(0)} s` : ''}, budget ${o.budgetSeconds} s`);
        throw new BudgetReached(dir, u, n, trainedUnits);
      }
    }
    log(`unit ${u + 1}/${n}: ${reason}; training seeds ${u * d.seedsPerUnit}..${(u + 1) * d.seedsPerUnit - 1}`);
    const startedMs = performance.now();
    const record = d.config.finetune
      ? await trainFinetuneUnit(o.ctx, d, u, o.quick, (p) => log(finetuneProgressLine(p, n, d.config)))
      : await trainUnit(o.ctx, d, u, o.quick, (p) => log(progressLine(p, n, d.config.arms, startedMs, n - u - 1)));
    writeAtomically(path, JSON.stringify(record) + '\n');
    log(`unit ${u + 1}/${n}: finished in ${(record.wallMs / 1000).toFixed(1)} s → ${path}`);
    units.push(record);
    trainedUnits.push(u);
    lastTrainedMs = record.wallMs;
    if (rule && lookDecides(units, d, rule, log)) break;
  }
  if (rule) d = { ...d, config: { ...d.config, seedsPerArm: units.length * d.seedsPerUnit } };
  const assembled: StudyRecord = {
    format: STUDY_FORMAT, study: d.name, quick: o.quick, command: o.command, generatedAt: new Date().toISOString(), definition: d, units,
  };
  const text = JSON.stringify(assembled) + '\n';
  writeAtomically(join(dir, 'study.json'), text);
  // The report is computed from the JSON as written (NaN → null and all), so it can be recomputed from the file.
  const record = JSON.parse(text) as StudyRecord;
  const { summary } = writeReport(dir, record);
  log(`wrote ${join(dir, 'report.md')}`);
  log(`answer: ${summary.overall}`);
  return { dir, definition: d, trainedUnits, skippedUnits, summary, record, wallMs: performance.now() - t0 };
}

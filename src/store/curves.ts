/**
 * Every curve on the page as data (issue 16: CSV/JSON export): each run's training loss, validation loss,
 * retrieval accuracy and accuracy per evaluation bucket, gradient and weight norms, and the study's learning
 * rate and speed, exactly as the runs store
 * holds them (numbers written with full precision; a missing value is empty in CSV and null in JSON). One
 * row per (series, run, step): the charts' means and bands are computed from these. The optimisation series
 * have rows only where they were measured (an older Worker, or the steps before a resume, have none).
 */
import type { RunsState } from './runs';
import { runLabel } from '../util/palette';

export interface CurveRow {
  series: string;
  step: number;
  /** The run (study order), or null for series of the whole study (speed). */
  run: number | null;
  arm: string;
  maskRatio: number | null;
  seed: number | null;
  value: number | null;
}

type CurveSource = Pick<RunsState, 'study' | 'train' | 'evals' | 'speed'> & Partial<Pick<RunsState, 'optim'>>;

const finite = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

export function curveRows(s: CurveSource): CurveRow[] {
  const runs = s.study?.runs ?? [];
  const rows: CurveRow[] = [];
  const push = (series: string, r: number, step: number, value: number | null | undefined) => {
    const run = runs[r];
    rows.push({ series, step, run: r, arm: run ? runLabel(run, s.study?.config.arms) : `run ${r}`, maskRatio: run?.maskRatio ?? null, seed: run?.seed ?? null, value: finite(value) });
  };
  s.train.loss.forEach((losses, r) => s.train.steps.forEach((step, k) => push('train_loss', r, step, losses[k])));
  s.evals.points.forEach((points, r) => s.evals.steps.forEach((step, k) => {
    const p = points[k];
    if (!p) return;
    push('val_loss', r, step, p.valLoss);
    if (s.study?.task.bucketLabel !== '') {
      push('retrieval_acc', r, step, p.retrievalAcc);
      p.accByDepth.forEach((acc, b) => push(`acc_bucket_${b}`, r, step, acc));
    }
  }));
  s.optim?.gradNorm.forEach((norms, r) => s.train.steps.forEach((step, k) => {
    if (finite(norms[k]) !== null) push('grad_norm', r, step, norms[k]);
  }));
  s.optim?.weightNorm.forEach((norms, r) => s.evals.steps.forEach((step, k) => {
    if (finite(norms[k]) !== null) push('weight_norm', r, step, norms[k]);
  }));
  s.train.steps.forEach((step, k) => {
    const lr = finite(s.optim?.learningRate[k]);
    if (lr !== null) rows.push({ series: 'learning_rate', step, run: null, arm: 'all runs', maskRatio: null, seed: null, value: lr });
  });
  s.speed.steps.forEach((step, k) => {
    for (const [series, values] of [['tokens_per_s', s.speed.tokensPerSecond], ['ms_per_step', s.speed.msPerStep]] as const) {
      rows.push({ series, step, run: null, arm: 'all runs', maskRatio: null, seed: null, value: finite(values[k]) });
    }
  });
  return rows;
}

const COLUMNS: (keyof CurveRow)[] = ['series', 'step', 'run', 'arm', 'maskRatio', 'seed', 'value'];

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function curvesCsv(s: CurveSource): string {
  const lines = [COLUMNS.join(',')];
  for (const row of curveRows(s)) lines.push(COLUMNS.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}

export function curvesJson(s: CurveSource): string {
  return `${JSON.stringify({ config: s.study?.config ?? null, runs: s.study?.runs ?? [], bucketLabel: s.study?.task.bucketLabel ?? '', rows: curveRows(s) })}\n`;
}

/**
 * From per-run series to per-arm chart data: each arm's mean (bold), min–max over seeds (a band) and
 * every seed (thin lines). Non-finite values (a run that failed) are left out of the statistics.
 */
import type uPlot from 'uplot';
import { armColor, armLabel, runColor, runLabel, withAlpha } from '../../util/palette';
import type { ChartSpec, LineSpec } from './LiveChart';
import type { RunInfo } from '../../session/protocol';

export interface ArmGroup {
  arm: number;
  /** The arm's mask ratio (in a fine-tuning stage, its pretraining arm's). */
  ratio: number;
  label: string;
  color: string;
  /** Run indices of this arm, by seed. */
  runs: number[];
  /** The arm others are compared with: NTP (ratio 0), or SFT in a fine-tuning stage. */
  baseline: boolean;
  /** Fine-tuning stage only: the arm's variant. */
  finetune?: string;
}

/**
 * The study's arms: one per mask ratio in pretraining; in a fine-tuning stage one per (pretraining arm,
 * variant) — run.arm numbers them — labelled and coloured by variant (util/palette.ts runLabel / runColor).
 */
export function armGroups(runs: readonly RunInfo[], arms: readonly number[]): ArmGroup[] {
  const runsOf = (arm: number) => runs.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed).map((r) => runs.indexOf(r));
  if (runs.some((r) => r.finetune !== undefined)) {
    const ids = [...new Set(runs.map((r) => r.arm))].sort((a, b) => a - b);
    return ids.map((arm) => {
      const first = runs.find((r) => r.arm === arm)!;
      return {
        arm, ratio: first.maskRatio, label: runLabel(first, arms), color: runColor(first, arms), runs: runsOf(arm),
        baseline: first.finetune === 'sft', finetune: first.finetune,
      };
    });
  }
  return arms.map((ratio, arm) => ({
    arm, ratio, label: armLabel(ratio), color: armColor(ratio, arms), runs: runsOf(arm), baseline: ratio === 0,
  }));
}

export interface Stats { mean: number | null; min: number | null; max: number | null }

export function stats(values: readonly (number | null | undefined)[]): Stats {
  let sum = 0, count = 0, min = Infinity, max = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    sum += v; count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return count === 0 ? { mean: null, min: null, max: null } : { mean: sum / count, min, max };
}

/** Dash pattern of each arm's mean line, in arm order (the first, usually NTP, solid). */
export const ARM_DASHES: (number[] | null)[] = [null, [8, 4], [2, 3], [12, 3, 3, 3], [5, 5]];

/**
 * Lines of an arm chart: per arm [mean, (upper, lower, seed…) when it has several seeds], in arm order.
 * `bandKey` lets the caller include the seed count in the chart key.
 */
export function armLines(groups: readonly ArmGroup[]): { lines: LineSpec[]; bands: [number, number, string][] } {
  const lines: LineSpec[] = [];
  const bands: [number, number, string][] = [];
  groups.forEach((g, i) => {
    // Arms often coincide (step 0: same weights): a dash pattern per arm and shrinking dots keep each visible.
    const dash = ARM_DASHES[i % ARM_DASHES.length];
    lines.push({ label: g.label, color: g.color, role: 'mean', pointSize: Math.max(4, 11 - 3 * i), ...(dash ? { dash } : {}) });
    if (g.runs.length > 1) {
      const upper = lines.length;
      lines.push({ label: `${g.label} max`, color: g.color, role: 'bound' });
      lines.push({ label: `${g.label} min`, color: g.color, role: 'bound' });
      bands.push([upper, upper + 1, withAlpha(g.color, 0.14)]);
      g.runs.forEach((_, seed) => lines.push({ label: `${g.label} seed ${seed}`, color: g.color, role: 'seed' }));
    }
  });
  return { lines, bands };
}

/** Key of an arm chart's layout (arms and seeds); the chart is rebuilt when it changes. */
export function armKey(name: string, groups: readonly ArmGroup[]): string {
  return `${name}:${groups.map((g) => `${g.finetune ? `${g.label}:` : ''}${g.ratio}x${g.runs.length}`).join(',')}`;
}

/**
 * Data for `armLines`: x, then per arm the mean, upper, lower and seed columns. `value(run, k)` is run's
 * value at point k (null when missing).
 */
export function armData(
  xs: readonly number[], groups: readonly ArmGroup[], value: (run: number, k: number) => number | null | undefined,
): uPlot.AlignedData {
  const columns: (number | null)[][] = [];
  for (const g of groups) {
    const mean: (number | null)[] = [], upper: (number | null)[] = [], lower: (number | null)[] = [];
    const seeds: (number | null)[][] = g.runs.map(() => []);
    for (let k = 0; k < xs.length; k++) {
      const values = g.runs.map((r) => value(r, k));
      const s = stats(values);
      mean.push(s.mean); upper.push(s.max); lower.push(s.min);
      values.forEach((v, i) => seeds[i].push(v === undefined || v === null || !Number.isFinite(v) ? null : v));
    }
    columns.push(mean);
    if (g.runs.length > 1) columns.push(upper, lower, ...seeds);
  }
  return [xs as number[], ...columns] as uPlot.AlignedData;
}

/** Spec of the usual arm chart. */
export function armChartSpec(
  name: string, groups: readonly ArmGroup[], rest: Omit<ChartSpec, 'key' | 'lines' | 'bands'>,
): ChartSpec {
  return { key: armKey(name, groups), ...armLines(groups), ...rest };
}

/** First and latest mean of each arm (for summaries and tests). */
export function armEnds(data: uPlot.AlignedData, spec: ChartSpec): { label: string; first: number | null; last: number | null; points: number }[] {
  const out: { label: string; first: number | null; last: number | null; points: number }[] = [];
  spec.lines.forEach((line, k) => {
    if (line.role !== 'mean') return;
    const column = data[k + 1] as (number | null)[];
    const finite = column.filter((v): v is number => v !== null && Number.isFinite(v));
    out.push({ label: line.label, first: finite[0] ?? null, last: finite[finite.length - 1] ?? null, points: finite.length });
  });
  return out;
}

/**
 * Exponential moving average of every series column (x untouched): y'ₖ = α·y'ₖ₋₁ + (1 − α)·yₖ over the
 * column's finite values, missing points stay missing. α = 0 returns the data as it is.
 */
export function smoothed(data: uPlot.AlignedData, alpha: number): uPlot.AlignedData {
  if (!(alpha > 0)) return data;
  return [data[0], ...data.slice(1).map((column) => {
    let previous: number | null = null;
    return Array.from(column as ArrayLike<number | null>, (v) => {
      if (v === null || v === undefined || !Number.isFinite(v)) return null;
      previous = previous === null ? v : alpha * previous + (1 - alpha) * v;
      return previous;
    });
  })] as uPlot.AlignedData;
}

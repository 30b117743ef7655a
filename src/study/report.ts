/**
 * From a study's raw result (study.json) to its report: the statistics (analyseStudy, pure and
 * deterministic: every bootstrap and permutation draws from a seed derived from the study, metric and
 * arm) and their rendering (renderMarkdown, figures; reportFiles.ts writes them to a folder). Every number in
 * the report comes from analyseStudy(study.json), so it can be recomputed from the committed JSON. Pure and
 * free of Node APIs: the page's report view uses the same functions on the user's own run.
 */
import type { StudyConfig } from '../config/presets';
import { deriveSeed } from '../util/seeds';
import { armColor, armLabel } from '../util/palette';
import {
  bootstrapDiffCI, bootstrapMeanCI, estimate, finite, learnedSummary, mean, permutationTest,
  type Estimate, type Interval, type LearnedSummary, type PermutationResult,
} from './stats';
import { barChart, lineChart, stripChart, type BandSeries, type LineSeries } from './svg';
import { computeEstimate, type StudyDefinition } from './studies';
import type { RunRecord, UnitRecord } from './records';
import type { HistoryPoint } from '../engine/types';
import type { AttentionRecord } from '../engine/modelAnalysis';

export const STUDY_FORMAT = 'meap-study/1';

/** The raw result of a study: what reports/<study>/study.json holds. */
export interface StudyRecord {
  format: typeof STUDY_FORMAT;
  study: string;
  quick: boolean;
  /** The exact command that produced it. */
  command: string;
  /** When the report was assembled (ISO 8601). */
  generatedAt: string;
  definition: StudyDefinition;
  /** The units, each with its adapter, dates, wall time and runs. */
  units: UnitRecord[];
}

/** The paper's numbers (arXiv 2502.07490) shown beside ours. */
export const PAPER = {
  segmentMass: {
    ntp: [0.731, 0.094, null, null] as (number | null)[],
    meap: [0.491, 0.345, null, null] as (number | null)[],
  },
  scoreDecay: -0.53,
  needleAccuracy: 'needle-in-a-haystack, 1.1B model: NTP 52.8% → MEAP 85.8% at 60B tokens (65.9 → 80.2 at 40B, 87.1 → 98.2 at 200B)',
};

export type Metric = 'finalAcc' | 'meanAcc' | 'finalValLoss';
export const METRICS: Record<Metric, { title: string; higherIsBetter: boolean; unit: 'pct' | 'loss' }> = {
  finalAcc: { title: 'final retrieval accuracy', higherIsBetter: true, unit: 'pct' },
  meanAcc: { title: 'mean retrieval accuracy over training (area under the curve: how soon)', higherIsBetter: true, unit: 'pct' },
  finalValLoss: { title: 'final clean validation loss', higherIsBetter: false, unit: 'loss' },
};

/** Seed of every bootstrap / permutation draw in the report: a function of (study, what, arm). */
export function statSeed(study: string, what: string, arm: number): number {
  return deriveSeed('report', study, what, arm);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN;
}

export interface StepBand { step: number; mean: number; lo: number; hi: number }

export interface ArmAttention {
  segmentMass: Estimate[];
  scoreDecay: Estimate;
  varianceIncrease: Estimate;
  onMaskedClean: Estimate;
  onMaskedMasked: Estimate;
  meanEntropy: Estimate;
  /** [layer][head] mean over seeds. */
  headEntropy: number[][];
  uniformEntropy: number;
}

export interface ArmSummary {
  arm: number;
  maskRatio: number;
  label: string;
  colour: string;
  seeds: number[];
  finalStep: number;
  finalAcc: Estimate;
  meanAcc: Estimate;
  finalValLoss: Estimate;
  learned: LearnedSummary;
  accuracyBySteps: StepBand[];
  valLossBySteps: StepBand[];
  /** Final accuracy per depth bucket. */
  depth: Estimate[];
  /** Null when the runs' attention was not analysed (the page's report before "Analyse attention"). */
  attention: ArmAttention | null;
}

export type Verdict = 'helped' | 'hurt' | 'no detectable difference' | 'too few seeds for a claim';

export interface Comparison {
  arm: number;
  label: string;
  metric: Metric;
  /** mean(MEAP arm) − mean(NTP) with its bootstrap 95 % CI. */
  diff: Interval;
  test: PermutationResult;
  n: [number, number];
  verdict: Verdict;
}

export interface StudySummary {
  study: string;
  quick: boolean;
  arms: ArmSummary[];
  comparisons: Comparison[];
  /** One sentence per MEAP arm and the overall answer. */
  verdictLines: string[];
  overall: string;
}

export function allRuns(record: StudyRecord): RunRecord[] {
  return record.units.flatMap((u) => u.runs).sort((a, b) => a.arm - b.arm || a.seed - b.seed);
}

function stepBands(study: string, what: string, arm: number, histories: HistoryPoint[][], value: (p: HistoryPoint) => number): StepBand[] {
  if (histories.length === 0) return [];
  return histories[0].map((point, k) => {
    const values = finite(histories.map((h) => num(value(h[k]))));
    const ci = bootstrapMeanCI(values, { seed: statSeed(study, `${what}@${point.step}`, arm) });
    return { step: point.step, mean: mean(values), lo: ci.lo, hi: ci.hi };
  });
}

function armAttention(study: string, arm: number, allMine: RunRecord[]): ArmAttention | null {
  const runs = allMine.filter((r): r is RunRecord & { attention: AttentionRecord } => r.attention !== null);
  if (runs.length === 0) return null;
  const segments = runs[0].attention.segmentNames.length;
  const L = runs[0].attention.headEntropy.length, H = runs[0].attention.headEntropy[0]?.length ?? 0;
  const meanEntropyOf = (r: (typeof runs)[number]) => mean(r.attention.headEntropy.flat().map(num));
  return {
    segmentMass: Array.from({ length: segments }, (_, s) => estimate(runs.map((r) => num(r.attention.segmentMass[s])), statSeed(study, `mass${s}`, arm))),
    scoreDecay: estimate(runs.map((r) => num(r.attention.scoreDecay)), statSeed(study, 'scoreDecay', arm)),
    varianceIncrease: estimate(runs.map((r) => num(r.attention.varianceIncrease)), statSeed(study, 'varianceIncrease', arm)),
    onMaskedClean: estimate(runs.map((r) => num(r.attention.onMaskedClean)), statSeed(study, 'onMaskedClean', arm)),
    onMaskedMasked: estimate(runs.map((r) => num(r.attention.onMaskedMasked)), statSeed(study, 'onMaskedMasked', arm)),
    meanEntropy: estimate(runs.map(meanEntropyOf), statSeed(study, 'entropy', arm)),
    headEntropy: Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => mean(finite(runs.map((r) => num(r.attention.headEntropy[l][h])))))),
    uniformEntropy: runs[0].attention.uniformEntropy,
  };
}

/** Per-run value of a metric (from its history). */
export function metricValue(run: RunRecord, metric: Metric): number {
  const h = run.history;
  const last = h[h.length - 1];
  switch (metric) {
    case 'finalAcc': return num(last?.retrievalAcc);
    case 'finalValLoss': return num(last?.valLoss);
    case 'meanAcc': return mean(h.map((p) => num(p.retrievalAcc)));
  }
}

function verdictOf(metric: Metric, diff: Interval, test: PermutationResult, n: [number, number], seedsForClaim: number): Verdict {
  if (n[0] < seedsForClaim || n[1] < seedsForClaim) return 'too few seeds for a claim';
  const better = METRICS[metric].higherIsBetter ? diff.estimate : -diff.estimate;
  const excludesZero = diff.lo > 0 || diff.hi < 0;
  if (test.p < 0.05 && excludesZero) return better > 0 ? 'helped' : 'hurt';
  return 'no detectable difference';
}

/** All statistics of the report, from the raw record alone. */
export function analyseStudy(record: StudyRecord): StudySummary {
  const d = record.definition;
  const study = record.study;
  const runs = allRuns(record);
  const ratios = d.config.arms;
  const arms: ArmSummary[] = ratios.map((maskRatio, arm) => {
    const mine = runs.filter((r) => r.arm === arm);
    if (mine.length === 0) throw new RangeError(`study ${study}: arm ${arm} has no runs`);
    const histories = mine.map((r) => r.history);
    const buckets = mine[0].history[mine[0].history.length - 1]?.accByDepth.length ?? 0;
    return {
      arm, maskRatio, label: armLabel(maskRatio), colour: armColor(maskRatio, ratios),
      seeds: mine.map((r) => r.seed),
      finalStep: mine[0].history[mine[0].history.length - 1]?.step ?? 0,
      finalAcc: estimate(mine.map((r) => metricValue(r, 'finalAcc')), statSeed(study, 'finalAcc', arm)),
      meanAcc: estimate(mine.map((r) => metricValue(r, 'meanAcc')), statSeed(study, 'meanAcc', arm)),
      finalValLoss: estimate(mine.map((r) => metricValue(r, 'finalValLoss')), statSeed(study, 'finalValLoss', arm)),
      learned: learnedSummary(histories.map((h) => h.map((p) => ({ step: p.step, retrievalAcc: num(p.retrievalAcc) }))), d.learnedThreshold),
      accuracyBySteps: stepBands(study, 'acc', arm, histories, (p) => p.retrievalAcc),
      valLossBySteps: stepBands(study, 'valLoss', arm, histories, (p) => p.valLoss),
      depth: Array.from({ length: buckets }, (_, b) => estimate(mine.map((r) => num(r.history[r.history.length - 1].accByDepth[b])), statSeed(study, `depth${b}`, arm))),
      attention: armAttention(study, arm, mine),
    };
  });
  const ntp = arms.find((a) => a.maskRatio === 0);
  const comparisons: Comparison[] = [];
  if (ntp) {
    const ntpRuns = runs.filter((r) => r.arm === ntp.arm);
    for (const a of arms) {
      if (a === ntp) continue;
      const mine = runs.filter((r) => r.arm === a.arm);
      for (const metric of Object.keys(METRICS) as Metric[]) {
        const x = finite(mine.map((r) => metricValue(r, metric)));
        const y = finite(ntpRuns.map((r) => metricValue(r, metric)));
        const diff = bootstrapDiffCI(x, y, { seed: statSeed(study, `diff:${metric}`, a.arm) });
        const test = permutationTest(x, y, { seed: statSeed(study, `perm:${metric}`, a.arm) });
        const n: [number, number] = [x.length, y.length];
        comparisons.push({ arm: a.arm, label: a.label, metric, diff, test, n, verdict: verdictOf(metric, diff, test, n, d.seedsForClaim) });
      }
    }
  }
  const verdictLines = comparisons.filter((c) => c.metric === 'finalAcc').map((c) => {
    const speed = comparisons.find((k) => k.arm === c.arm && k.metric === 'meanAcc')!;
    return `${c.label} vs NTP: final retrieval accuracy ${formatPoints(c.diff.estimate)} ${formatPointsInterval(c.diff)}, p = ${formatP(c.test.p)} → **${c.verdict}**; ` +
      `mean accuracy over training ${formatPoints(speed.diff.estimate)} ${formatPointsInterval(speed.diff)}, p = ${formatP(speed.test.p)} → ${speed.verdict}.`;
  });
  return { study, quick: record.quick, arms, comparisons, verdictLines, overall: overallAnswer(record, comparisons) };
}

function overallAnswer(record: StudyRecord, comparisons: Comparison[]): string {
  const d = record.definition;
  const seeds = d.config.seedsPerArm;
  const primary = comparisons.filter((c) => c.metric === 'finalAcc' || c.metric === 'meanAcc');
  if (record.quick) {
    return `Quick run (${seeds} seeds per arm, ${d.config.steps} steps, the tiny model): a smoke test of the pipeline. ` +
      'Its numbers carry no evidence either way; run the study without --quick for an answer.';
  }
  if (primary.length === 0) return 'The study has no NTP arm to compare with.';
  if (primary.some((c) => c.verdict === 'too few seeds for a claim')) {
    return `Too few seeds for a claim (${seeds} per arm; at least ${d.seedsForClaim} are needed): the numbers are shown, not judged.`;
  }
  const helped = [...new Set(primary.filter((c) => c.verdict === 'helped').map((c) => c.label))];
  const hurt = [...new Set(primary.filter((c) => c.verdict === 'hurt').map((c) => c.label))];
  const scale = `at this scale (${seeds} seeds per arm, ${d.config.steps} steps)`;
  if (helped.length > 0 && hurt.length === 0) return `MEAP helped retrieval ${scale}: ${helped.join(', ')} beat NTP (p < 0.05, 95% CI excluding 0).`;
  if (hurt.length > 0 && helped.length === 0) return `MEAP hurt retrieval ${scale}: ${hurt.join(', ')} fell behind NTP (p < 0.05, 95% CI excluding 0).`;
  if (helped.length > 0 && hurt.length > 0) return `Mixed ${scale}: ${helped.join(', ')} helped, ${hurt.join(', ')} hurt (p < 0.05 each).`;
  return `MEAP did nothing detectable for retrieval ${scale}: no arm differs from NTP in final or mean accuracy (all p ≥ 0.05 or 95% CIs including 0).`;
}

// ───────────────────────────── formatting ─────────────────────────────

export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a';
}

export function formatPoints(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pts` : 'n/a';
}

function signedPercent(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}%` : 'n/a';
}

export function formatLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : 'n/a';
}

function signedLoss(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : 'n/a';
}

export function formatP(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

/** "43.8% [31.2%, 56.3%]". */
export function formatPercentEstimate(e: { mean: number; lo: number; hi: number }): string {
  return `${formatPercent(e.mean)} [${formatPercent(e.lo)}, ${formatPercent(e.hi)}]`;
}

export function formatLossEstimate(e: { mean: number; lo: number; hi: number }): string {
  return `${formatLoss(e.mean)} [${formatLoss(e.lo)}, ${formatLoss(e.hi)}]`;
}

export function formatPointsInterval(i: Interval): string {
  return `[${formatPoints(i.lo)}, ${formatPoints(i.hi)}]`;
}

function formatDiff(metric: Metric, i: Interval): string {
  return METRICS[metric].unit === 'pct'
    ? `${formatPoints(i.estimate)} ${formatPointsInterval(i)}`
    : `${signedLoss(i.estimate)} [${signedLoss(i.lo)}, ${signedLoss(i.hi)}]`;
}

function formatEntropy(e: Estimate): string {
  return `${e.mean.toFixed(3)} [${e.lo.toFixed(3)}, ${e.hi.toFixed(3)}]`;
}

function bucketName(b: number, buckets: number): string {
  return `${Math.round((100 * b) / buckets)}–${Math.round((100 * (b + 1)) / buckets)}%`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

function flops(x: number): string {
  return x >= 1e12 ? `${(x / 1e12).toFixed(1)} TFLOP` : `${(x / 1e9).toFixed(1)} GFLOP`;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// ───────────────────────────── figures ─────────────────────────────

const pctAxis = (v: number) => `${Math.round(v * 100)}%`;

/** A domain around the values with a margin (for losses, whose differences vanish on an axis from 0). */
function zoomed(values: number[]): { min: number; max: number } | undefined {
  const xs = finite(values);
  if (xs.length === 0) return undefined;
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const margin = Math.max((hi - lo) * 0.5, Math.abs(hi) * 0.002, 1e-6);
  return { min: lo - margin, max: hi + margin };
}

/** Every arm with its attention summary, or null unless every arm's attention was analysed. */
export function attentionOfEveryArm(s: StudySummary): { arm: ArmSummary; attention: ArmAttention }[] | null {
  if (s.arms.some((a) => a.attention === null)) return null;
  return s.arms.map((a) => ({ arm: a, attention: a.attention! }));
}

/** The first run's attention record (for the segment names and the examples analysed). */
function attentionRecordOf(record: StudyRecord): AttentionRecord | null {
  return allRuns(record).find((r) => r.attention !== null)?.attention ?? null;
}

export function figures(record: StudyRecord, s: StudySummary): Record<string, string> {
  const d = record.definition;
  const runs = allRuns(record);
  const out: Record<string, string> = {};
  const steps = d.config.steps;

  const thin: LineSeries[] = runs.map((r) => ({
    label: `seed ${r.seed}`, colour: s.arms[r.arm].colour, width: 1, opacity: 0.35, hideInLegend: true,
    points: r.history.map((p) => ({ x: p.step, y: num(p.retrievalAcc) })),
  }));
  const bands: BandSeries[] = s.arms.map((a) => ({ colour: a.colour, points: a.accuracyBySteps.map((b) => ({ x: b.step, lo: b.lo, hi: b.hi })) }));
  out['accuracy.svg'] = lineChart({
    title: `${record.study}: retrieval accuracy vs step`, xLabel: 'training step', yLabel: 'retrieval accuracy',
    series: [...thin, ...s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 3, points: a.accuracyBySteps.map((b) => ({ x: b.step, y: b.mean })) }))],
    bands, xDomain: { min: 0, max: steps }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
    notes: ['thin: one seed', 'bold: mean over seeds', 'band: 95% bootstrap CI'],
  });

  out['valloss.svg'] = lineChart({
    title: `${record.study}: clean validation loss vs step`, xLabel: 'training step', yLabel: 'validation loss (nats/token)',
    series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, points: a.valLossBySteps.map((b) => ({ x: b.step, y: b.mean })) })),
    bands: s.arms.map((a) => ({ colour: a.colour, points: a.valLossBySteps.map((b) => ({ x: b.step, lo: b.lo, hi: b.hi })) })),
    xDomain: { min: 0, max: steps }, notes: ['mean over seeds', 'band: 95% bootstrap CI'],
  });

  out['learned-share.svg'] = lineChart({
    title: `${record.study}: share of seeds that learned retrieval (accuracy ≥ ${formatPercent(d.learnedThreshold)})`,
    xLabel: 'training step', yLabel: 'share of seeds',
    series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, step: true, points: a.learned.steps.map((x, k) => ({ x, y: a.learned.share[k] })) })),
    xDomain: { min: 0, max: steps }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
  });

  out['learned-steps.svg'] = stripChart({
    title: `${record.study}: step at which each seed learned retrieval`, xLabel: 'first evaluated step with accuracy ≥ threshold',
    xDomain: { min: 0, max: steps },
    rows: s.arms.map((a) => ({
      label: a.label, colour: a.colour, values: a.learned.learnedSteps.filter((x): x is number => x !== null),
      note: `never: ${a.learned.total - a.learned.learnedCount} of ${a.learned.total}`,
    })),
  });

  const estBars = (title: string, yLabel: string, pick: (a: ArmSummary) => Estimate, pct: boolean) => barChart({
    title, yLabel, categories: s.arms.map((a) => a.label),
    groups: [{
      label: 'mean', colour: '#6b7280', colours: s.arms.map((a) => a.colour),
      values: s.arms.map((a) => pick(a).mean), lo: s.arms.map((a) => pick(a).lo), hi: s.arms.map((a) => pick(a).hi),
    }],
    yDomain: pct ? { min: 0, max: 1 } : zoomed(s.arms.flatMap((a) => [pick(a).lo, pick(a).hi, pick(a).mean])),
    yFormat: pct ? pctAxis : undefined,
    notes: ['bar: mean over seeds', 'error bar: 95% CI', ...(pct ? [] : ['(axis zoomed: not from 0)'])],
  });
  out['final-accuracy.svg'] = estBars(`${record.study}: final retrieval accuracy per arm`, 'retrieval accuracy', (a) => a.finalAcc, true);
  out['final-valloss.svg'] = estBars(`${record.study}: final clean validation loss per arm`, 'validation loss', (a) => a.finalValLoss, false);

  const accDiffs = s.comparisons.filter((c) => c.metric === 'finalAcc');
  const aucDiffs = s.comparisons.filter((c) => c.metric === 'meanAcc');
  out['difference.svg'] = barChart({
    title: `${record.study}: MEAP − NTP retrieval accuracy (95% CI)`, yLabel: 'difference (accuracy points)',
    categories: accDiffs.map((c) => c.label),
    groups: [
      { label: 'final accuracy', colour: '#d97706', values: accDiffs.map((c) => c.diff.estimate), lo: accDiffs.map((c) => c.diff.lo), hi: accDiffs.map((c) => c.diff.hi) },
      { label: 'mean over training', colour: '#9ca3af', values: aucDiffs.map((c) => c.diff.estimate), lo: aucDiffs.map((c) => c.diff.lo), hi: aucDiffs.map((c) => c.diff.hi) },
    ],
    yFormat: (v) => `${Math.round(v * 100)}`,
    notes: accDiffs.map((c) => `${c.label}: p = ${formatP(c.test.p)}`),
  });

  const buckets = s.arms[0].depth.length;
  out['depth.svg'] = lineChart({
    title: `${record.study}: final accuracy by ${d.bucketLabel}`, xLabel: d.bucketLabel, yLabel: 'retrieval accuracy',
    series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, markers: true, points: a.depth.map((e, b) => ({ x: b, y: e.mean })) })),
    bands: s.arms.map((a) => ({ colour: a.colour, points: a.depth.map((e, b) => ({ x: b, lo: e.lo, hi: e.hi })) })),
    xDomain: { min: -0.3, max: Math.max(0.3, buckets - 0.7) }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
    xTicks: Array.from({ length: buckets }, (_, b) => ({ value: b, label: bucketName(b, buckets) })),
    notes: ['mean over seeds', 'band: 95% bootstrap CI'],
  });

  const analysed = attentionOfEveryArm(s);
  if (!analysed) return out;
  const names = attentionRecordOf(record)!.segmentNames;
  const ntpArm = s.arms.find((a) => a.maskRatio === 0);
  const meapArm = s.arms.find((a) => Math.abs(a.maskRatio - 0.15) < 1e-9) ?? s.arms.find((a) => a.maskRatio > 0);
  out['attention-mass.svg'] = barChart({
    title: `${record.study}: attention mass from the answer position, by segment`, yLabel: 'share of attention',
    categories: names,
    groups: [
      ...analysed.map(({ arm: a, attention }) => ({
        label: a.label, colour: a.colour, values: attention.segmentMass.map((e) => e.mean),
        lo: attention.segmentMass.map((e) => e.lo), hi: attention.segmentMass.map((e) => e.hi),
      })),
      ...(ntpArm ? [{ label: 'paper NTP (1.1B)', colour: ntpArm.colour, opacity: 0.3, values: PAPER.segmentMass.ntp }] : []),
      ...(meapArm ? [{ label: 'paper MEAP (1.1B)', colour: meapArm.colour, opacity: 0.3, values: PAPER.segmentMass.meap }] : []),
    ],
    yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
  });
  return out;
}

// ───────────────────────────── markdown ─────────────────────────────

function taskLine(c: StudyConfig): string {
  if (c.task === 'text') {
    const source = (c as StudyConfig<'text'>).taskOptions.source;
    return source.kind === 'generated'
      ? `text: character-level language modelling on the generated corpus (seed ${source.seed}, ${source.documents} documents), vocabulary ${c.model.vocabSize}`
      : `text: character-level language modelling on a user text, vocabulary ${c.model.vocabSize}`;
  }
  return `${c.task} \`${JSON.stringify(c.taskOptions)}\``;
}

function configLines(record: StudyRecord): string[] {
  const d = record.definition;
  const c: StudyConfig = d.config;
  const m = c.model;
  const est = computeEstimate(d);
  const wallMs = record.units.reduce((a, u) => a + u.wallMs, 0);
  const adapters = [...new Set(record.units.map((u) => u.adapter))];
  const runs = allRuns(record);
  const tps = mean(finite(runs.flatMap((r) => r.history.map((p) => num(p.tokensPerSec)))));
  const dates = record.units.map((u) => u.finishedAt).sort();
  return [
    `- **Command:** \`${record.command}\``,
    `- **Adapter${adapters.length > 1 ? 's' : ''}:** ${adapters.join('; ')}`,
    `- **Date:** report assembled ${record.generatedAt}; units finished ${dates[0] ?? '—'}${dates.length > 1 ? ` … ${dates[dates.length - 1]}` : ''}`,
    `- **Task:** ${taskLine(c)}`,
    `- **Model:** ${m.layers} layers, d = ${m.dModel}, ${m.heads} heads, d_ff = ${m.dFF}, vocabulary ${m.vocabSize}, T = ${m.context}; ` +
      `${est.parameters.toLocaleString('en-US')} parameters`,
    `- **Training:** ${c.steps} steps × batch ${c.batch} (${est.tokensPerRun.toLocaleString('en-US')} tokens per run), AdamW lr ${c.optimizer.lr} ` +
      `(warm-up ${c.optimizer.warmupSteps}, cosine to ${c.optimizer.minLrRatio}×), weight decay ${c.optimizer.weightDecay}, clip ${c.optimizer.maxGradNorm}, ` +
      `${c.sharedMask ? 'one mask per batch' : 'masks drawn per sequence'}${c.protectQuery ? ', the final query never masked (protectQuery)' : ''}`,
    `- **Arms:** ${c.arms.map((r) => armLabel(r)).join(', ')}; **${c.seedsPerArm} seeds per arm** (${est.runs} runs); ` +
      `every arm of a seed starts from the same weights and sees the same batches`,
    c.zeroShotProbe
      ? `- **Evaluation:** every ${c.evaluation.every} steps, clean inputs: validation loss on ${c.evaluation.count} held-out corpus windows; retrieval = ` +
        `zero-shot exact match (greedy decoding of the whole answer) on ${c.zeroShotProbe.count} text-needle prompts (${c.zeroShotProbe.buckets} ${d.bucketLabel} buckets, ` +
        `src/data/textProbe.ts), never trained on; "learned" = accuracy ≥ ${formatPercent(d.learnedThreshold)}`
      : `- **Evaluation:** every ${c.evaluation.every} steps on ${c.evaluation.count} held-out examples (${c.evaluation.buckets} ${d.bucketLabel} buckets), clean inputs, greedy answer; ` +
        `"learned" = accuracy ≥ ${formatPercent(d.learnedThreshold)}`,
    `- **Compute:** ≈ ${flops(est.trainFlops)} training + ${flops(est.evalFlops)} evaluation (estimate); wall time ${duration(wallMs)} over ${record.units.length} unit(s); ` +
      `mean ${Math.round(tps).toLocaleString('en-US')} training tokens/s`,
  ];
}

/** The attention section's lines (every arm analysed). */
function attentionSection(
  record: StudyRecord, s: StudySummary, analysed: { arm: ArmSummary; attention: ArmAttention }[], first: AttentionRecord,
): string[] {
  const d = record.definition;
  const out: string[] = [];
  const names = first.segmentNames;
  out.push(`After training, every model sees the same ${first.examples.length} ${d.config.zeroShotProbe ? 'probe prompts' : 'evaluation examples'} (clean input). ` +
    'Segment mass: share of attention from the answer-generating position to each segment, mean over layers and heads. ' +
    'Paired analysis: the same model with 15% of the context positions masked (never the query); score decay = relative change of the mean ' +
    'attention on the masked keys, variance change = relative change of the variance of attention over the unmasked keys. ' +
    'Mean over seeds [95% bootstrap CI]. The paper measured a 1.1B model on real text.', '');
  const ntpArm = s.arms.find((a) => a.maskRatio === 0);
  const paperCols = ['paper NTP', 'paper MEAP'];
  const rows: string[][] = names.map((name, k) => [
    `attention on ${name}`, ...analysed.map(({ attention }) => formatPercentEstimate(attention.segmentMass[k])),
    PAPER.segmentMass.ntp[k] === null ? '—' : formatPercent(PAPER.segmentMass.ntp[k]!),
    PAPER.segmentMass.meap[k] === null ? '—' : formatPercent(PAPER.segmentMass.meap[k]!),
  ]);
  const signedEst = (e: Estimate) => `${signedPercent(e.mean)} [${signedPercent(e.lo)}, ${signedPercent(e.hi)}]`;
  rows.push(['score decay on masked keys (masked vs clean input)', ...analysed.map(({ attention }) => signedEst(attention.scoreDecay)), '—', `≈ ${signedPercent(PAPER.scoreDecay)}`]);
  rows.push(['variance change over unmasked keys', ...analysed.map(({ attention }) => signedEst(attention.varianceIncrease)), '—', 'increase']);
  rows.push([`mean head entropy (nats; uniform = ${analysed[0].attention.uniformEntropy.toFixed(3)})`, ...analysed.map(({ attention }) => formatEntropy(attention.meanEntropy)), '—', '—']);
  out.push(table(['measure', ...s.arms.map((a) => a.label), ...paperCols], rows), '');
  if (ntpArm) {
    const needle = names.indexOf('needle');
    const meap = analysed.filter(({ arm }) => arm.maskRatio > 0);
    if (needle >= 0 && meap.length > 0) {
      const ours = meap.map(({ arm, attention }) => `${arm.label} ${formatPercent(attention.segmentMass[needle].mean)}`).join(', ');
      out.push(`Needle mass here: NTP ${formatPercent(ntpArm.attention!.segmentMass[needle].mean)} vs ${ours} (paper: 9.4% vs 34.5%).`, '');
    }
  }
  out.push('![attention mass by segment](figures/attention-mass.svg)', '');
  const L = analysed[0].attention.headEntropy.length, H = analysed[0].attention.headEntropy[0]?.length ?? 0;
  out.push('Per-head entropy (nats, clean input, mean over seeds):', '');
  out.push(table(['head', ...s.arms.map((a) => a.label)], Array.from({ length: L * H }, (_, k) => {
    const l = Math.floor(k / H), h = k % H;
    return [`layer ${l} head ${h}`, ...analysed.map(({ attention }) => attention.headEntropy[l][h].toFixed(3))];
  })), '');
  return out;
}

export function renderMarkdown(record: StudyRecord, s: StudySummary): string {
  const d = record.definition;
  const lines: string[] = [];
  lines.push(`# ${d.title}`, '');
  if (record.quick) {
    lines.push('> **Quick run.** The tiny model, 2 seeds per arm and a few dozen steps: this checks that the pipeline works end to end. ' +
      'Its numbers are not evidence for or against MEAP.', '');
  }
  lines.push(`**Question.** ${d.question}`, '');
  lines.push(`**Answer at this scale.** ${s.overall}`, '');
  for (const v of s.verdictLines) lines.push(`- ${v}`);
  lines.push('', `For comparison, the paper (arXiv 2502.07490): ${PAPER.needleAccuracy}; attention mass on the needle 9.4% (NTP) → 34.5% (MEAP).`, '');

  lines.push('## Setup', '', ...configLines(record), '');

  lines.push('## Retrieval accuracy over training', '', '![retrieval accuracy vs step](figures/accuracy.svg)', '',
    '![clean validation loss vs step](figures/valloss.svg)', '');

  lines.push('## When retrieval is learned', '');
  lines.push(table(['arm', 'seeds that learned', 'median learned step', 'learned steps (per seed)'], s.arms.map((a) => [
    a.label, `${a.learned.learnedCount} of ${a.learned.total}`, a.learned.medianLearnedStep === null ? '—' : String(a.learned.medianLearnedStep),
    a.learned.learnedSteps.map((x) => (x === null ? 'never' : String(x))).join(', '),
  ])), '');
  lines.push('![share of seeds learned by step](figures/learned-share.svg)', '', '![learned steps](figures/learned-steps.svg)', '');

  lines.push('## Final accuracy and clean validation loss per arm', '');
  lines.push(`Mean over seeds [95% bootstrap CI] at step ${s.arms[0].finalStep}; n = seeds with a finite value.`, '');
  lines.push(table(['arm', 'n', 'final retrieval accuracy', 'mean accuracy over training', 'final clean val loss', 'std (accuracy)'], s.arms.map((a) => [
    a.label, String(a.finalAcc.n), formatPercentEstimate(a.finalAcc), formatPercentEstimate(a.meanAcc), formatLossEstimate(a.finalValLoss),
    Number.isFinite(a.finalAcc.std) ? `${(100 * a.finalAcc.std).toFixed(1)} pts` : 'n/a',
  ])), '');
  lines.push('![final accuracy](figures/final-accuracy.svg)', '', '![final validation loss](figures/final-valloss.svg)', '');

  lines.push('## MEAP − NTP', '');
  lines.push('Difference of means (MEAP arm − NTP) with its 95% bootstrap CI and a two-sided permutation-test p-value; ' +
    `a verdict needs p < 0.05, a CI excluding 0 and ≥ ${d.seedsForClaim} seeds per arm. For the loss, lower is better.`, '');
  lines.push(table(['arm', 'metric', 'difference [95% CI]', 'p', 'test', 'verdict'], s.comparisons.map((c) => [
    c.label, METRICS[c.metric].title, formatDiff(c.metric, c.diff), formatP(c.test.p),
    c.test.exact ? `exact (${c.test.permutations} relabellings)` : `Monte Carlo (${c.test.permutations})`, c.verdict,
  ])), '');
  lines.push('![MEAP − NTP](figures/difference.svg)', '');

  lines.push(`## Accuracy by ${d.bucketLabel}`, '');
  const buckets = s.arms[0].depth.length;
  lines.push(table([d.bucketLabel, ...s.arms.map((a) => a.label)], Array.from({ length: buckets }, (_, b) => [
    bucketName(b, buckets), ...s.arms.map((a) => formatPercentEstimate(a.depth[b])),
  ])), '');
  lines.push(`![accuracy by ${d.bucketLabel}](figures/depth.svg)`, '');

  lines.push('## Attention on the trained models', '');
  const analysed = attentionOfEveryArm(s);
  const first = attentionRecordOf(record);
  if (analysed && first) lines.push(...attentionSection(record, s, analysed, first));
  else lines.push('Not analysed: the attention analyses run on the trained models (in the playground, "Analyse attention").', '');

  lines.push('## Method', '');
  lines.push(
    '- Statistics over seeds (each seed one trained model): mean, sample standard deviation, percentile bootstrap 95% CI of the mean ' +
    '(10 000 resamples) and of the difference of two means (each arm resampled on its own). The p-value is a two-sided permutation test of the ' +
    'difference of means (exact over all relabellings when there are at most 200 000, else 20 000 random ones). Every draw comes from a seed ' +
    'derived from (study, measure, arm), so the report is a pure function of study.json (src/study/report.ts).',
    '- Arms of the same seed share initial weights and batches; the tests above treat arms as independent samples, which is conservative.',
    `- Resuming: the study runs in ${record.units.length} unit(s) of ${d.seedsPerUnit} seed(s) × all arms (units/unit-NN.json, written when a unit ` +
    'finishes); a rerun skips units whose saved configuration matches and retrains the rest. An interrupted unit restarts from step 0.',
    '- Raw data: study.json (config, every run\'s history and attention record); summary.json (every number of this report).',
    '',
  );
  return lines.join('\n');
}

/**
 * A study's statistics, from its raw result (study.json) alone: analyseStudy is pure and deterministic
 * (every bootstrap and permutation draws from a seed derived from the study, metric and arm), so every
 * number of the report can be recomputed from the committed JSON. Rendering them is reportMarkdown.ts's
 * and reportFigures.ts's; report.ts is the entry that callers import.
 */
import { deriveSeed } from '../util/seeds';
import { armColor, armLabel } from '../util/palette';
import {
  bootstrapDiffCI, bootstrapMeanCI, estimate, finite, learnedSummary, mean, permutationTest,
  type Estimate, type Interval, type LearnedSummary, type PermutationResult,
} from './stats';
import { formatP, formatPoints, formatPointsInterval, NEEDS_SEEDS } from './reportFormat';
import type { StudyDefinition } from './studies';
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

/** A recorded number, NaN for anything else (a record's JSON may hold null for a non-finite value). */
export function num(v: unknown): number {
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
    if (c.n.some((k) => k < 2)) {
      return `${c.label} vs NTP: final retrieval accuracy ${formatPoints(c.diff.estimate)}, mean accuracy over training ` +
        `${formatPoints(speed.diff.estimate)} (CI and p ${NEEDS_SEEDS} per arm) → **${c.verdict}**.`;
    }
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

/** Every arm with its attention summary, or null unless every arm's attention was analysed. */
export function attentionOfEveryArm(s: StudySummary): { arm: ArmSummary; attention: ArmAttention }[] | null {
  if (s.arms.some((a) => a.attention === null)) return null;
  return s.arms.map((a) => ({ arm: a, attention: a.attention! }));
}

/** The first run's attention record (for the segment names and the examples analysed). */
export function attentionRecordOf(record: StudyRecord): AttentionRecord | null {
  return allRuns(record).find((r) => r.attention !== null)?.attention ?? null;
}

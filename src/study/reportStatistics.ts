/**
 * A study's statistics, from its raw result (study.json) alone: analyseStudy is pure and deterministic
 * (every bootstrap and permutation draws from a seed derived from the study, metric and arm), so every
 * number of the report can be recomputed from the committed JSON. Rendering them is reportMarkdown.ts's
 * and reportFigures.ts's; report.ts is the entry that callers import.
 */
import { deriveSeed } from '../util/seeds';
import { armColor, armLabel } from '../util/palette';
import {
  bootstrapDiffCI, bootstrapMeanCI, estimate, finite, learnedSummary, mean, normalDetectableDifference, permutationTest, sampleStd,
  type Estimate, type Interval, type LearnedSummary, type PermutationResult,
} from './stats';
import { formatPercent, formatPIs, formatPoints, formatPointsInterval, NEEDS_SEEDS, signedLoss } from './reportFormat';
import { primaryEndpointOf, type PrimaryEndpoint, type StudyDefinition } from './studies';
import {
  judge, marginText, primaryResult, timeToLearn, verdictText, type PrimaryResult, type TimeToLearn, type Verdict, type VerdictKind,
} from './reportPrimary';
import { sequentialOfUnits, type SequentialOutcome, type SequentialRule } from './sequential';
import type { RunRecord, UnitRecord } from './records';
import { meapArmPairs, type ArmPair } from './reportArmPairs';
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
/**
 * The secondary metrics. `margin`: the equivalence margin of "no difference larger than ±margin" (10 accuracy
 * points; 0.05 nats of loss), fixed in code with issue 17 — after the committed studies were seen, so a
 * stated convention, not a blind pre-registration.
 */
export const METRICS: Record<Metric, { title: string; higherIsBetter: boolean; unit: 'pct' | 'loss'; margin: number }> = {
  finalAcc: { title: 'final retrieval accuracy', higherIsBetter: true, unit: 'pct', margin: 0.1 },
  meanAcc: { title: 'mean retrieval accuracy over training (area under the curve: how soon)', higherIsBetter: true, unit: 'pct', margin: 0.1 },
  finalValLoss: { title: 'final clean validation loss', higherIsBetter: false, unit: 'loss', margin: 0.05 },
};

/** A metric's equivalence margin as text: "±10 pts", "±0.0500". */
export function metricMarginText(metric: Metric): string {
  const m = METRICS[metric];
  return m.unit === 'pct' ? marginText(m.margin) : `±${signedLoss(m.margin).slice(1)}`;
}

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
  /** [layer][segment]: the same share per layer (the mean over layers can hide a shift in one layer). */
  segmentMassByLayer: Estimate[][];
  scoreDecay: Estimate;
  varianceIncrease: Estimate;
  onMaskedClean: Estimate;
  onMaskedMasked: Estimate;
  meanEntropy: Estimate;
  /** [layer][head] mean over seeds. */
  headEntropy: number[][];
  uniformEntropy: number;
  /** Retrieval tasks, when every run's record has it: the answer position's attention on single tokens (AttentionRecord.tokenNames). */
  tokens?: { names: string[]; massByLayer: Estimate[][] };
  /** Retrieval tasks, when every run's record has it: the key-swap probe (AttentionRecord.keySwap), over seeds. */
  keySwap?: { clean: Estimate; swapped: Estimate };
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
  /** Share of seeds learned by each step (Kaplan–Meier) with exact 95 % bands. */
  timeToLearn: TimeToLearn;
  accuracyBySteps: StepBand[];
  valLossBySteps: StepBand[];
  /** Final accuracy per depth bucket. */
  depth: Estimate[];
  /** Null when the runs' attention was not analysed (the page's report before "Analyse attention"). */
  attention: ArmAttention | null;
}

export type { Verdict, VerdictKind, PrimaryResult, TimeToLearn };

export interface Comparison {
  arm: number;
  label: string;
  metric: Metric;
  /** mean(MEAP arm) − mean(NTP) with its bootstrap 95 % CI. */
  diff: Interval;
  test: PermutationResult;
  n: [number, number];
  /** Minimal detectable difference with 80 % power at α = 0.05 (normal approximation, observed SDs). */
  detectable: number;
  verdictKind: VerdictKind;
  verdict: Verdict;
}

export interface StudySummary {
  study: string;
  quick: boolean;
  arms: ArmSummary[];
  /** The pre-declared primary endpoint and its result per MEAP arm (empty without an NTP arm). */
  endpoint: PrimaryEndpoint;
  primary: PrimaryResult[];
  /** A study grown until decided: its rule and the looks replayed from the units (null otherwise). */
  sequential: { rule: SequentialRule; outcome: SequentialOutcome } | null;
  comparisons: Comparison[];
  /** The MEAP arms against each other, paired by seed on the primary endpoint (reportArmPairs.ts). */
  armPairs: ArmPair[];
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
    segmentMassByLayer: Array.from({ length: runs[0].attention.segmentMassByLayer.length }, (_, l) => Array.from({ length: segments }, (_, s) =>
      estimate(runs.map((r) => num(r.attention.segmentMassByLayer[l][s])), statSeed(study, `mass${l}.${s}`, arm)))),
    scoreDecay: estimate(runs.map((r) => num(r.attention.scoreDecay)), statSeed(study, 'scoreDecay', arm)),
    varianceIncrease: estimate(runs.map((r) => num(r.attention.varianceIncrease)), statSeed(study, 'varianceIncrease', arm)),
    onMaskedClean: estimate(runs.map((r) => num(r.attention.onMaskedClean)), statSeed(study, 'onMaskedClean', arm)),
    onMaskedMasked: estimate(runs.map((r) => num(r.attention.onMaskedMasked)), statSeed(study, 'onMaskedMasked', arm)),
    meanEntropy: estimate(runs.map(meanEntropyOf), statSeed(study, 'entropy', arm)),
    headEntropy: Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => mean(finite(runs.map((r) => num(r.attention.headEntropy[l][h])))))),
    uniformEntropy: runs[0].attention.uniformEntropy,
    ...tokenMass(study, arm, runs.map((r) => r.attention)),
    ...keySwapOf(study, arm, runs.map((r) => r.attention)),
  };
}

function keySwapOf(study: string, arm: number, records: AttentionRecord[]): Pick<ArmAttention, 'keySwap'> {
  if (!records.every((a) => a.keySwap)) return {};
  return {
    keySwap: {
      clean: estimate(records.map((a) => num(a.keySwap!.clean)), statSeed(study, 'keySwapClean', arm)),
      swapped: estimate(records.map((a) => num(a.keySwap!.swapped)), statSeed(study, 'keySwapSwapped', arm)),
    },
  };
}

function tokenMass(study: string, arm: number, records: AttentionRecord[]): Pick<ArmAttention, 'tokens'> {
  const names = records[0].tokenNames;
  if (!names || !records.every((a) => a.tokenMassByLayer && a.tokenNames?.join('\n') === names.join('\n'))) return {};
  const L = records[0].tokenMassByLayer!.length;
  return {
    tokens: {
      names: [...names],
      massByLayer: Array.from({ length: L }, (_, l) => names.map((_, k) =>
        estimate(records.map((a) => num(a.tokenMassByLayer![l][k])), statSeed(study, `token${l}.${k}`, arm)))),
    },
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

function verdictOf(metric: Metric, diff: Interval, test: PermutationResult, n: [number, number], seedsForClaim: number): VerdictKind {
  const better = METRICS[metric].higherIsBetter ? diff.estimate > 0 : diff.estimate < 0;
  const excludesZero = diff.lo > 0 || diff.hi < 0;
  return judge(n, seedsForClaim, test.p < 0.05 && excludesZero, better, diff, METRICS[metric].margin);
}

/** All statistics of the report, from the raw record alone. */
export function analyseStudy(record: StudyRecord): StudySummary {
  const d = record.definition;
  const study = record.study;
  const runs = allRuns(record);
  const endpoint = primaryEndpointOf(d);
  const ratios = d.config.arms;
  const arms: ArmSummary[] = ratios.map((maskRatio, arm) => {
    const mine = runs.filter((r) => r.arm === arm);
    if (mine.length === 0) throw new RangeError(`study ${study}: arm ${arm} has no runs`);
    const histories = mine.map((r) => r.history);
    const learned = learnedSummary(histories.map((h) => h.map((p) => ({ step: p.step, retrievalAcc: num(p.retrievalAcc) }))), endpoint.threshold);
    const buckets = mine[0].history[mine[0].history.length - 1]?.accByDepth.length ?? 0;
    return {
      arm, maskRatio, label: armLabel(maskRatio), colour: armColor(maskRatio, ratios),
      seeds: mine.map((r) => r.seed),
      finalStep: mine[0].history[mine[0].history.length - 1]?.step ?? 0,
      finalAcc: estimate(mine.map((r) => metricValue(r, 'finalAcc')), statSeed(study, 'finalAcc', arm)),
      meanAcc: estimate(mine.map((r) => metricValue(r, 'meanAcc')), statSeed(study, 'meanAcc', arm)),
      finalValLoss: estimate(mine.map((r) => metricValue(r, 'finalValLoss')), statSeed(study, 'finalValLoss', arm)),
      learned, timeToLearn: timeToLearn(learned.learnedSteps, learned.steps),
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
        const kind = verdictOf(metric, diff, test, n, d.seedsForClaim);
        comparisons.push({
          arm: a.arm, label: a.label, metric, diff, test, n, detectable: normalDetectableDifference(sampleStd(x), x.length, sampleStd(y), y.length),
          verdictKind: kind, verdict: verdictText(kind, metricMarginText(metric)),
        });
      }
    }
  }
  const meapArms = ntp ? arms.filter((a) => a !== ntp) : [];
  // The rule covers a study of one MEAP arm against NTP (reproduce refuses it for more arms).
  const sequential = d.sequential && ntp && meapArms.length === 1
    ? { rule: d.sequential, outcome: sequentialOfUnits(record.units, meapArms[0].arm, ntp.arm, endpoint.threshold, d.sequential) }
    : null;
  const primary = ntp
    ? meapArms.map((a) => primaryResult(
      { arm: a.arm, label: a.label, learnedSteps: a.learned.learnedSteps }, { learnedSteps: ntp.learned.learnedSteps },
      endpoint, ntp.finalStep, d.seedsForClaim, sequential ? sequential.outcome.decidedAt !== null : undefined))
    : [];
  const verdictLines = comparisons.filter((c) => c.metric === 'finalAcc').flatMap((c) => {
    const speed = comparisons.find((k) => k.arm === c.arm && k.metric === 'meanAcc')!;
    const first = primary.find((r) => r.arm === c.arm);
    const primaryLine = first ? [primarySentence(first)] : [];
    if (c.n.some((k) => k < 2)) {
      return [...primaryLine, `${c.label} vs NTP: final retrieval accuracy ${formatPoints(c.diff.estimate)}, mean accuracy over training ` +
        `${formatPoints(speed.diff.estimate)} (CI and p ${NEEDS_SEEDS} per arm) → **${c.verdict}**.`];
    }
    return [...primaryLine, `${c.label} vs NTP (secondary, n = ${c.n[0]} + ${c.n[1]}): final retrieval accuracy ${formatPoints(c.diff.estimate)} ${formatPointsInterval(c.diff)}, ` +
      `${formatPIs(c.test.p)} → **${c.verdict}**; mean accuracy over training ${formatPoints(speed.diff.estimate)} ${formatPointsInterval(speed.diff)}, ` +
      `${formatPIs(speed.test.p)} → ${speed.verdict}.`];
  });
  return {
    study, quick: record.quick, arms, endpoint, primary, sequential, comparisons, armPairs: meapArmPairs(arms), verdictLines,
    overall: overallAnswer(record, primary, ntp?.finalStep ?? 0),
  };
}

/** "seeds that reach 50% retrieval by step 800". */
export function endpointText(endpoint: PrimaryEndpoint, byStep: number): string {
  return `seeds that reach ${formatPercent(endpoint.threshold)} retrieval by step ${byStep}`;
}

/** The power statement of a primary result: what 80 % power needs, from NTP's observed share. */
export function powerSentence(r: PrimaryResult): string {
  const p0 = r.ntp.k / r.ntp.n;
  const reach = (d: number | null, sign: 1 | -1) => (d === null ? null : formatPercent(p0 + sign * d));
  const up = reach(r.detectableIncrease, 1), down = reach(r.detectableDecrease, -1);
  const bounds = [up && `MEAP at ≥ ${up}`, down && `MEAP at ≤ ${down}`].filter(Boolean).join(' or ');
  const needs = bounds === '' ? 'no difference of any size reaches 80% power' : `80% power needs ${bounds}`;
  return `with ${r.meap.n} + ${r.ntp.n} seeds and NTP at ${formatPercent(p0)}, Fisher's test (α = 0.05) ${needs}; ` +
    `its power for the difference observed here is ${formatPercent(r.powerAtObserved)} (exact enumeration)`;
}

function primarySentence(r: PrimaryResult): string {
  return `${r.label} vs NTP, primary endpoint (${endpointText(r.endpoint, r.byStep)}): ${r.meap.k} of ${r.meap.n} vs ${r.ntp.k} of ${r.ntp.n}, ` +
    `${formatPoints(r.difference.estimate)} ${formatPointsInterval(r.difference)}, Fisher ${formatPIs(r.fisher.p, [r.meap.n, r.ntp.n])} → **${r.verdict}**; ` +
    `time to learn: log-rank ${formatPIs(r.logRank.p, [r.meap.n, r.ntp.n])}.`;
}

function overallAnswer(record: StudyRecord, primary: PrimaryResult[], byStep: number): string {
  const d = record.definition;
  const seeds = d.config.seedsPerArm;
  if (record.quick) {
    return `Quick run (${seeds} seeds per arm, ${d.config.steps} steps, the tiny model): a smoke test of the pipeline. ` +
      'Its numbers carry no evidence either way; run the study without --quick for an answer.';
  }
  if (primary.length === 0) return 'The study has no NTP arm to compare with.';
  if (primary.some((r) => r.verdictKind === 'too few seeds')) {
    return `Too few seeds for a claim (${seeds} per arm; at least ${d.seedsForClaim} are needed): the numbers are shown, not judged.`;
  }
  const endpoint = `${endpointText(primary[0].endpoint, byStep)}, Fisher's exact test`;
  const scale = `at this scale (${seeds} seeds per arm, ${d.config.steps} steps)`;
  const of = (kind: string) => primary.filter((r) => r.verdictKind === kind).map((r) => r.label);
  const better = of('better'), worse = of('worse'), equivalent = of('equivalent'), underpowered = of('underpowered');
  if (better.length === primary.length) return `MEAP better on the primary endpoint (${endpoint}) ${scale}: ${better.join(', ')} (p < 0.05).`;
  if (worse.length === primary.length) return `MEAP worse on the primary endpoint (${endpoint}) ${scale}: ${worse.join(', ')} (p < 0.05).`;
  if (equivalent.length === primary.length) {
    return `No difference larger than ${marginText(primary[0].endpoint.margin)} on the primary endpoint (${endpoint}) ${scale}: ` +
      'the 95% CI of every MEAP arm\'s difference lies inside the margin.';
  }
  const parts = [
    better.length > 0 ? `better: ${better.join(', ')}` : '', worse.length > 0 ? `worse: ${worse.join(', ')}` : '',
    equivalent.length > 0 ? `no difference larger than ${marginText(primary[0].endpoint.margin)}: ${equivalent.join(', ')}` : '',
    underpowered.length > 0 ? `underpowered, not measured: ${underpowered.join(', ')}` : '',
  ].filter((x) => x !== '');
  const power = underpowered.length > 0
    ? ` Not measured is not "no effect": ${powerSentence(primary.find((r) => r.verdictKind === 'underpowered')!)}.`
    : '';
  return `Not decided on the primary endpoint (${endpoint}) ${scale}: ${parts.join('; ')}.${power}`;
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

/**
 * The analysis of a fine-tuning study (a record whose definition has `config.finetune`): per arm — a (pretraining
 * arm, variant) pair — the final exact match, answer-token accuracy and answer loss over seeds, the exact match
 * by answer document, the curves over fine-tuning steps; and per MEAP-SFT arm its paired comparison with the SFT
 * arm of the same base (same seeds: same base weights, same examples), judged on the pre-declared primary
 * endpoint with its power. Pure (no Node APIs), like report.ts.
 */
import type { FinetuneVariant, StudyConfig } from '../config/presets';
import { finetuneStageConfig } from '../config/finetuneStage';
import { armLabel, runColor, runLabel } from '../util/palette';
import { deriveSeed } from '../util/seeds';
import type { RunRecord } from './records';
import { bootstrapMeanCI, estimate, finite, mean, sampleStd, signFlipTest as pairedSignFlip, type Estimate, type Interval } from './stats';
import type { StudyRecord } from './reportStatistics';


/** The metrics a fine-tuning run is scored on at each evaluation. */
export type FinetuneMetric = 'exact' | 'tokens' | 'answerLoss';
const METRIC_OF: Record<FinetuneMetric, (p: RunRecord['history'][number]) => number> = {
  exact: (p) => num(p.retrievalAcc), tokens: (p) => num(p.tokenAcc), answerLoss: (p) => num(p.answerLoss),
};

/** The primary endpoint, fixed before the committed study was run (see the report). */
export const FINETUNE_PRIMARY = {
  metric: 'tokens' as FinetuneMetric,
  text: 'answer-token accuracy at the last step (teacher-forced), MEAP-SFT − SFT, paired by seed; two-sided exact sign-flip test, α = 0.05',
  /** Equivalence margin: "no difference larger than ±margin" only when the 95 % CI lies inside it. */
  margin: 0.02,
};

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
}

export interface FinetuneArmSummary {
  arm: number;
  baseArm: number;
  variant: FinetuneVariant;
  label: string;
  colour: string;
  final: Record<FinetuneMetric, Estimate>;
  /** Final exact match by answer document bucket (mean over seeds, n seeds). */
  byDocument: Estimate[];
  /** Mean over seeds at each evaluation step. */
  curves: Record<FinetuneMetric, { step: number; mean: number; lo: number; hi: number }[]>;
}

export interface PairedComparison {
  arm: number;
  label: string;
  /** The SFT arm of the same pretraining arm. */
  control: number;
  metric: FinetuneMetric;
  /** Seeds present in both arms with finite values. */
  n: number;
  /** Mean paired difference (treatment − control) with its bootstrap 95 % CI. */
  difference: Interval;
  /** Two-sided sign-flip permutation p (exact when 2ⁿ ≤ 2²⁰ relabellings). */
  p: number;
  /** Smallest mean difference this many seeds detect with 80 % power at α = 0.05 (normal approximation, sd of the differences). */
  detectable: number;
}

export interface FinetuneSummary {
  study: string;
  quick: boolean;
  seeds: number;
  arms: FinetuneArmSummary[];
  /** Stage 1: exact match and token accuracy at the end of pretraining, per pretraining arm. */
  pretrain: { label: string; exact: Estimate; tokens: Estimate }[];
  primary: (PairedComparison & { verdict: string })[];
  secondary: PairedComparison[];
  overall: string;
}

const statSeed = (study: string, what: string, arm: number) => deriveSeed('finetune-report', study, what, arm);

function runsOf(record: StudyRecord): RunRecord[] {
  return record.units.flatMap((u) => u.runs);
}

function lastPoint(run: RunRecord) {
  return run.history[run.history.length - 1];
}

/** Exact sign-flip test of mean(d) = 0 over the finite differences (Monte Carlo with a fixed seed beyond 20 seeds). */
export function signFlipTest(differences: readonly number[], seed: number): number {
  return pairedSignFlip(finite([...differences]), { seed, exactLimit: 2 ** 20, permutations: 100_000 }).p;
}

function compare(study: string, treatment: FinetuneArmSummary, control: FinetuneArmSummary, runs: RunRecord[], metric: FinetuneMetric): PairedComparison {
  const finalBySeed = (arm: number) => new Map(runs.filter((r) => r.arm === arm).map((r) => [r.seed, METRIC_OF[metric](lastPoint(r))]));
  const t = finalBySeed(treatment.arm), c = finalBySeed(control.arm);
  const differences = [...t.keys()].filter((s) => c.has(s)).map((s) => t.get(s)! - c.get(s)!).filter(Number.isFinite);
  const n = differences.length;
  const sd = n > 1 ? sampleStd(differences) : Number.NaN;
  return {
    arm: treatment.arm, label: treatment.label, control: control.arm, metric, n,
    difference: bootstrapMeanCI(differences, { seed: statSeed(study, `diff:${metric}`, treatment.arm) }),
    p: signFlipTest(differences, statSeed(study, `flip:${metric}`, treatment.arm)),
    // (z₀.₉₇₅ + z₀.₈) · sd / √n.
    detectable: (1.959964 + 0.841621) * sd / Math.sqrt(n),
  };
}

const pts = (x: number) => `${(100 * x).toFixed(1)} points`;

function verdictOf(c: PairedComparison, seedsForClaim: number): string {
  const { difference: ci, p } = c;
  if (c.n < 2 || !Number.isFinite(p)) return 'not measured (fewer than 2 paired seeds)';
  if (c.n < seedsForClaim) return `no claim: ${c.n} paired seeds, fewer than the ${seedsForClaim} a claim needs`;
  if (p < 0.05) return ci.estimate > 0 ? 'MEAP-SFT better (p < 0.05)' : 'MEAP-SFT worse (p < 0.05)';
  if (ci.lo > -FINETUNE_PRIMARY.margin && ci.hi < FINETUNE_PRIMARY.margin) return `no difference larger than ±${pts(FINETUNE_PRIMARY.margin)}`;
  return `not decided: ${c.n} paired seeds detect a mean difference of ≥ ${pts(c.detectable)} with 80 % power`;
}

function armSummary(study: string, config: StudyConfig, arm: number, runs: RunRecord[], buckets: number): FinetuneArmSummary {
  const f = config.finetune!;
  const variant = f.variants[arm % f.variants.length];
  const baseArm = Math.floor(arm / f.variants.length);
  const mine = runs.filter((r) => r.arm === arm);
  const metrics: FinetuneMetric[] = ['exact', 'tokens', 'answerLoss'];
  const steps = [...new Set(mine.flatMap((r) => r.history.map((p) => p.step)))].sort((a, b) => a - b);
  const curves = Object.fromEntries(metrics.map((m) => [m, steps.map((step) => {
    const values = finite(mine.map((r) => METRIC_OF[m](r.history.find((p) => p.step === step) ?? ({} as never))));
    const ci = bootstrapMeanCI(values, { seed: statSeed(study, `${m}@${step}`, arm), resamples: 2000 });
    return { step, mean: mean(values), lo: ci.lo, hi: ci.hi };
  })])) as FinetuneArmSummary['curves'];
  const run = { maskRatio: config.arms[baseArm], finetune: variant };
  return {
    arm, baseArm, variant, label: runLabel(run, config.arms), colour: runColor(run, config.arms),
    final: Object.fromEntries(metrics.map((m) => [m, estimate(mine.map((r) => METRIC_OF[m](lastPoint(r))), statSeed(study, `final:${m}`, arm))])) as FinetuneArmSummary['final'],
    byDocument: Array.from({ length: buckets }, (_, b) => estimate(mine.map((r) => num(lastPoint(r).accByDepth[b])), statSeed(study, `doc${b}`, arm))),
    curves,
  };
}

/** Every number the fine-tuning report shows. */
export function analyseFinetuneStudy(record: StudyRecord): FinetuneSummary {
  const d = record.definition;
  const config = d.config;
  const f = config.finetune!;
  const stage = finetuneStageConfig(config);
  const runs = runsOf(record);
  const armCount = config.arms.length * f.variants.length;
  const arms = Array.from({ length: armCount }, (_, arm) => armSummary(record.study, config, arm, runs, stage.evaluation.buckets));
  const primary: FinetuneSummary['primary'] = [];
  const secondary: PairedComparison[] = [];
  for (const a of arms) {
    if (a.variant === 'sft') continue;
    const control = arms.find((c) => c.baseArm === a.baseArm && c.variant === 'sft');
    if (!control) continue;
    const main = compare(record.study, a, control, runs, FINETUNE_PRIMARY.metric);
    primary.push({ ...main, verdict: verdictOf(main, d.seedsForClaim) });
    for (const metric of ['exact', 'answerLoss'] as FinetuneMetric[]) secondary.push(compare(record.study, a, control, runs, metric));
  }
  const pretrainRuns = record.units.flatMap((u) => u.pretrain ?? []);
  const pretrain = config.arms.map((ratio, arm) => {
    const mine = pretrainRuns.filter((r) => r.arm === arm).map(lastPoint);
    return {
      label: armLabel(ratio),
      exact: estimate(mine.map((p) => num(p.retrievalAcc)), statSeed(record.study, 'pretrain:exact', arm)),
      tokens: estimate(mine.map((p) => num(p.tokenAcc)), statSeed(record.study, 'pretrain:tokens', arm)),
    };
  });
  const seeds = new Set(runs.filter((r) => r.arm === 0).map((r) => r.seed)).size;
  const overall = primary.length === 0 ? 'The study has no SFT arm to compare MEAP-SFT with.'
    : primary.map((c) => `${c.label} vs SFT (n = ${c.n} paired seeds): ${FINETUNE_PRIMARY.metric === 'tokens' ? 'answer-token accuracy' : c.metric} ` +
      `${c.difference.estimate >= 0 ? '+' : ''}${(100 * c.difference.estimate).toFixed(1)} points → ${c.verdict}.`).join(' ');
  return { study: record.study, quick: record.quick, seeds, arms, pretrain, primary, secondary, overall };
}

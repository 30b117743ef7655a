/**
 * Pre-registration 3 of docs/preregistration-query-attention.md, on the study needle-quick-high-ratios (NTP / 0.15 /
 * 0.20 / 0.30 / 0.40, paired by seed): 3a — do 0.30 and 0.40 learn faster than 0.20 (mean retrieval accuracy over
 * training; two sign-flip tests, Holm over the two); 3b — which single tokens does MEAP's layer-0 shift leave (`?` and
 * the answer position itself, 0.15 vs NTP; two tests, Holm over the two). Everything else is descriptive: each
 * arm's learned count, the pairs' exact McNemar on learned-by-the-last-step (a ceiling at these ratios), and the
 * five tokens' attention in both layers.
 */
import { analyseStudy, metricValue, type StudyRecord } from './report';
import type { RunRecord } from './records';
import { mcnemarExact, type McNemarResult } from './multipleComparisons';
import { pairedFamily, type PairedTestResult } from './pairedFamily';
import { learnedBySeed } from './reportArmPairs';
import { formatP, formatPercent, formatPoints, table } from './reportFormat';
import { mean } from './stats';
import { armLabel } from '../util/palette';

export const HIGH_RATIOS_STUDY = 'needle-quick-high-ratios';
const SEED = 20261207;

/** One pre-registered paired difference, a − b over the seeds both arms ran. */
export interface PairedDifference extends PairedTestResult {
  hypothesis: string;
  measure: string;
  /** The direction the pre-registration predicts (1: a > b, −1: a < b), or 0 for a two-sided question. */
  expectedSign: 1 | -1 | 0;
  verdict: string;
}

export interface HighRatioArm {
  label: string;
  ratio: number;
  n: number;
  learned: number;
  /** Mean over seeds of each run's mean retrieval accuracy over the training evaluations. */
  meanAcc: number;
  /** [layer][token] mean over seeds of the answer position's attention on each single token. */
  tokens: number[][];
}

export interface HighRatios {
  arms: HighRatioArm[];
  tokenNames: string[];
  ratioTests: PairedDifference[];
  tokenTests: PairedDifference[];
  /** Descriptive: learned by the last step, each higher ratio against 0.20, paired by seed. */
  learnedPairs: { pair: string; seeds: number; test: McNemarResult }[];
}

interface Arm { index: number; ratio: number; label: string; runs: Map<number, RunRecord>; learned: Map<number, boolean> }

function armsOf(record: StudyRecord): Map<number, Arm> {
  const summary = analyseStudy(record);
  const runs = record.units.flatMap((u) => u.runs);
  return new Map(record.definition.config.arms.map((ratio, index) => [ratio, {
    index, ratio, label: armLabel(ratio),
    runs: new Map(runs.filter((r) => r.arm === index).map((r) => [r.seed, r])),
    learned: learnedBySeed(summary.arms[index]),
  }]));
}

function arm(arms: Map<number, Arm>, ratio: number): Arm {
  const found = arms.get(ratio);
  if (!found) throw new RangeError(`${HIGH_RATIOS_STUDY}: no arm with mask ratio ${ratio} (arms: ${[...arms.keys()].join(', ')})`);
  return found;
}

function tokenMass(run: RunRecord, layer: number, token: number): number {
  const m = run.attention?.tokenMassByLayer;
  if (!m) throw new RangeError(`${HIGH_RATIOS_STUDY}: run of seed ${run.seed} (arm ${run.arm}) has no single-token attention`);
  return m[layer][token];
}

/** a − b per seed both arms ran, in seed order. */
function differences(a: Arm, b: Arm, value: (run: RunRecord) => number): number[] {
  return [...a.runs.keys()].filter((s) => b.runs.has(s)).sort((x, y) => x - y).map((s) => value(a.runs.get(s)!) - value(b.runs.get(s)!));
}

interface Planned { hypothesis: string; measure: string; expectedSign: 1 | -1 | 0; a: Arm; b: Arm; value: (run: RunRecord) => number }

/** Sign-flip test and bootstrap interval of each planned difference (seeds from `seed`), Holm over the family. */
function family(planned: Planned[], seed: number): PairedDifference[] {
  const results = pairedFamily(planned.map((m, k) => ({ d: differences(m.a, m.b, m.value), bootstrapSeed: seed + k, testSeed: seed + k })));
  return planned.map(({ a, b, value: _, ...m }, k) => ({
    ...m, ...results[k], verdict: verdict(m.expectedSign, results[k].mean, results[k].holm, a.label, b.label),
  }));
}

function verdict(expected: 1 | -1 | 0, difference: number, holm: number, a: string, b: string): string {
  if (!(holm < 0.05)) return 'not distinguished';
  const sign = Math.sign(difference);
  if (expected === 0) return `${sign > 0 ? a : b} higher`;
  return sign === expected ? 'confirmed' : 'reversed';
}

function describe(a: Arm): HighRatioArm {
  const runs = [...a.runs.values()];
  const layers = runs[0]?.attention?.tokenMassByLayer?.length ?? 0;
  const tokens = runs[0]?.attention?.tokenMassByLayer?.[0]?.length ?? 0;
  return {
    label: a.label, ratio: a.ratio, n: runs.length, learned: [...a.learned.values()].filter(Boolean).length,
    meanAcc: mean(runs.map((r) => metricValue(r, 'meanAcc'))),
    tokens: Array.from({ length: layers }, (_, l) => Array.from({ length: tokens }, (_, t) => mean(runs.map((r) => tokenMass(r, l, t))))),
  };
}

export function highRatios(record: StudyRecord): HighRatios {
  const arms = armsOf(record);
  const [ntp, p15, p20, p30, p40] = [0, 0.15, 0.2, 0.3, 0.4].map((r) => arm(arms, r));
  const names = [...p15.runs.values()][0]?.attention?.tokenNames;
  if (!names) throw new RangeError(`${HIGH_RATIOS_STUDY}: its attention analyses have no single-token split (tokenNames)`);
  const token = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new RangeError(`${HIGH_RATIOS_STUDY}: no single token "${name}" (has ${names.join(', ')})`);
    return i;
  };
  const meanAcc = (r: RunRecord) => metricValue(r, 'meanAcc');
  const accuracy = 'mean retrieval accuracy over training';
  const ratioTests = family([
    { hypothesis: 'H5: 0.30 − 0.20', measure: accuracy, expectedSign: 0, a: p30, b: p20, value: meanAcc },
    { hypothesis: 'H6: 0.40 − 0.20', measure: accuracy, expectedSign: 0, a: p40, b: p20, value: meanAcc },
  ], SEED);
  const marker = token('query ?'), self = token('query key (itself)');
  const tokenTests = family([
    { hypothesis: 'H7: MEAP 0.15 − NTP', measure: 'layer-0 attention on `?`', expectedSign: -1, a: p15, b: ntp, value: (r) => tokenMass(r, 0, marker) },
    { hypothesis: 'H8: MEAP 0.15 − NTP', measure: 'layer-0 attention on the query key itself', expectedSign: 0, a: p15, b: ntp, value: (r) => tokenMass(r, 0, self) },
  ], SEED + 100);
  const learnedPairs = [p30, p40].map((high) => {
    const seeds = [...high.learned.keys()].filter((s) => p20.learned.has(s)).sort((x, y) => x - y);
    return {
      pair: `${high.label} vs ${p20.label}`, seeds: seeds.length,
      test: mcnemarExact(seeds.map((s) => high.learned.get(s)!), seeds.map((s) => p20.learned.get(s)!)),
    };
  });
  return { arms: [ntp, p15, p20, p30, p40].map(describe), tokenNames: [...names], ratioTests, tokenTests, learnedPairs };
}

const interval = (t: PairedDifference) => `${formatPoints(t.mean)} [${formatPoints(t.lo)}, ${formatPoints(t.hi)}]`;
const expected = (s: 1 | -1 | 0) => (s === 0 ? 'two-sided' : s > 0 ? 'more' : 'less');

function testTable(tests: PairedDifference[]): string {
  return table(['hypothesis', 'measure', 'expected', 'n', 'mean difference [95% CI]', 'p', 'Holm p', 'verdict'],
    tests.map((t) => [t.hypothesis, t.measure, expected(t.expectedSign), String(t.n), interval(t), formatP(t.p), formatP(t.holm), t.verdict]));
}

export function highRatiosMarkdown(h: HighRatios): string {
  const lines: string[] = [];
  lines.push('# Above P = 0.20, and the layer-0 shift token by token', '');
  lines.push('The pre-registered tests of [docs/preregistration-query-attention.md](../docs/preregistration-query-attention.md), '
    + `part 3, on \`${HIGH_RATIOS_STUDY}\` (quick preset, 800 steps; NTP / 0.15 / 0.20 / 0.30 / 0.40, fresh seeds: baseSeed + 4000; `
    + `every arm of a seed starts from the same weights and sees the same batches). Differences are paired by seed; p: two-sided `
    + 'sign-flip permutation test (20 000 seeded draws), Holm within each family of two; intervals: 95 % bootstrap. '
    + 'Attention: the share of the answer position\'s attention on each single token of the final model, mean over heads and '
    + 'the 200 clean evaluation prompts. Full report: [needle-quick-high-ratios/report.md](needle-quick-high-ratios/report.md).', '');
  lines.push('## 3a: higher ratios (mean retrieval accuracy over the 16 evaluations of training)', '');
  lines.push(testTable(h.ratioTests), '');
  lines.push('Descriptive (a ceiling: most seeds learn by step 800 at these ratios), learned by the last step, exact McNemar paired by seed:', '');
  lines.push(table(['pair', 'seeds', 'only first / only second', 'McNemar p'],
    h.learnedPairs.map((p) => [p.pair, String(p.seeds), `${p.test.onlyFirst} / ${p.test.onlySecond}`, formatP(p.test.p)])), '');
  lines.push('## 3b: which tokens the layer-0 shift leaves (MEAP 0.15 vs NTP)', '');
  lines.push(testTable(h.tokenTests), '');
  lines.push('## By arm (descriptive)', '');
  lines.push(table(['arm', 'n', 'learned by step 800', 'mean accuracy over training'],
    h.arms.map((a) => [a.label, String(a.n), `${a.learned} of ${a.n}`, formatPercent(a.meanAcc)])), '');
  const layers = h.arms[0]?.tokens.length ?? 0;
  for (let l = 0; l < layers; l++) {
    lines.push(`Layer ${l}: the answer position's attention on single tokens (mean over seeds; the rest is on the filler):`, '');
    lines.push(table(['arm', ...h.tokenNames], h.arms.map((a) => [a.label, ...a.tokens[l].map(formatPercent)])), '');
  }
  return lines.join('\n');
}

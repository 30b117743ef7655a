/**
 * The MEAP arms of one study against each other on the primary endpoint. Every arm of a seed starts from the same
 * weights and sees the same batches, so two arms are paired by seed: exact McNemar test on the seeds that learned
 * under one arm only, Holm over every pair of MEAP arms (a sweep of k ratios makes k(k − 1)/2 pairs).
 */
import { holmAdjust, mcnemarExact, type McNemarResult } from './multipleComparisons';
import { formatP, table } from './reportFormat';

/** What a pair needs of an arm (reportStatistics' ArmSummary has it). */
export interface PairableArm {
  arm: number;
  label: string;
  maskRatio: number;
  seeds: number[];
  learned: { learnedSteps: (number | null)[] };
}

export interface ArmPair {
  /** The lower- and the higher-listed MEAP arm. */
  first: { arm: number; label: string; learned: number };
  second: { arm: number; label: string; learned: number };
  seeds: number;
  /** onlyFirst: seeds that learned under `first` only; onlySecond: under `second` only. */
  test: McNemarResult;
  holm: number;
  verdict: string;
}

/** Per seed: whether the arm's run of that seed met the primary endpoint (learned by the last step). */
export function learnedBySeed(a: Pick<PairableArm, 'seeds' | 'learned'>): Map<number, boolean> {
  return new Map(a.seeds.map((seed, i) => [seed, a.learned.learnedSteps[i] !== null]));
}

export function meapArmPairs(arms: readonly PairableArm[]): ArmPair[] {
  const meap = arms.filter((a) => a.maskRatio > 0);
  const partial: Omit<ArmPair, 'holm' | 'verdict'>[] = [];
  for (let i = 0; i < meap.length; i++) {
    for (let j = i + 1; j < meap.length; j++) {
      const a = learnedBySeed(meap[i]), b = learnedBySeed(meap[j]);
      const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
      const first = seeds.map((s) => a.get(s)!), second = seeds.map((s) => b.get(s)!);
      partial.push({
        first: { arm: meap[i].arm, label: meap[i].label, learned: first.filter(Boolean).length },
        second: { arm: meap[j].arm, label: meap[j].label, learned: second.filter(Boolean).length },
        seeds: seeds.length, test: mcnemarExact(first, second),
      });
    }
  }
  const holm = holmAdjust(partial.map((p) => p.test.p));
  return partial.map((p, k) => ({
    ...p, holm: holm[k],
    verdict: holm[k] < 0.05
      ? `${p.test.onlyFirst > p.test.onlySecond ? p.first.label : p.second.label} learns on more seeds`
      : 'not distinguished',
  }));
}

/** The report's section (none for fewer than two MEAP arms). */
export function armPairsSection(pairs: readonly ArmPair[]): string[] {
  if (pairs.length === 0) return [];
  return [
    '## MEAP arms against each other (paired by seed)', '',
    'Every arm of a seed starts from the same weights and sees the same batches, so two MEAP arms are compared seed by seed on '
      + 'the primary endpoint: exact McNemar test on the seeds that learned under one arm only (two-sided), Holm over the '
      + `${pairs.length} pair${pairs.length === 1 ? '' : 's'}. "Not distinguished" is not "equal": see the counts.`, '',
    table(['pair', 'seeds', 'learned (first / second)', 'only first / only second', 'McNemar p', 'Holm p', 'verdict'],
      pairs.map((p) => [`${p.first.label} vs ${p.second.label}`, String(p.seeds), `${p.first.learned} / ${p.second.learned}`,
        `${p.test.onlyFirst} / ${p.test.onlySecond}`, formatP(p.test.p), formatP(p.holm), p.verdict])),
    '',
  ];
}

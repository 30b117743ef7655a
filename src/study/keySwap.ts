/**
 * Pre-registration 4 of docs/preregistration-query-attention.md, on needle-quick-fresh retrained with the key-swap
 * probe (AttentionRecord.keySwap): among the MEAP runs that learned retrieval, is the answer mostly given without
 * reading the query's key (H9: the mean share of key-swapped prompts still answered with the needle's value, its 95 %
 * bootstrap interval against 0.5)? NTP's learned runs and the runs that did not learn are described, not tested.
 */
import { analyseStudy, type StudyRecord } from './report';
import { learnedBySeed } from './reportArmPairs';
import { formatPercent, table } from './reportFormat';
import { bootstrapMeanCI, mean } from './stats';

const SEED = 20261208;

export interface ShareEstimate { n: number; mean: number; lo: number; hi: number }

export interface KeySwapGroup { label: string; clean: ShareEstimate; swapped: ShareEstimate }

export interface KeySwapResult {
  study: string;
  groups: KeySwapGroup[];
  h9: ShareEstimate & { verdict: 'confirmed' | 'refuted' | 'undecided' };
}

function share(values: number[], seed: number): ShareEstimate {
  if (values.length === 0) return { n: 0, mean: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const ci = bootstrapMeanCI(values, { seed });
  return { n: values.length, mean: mean(values), lo: ci.lo, hi: ci.hi };
}

/** `record`: a study with an NTP arm (0) and one MEAP arm (1) whose runs carry the key-swap probe. */
export function keySwap(record: StudyRecord): KeySwapResult {
  const summary = analyseStudy(record);
  const runs = record.units.flatMap((u) => u.runs);
  const groups: KeySwapGroup[] = [];
  let h9: ShareEstimate | null = null;
  for (const arm of [0, 1] as const) {
    const learned = learnedBySeed(summary.arms[arm]);
    const mine = runs.filter((r) => r.arm === arm).map((r) => {
      if (!r.attention?.keySwap) throw new RangeError(`${record.study}: run of seed ${r.seed} (arm ${arm}) has no key-swap probe`);
      return { learned: learned.get(r.seed)!, ...r.attention.keySwap };
    });
    for (const outcome of [true, false]) {
      const group = mine.filter((r) => r.learned === outcome);
      const seed = SEED + 10 * arm + (outcome ? 0 : 2);
      const g = {
        label: `${summary.arms[arm].label}, ${outcome ? 'learned' : 'not learned'}`,
        clean: share(group.map((r) => r.clean), seed), swapped: share(group.map((r) => r.swapped), seed + 1),
      };
      groups.push(g);
      if (arm === 1 && outcome) h9 = g.swapped;
    }
  }
  const h = h9!;
  const verdict = h.n > 0 && h.lo > 0.5 ? 'confirmed' : h.n > 0 && h.hi < 0.5 ? 'refuted' : 'undecided';
  return { study: record.study, groups, h9: { ...h, verdict } };
}

const estimate = (e: ShareEstimate) => (e.n === 0 ? '—' : `${formatPercent(e.mean)} [${formatPercent(e.lo)}, ${formatPercent(e.hi)}]`);

export function keySwapMarkdown(k: KeySwapResult): string {
  return [
    '# Does retrieval at this scale read the key?', '',
    'The pre-registered test of [docs/preregistration-query-attention.md](../docs/preregistration-query-attention.md), part 4, on '
      + `\`${k.study}\` retrained with the key-swap probe (quick preset, NTP vs MEAP 0.15, 64 seeds per arm). On the 200 analysed `
      + 'evaluation prompts of each final model: the share answered (greedy) with the needle\'s value as the prompt is, and with '
      + 'the query key swapped for a key that is nowhere in the prompt. A model that reads the key cannot find that key; one that '
      + 'copies the only value in the context answers the same. "Learned": retrieval ≥ 50 % by step 800 (the primary endpoint). '
      + 'Means over runs with 95 % bootstrap intervals.', '',
    '## H9: MEAP\'s learned runs answer without the key (interval above 50 %)', '',
    table(['runs', 'n', 'key swapped: still the needle\'s value', 'verdict'], [['MEAP, learned', String(k.h9.n), estimate(k.h9), k.h9.verdict]]), '',
    '## All runs (descriptive)', '',
    table(['runs', 'n', 'prompt as it is: the needle\'s value', 'key swapped: still the needle\'s value'],
      k.groups.map((g) => [g.label, String(g.clean.n), estimate(g.clean), estimate(g.swapped)])), '',
  ].join('\n');
}

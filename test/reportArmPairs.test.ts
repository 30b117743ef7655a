/** The MEAP arms of one study against each other, paired by seed (src/study/reportArmPairs.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { armPairsSection, meapArmPairs, type PairableArm } from '../src/study/reportArmPairs';
import { holmAdjust, mcnemarExact } from '../src/study/multipleComparisons';
import { analyseStudy, type StudyRecord } from '../src/study/report';

const arm = (index: number, maskRatio: number, learned: boolean[]): PairableArm => ({
  arm: index, label: `P ${maskRatio}`, maskRatio, seeds: learned.map((_, s) => s),
  learned: { learnedSteps: learned.map((l) => (l ? 100 : null)) },
});

describe('MEAP arms against each other', () => {
  it('pairs every two MEAP arms by seed (NTP left out), McNemar on the discordant seeds, Holm over the pairs', () => {
    const ntp = arm(0, 0, Array(10).fill(false) as boolean[]);
    const a = arm(1, 0.1, [true, false, false, false, false, false, false, false, false, false]);
    const b = arm(2, 0.2, [true, true, true, true, true, true, true, true, true, false]);
    const c = arm(3, 0.3, [false, true, true, true, true, true, true, true, true, true]);
    const pairs = meapArmPairs([ntp, a, b, c]);
    expect(pairs.map((p) => `${p.first.label} vs ${p.second.label}`)).toEqual(['P 0.1 vs P 0.2', 'P 0.1 vs P 0.3', 'P 0.2 vs P 0.3']);
    // a vs b: 8 seeds learned under b only, none under a only → exact p = 2 · ½⁸.
    expect(pairs[0].test).toMatchObject({ onlyFirst: 0, onlySecond: 8 });
    expect(pairs[0].test.p).toBeCloseTo(2 / 256, 12);
    expect(pairs[0]).toMatchObject({ seeds: 10, first: { learned: 1 }, second: { learned: 9 } });
    expect(pairs[2].test).toEqual(mcnemarExact([true, true, true, true, true, true, true, true, true, false], [false, true, true, true, true, true, true, true, true, true]));
    expect(pairs.map((p) => p.holm)).toEqual(holmAdjust(pairs.map((p) => p.test.p)));
    expect(pairs[0].verdict).toBe('P 0.2 learns on more seeds');
    expect(pairs[2].verdict).toBe('not distinguished');
    const md = armPairsSection(pairs).join('\n');
    expect(md).toContain('Holm over the 3 pairs');
    expect(md).toContain('| P 0.1 vs P 0.2 | 10 | 1 / 9 | 0 / 8 | 0.0078 |');
    expect(meapArmPairs([ntp, a])).toEqual([]);
    expect(armPairsSection([])).toEqual([]);
  });

  it('on the committed needle-quick-sweep: 0.15 vs 0.20 recomputed by hand from study.json', () => {
    const record = JSON.parse(readFileSync('reports/needle-quick-sweep/study.json', 'utf8')) as StudyRecord;
    const s = analyseStudy(record);
    expect(s.armPairs).toHaveLength(6);
    const learned = (armIndex: number) => new Map(record.units.flatMap((u) => u.runs).filter((r) => r.arm === armIndex)
      .map((r) => [r.seed, r.history.some((p) => p.step <= 800 && p.retrievalAcc >= 0.5)]));
    const p15 = learned(3), p20 = learned(4);
    const seeds = [...p15.keys()].sort((x, y) => x - y);
    const pair = s.armPairs.find((p) => p.first.label === 'MEAP 15%' && p.second.label === 'MEAP 20%')!;
    expect(pair.test).toEqual(mcnemarExact(seeds.map((k) => p15.get(k)!), seeds.map((k) => p20.get(k)!)));
    expect(pair.seeds).toBe(32);
  });
});

/** The controls side by side (src/study/controlFamily.ts): paired by seed with needle-quick, Holm across the family. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { controlFamily, controlFamilyMarkdown } from '../src/study/controlFamily';
import { fisherExact } from '../src/study/exactTests';
import { holmAdjust } from '../src/study/multipleComparisons';
import { analyseStudy, type StudyRecord } from '../src/study/report';

// A committed record (needle-quick-2k): only its shape and numbers are used.
const main = JSON.parse(readFileSync('reports/needle-quick-2k/study.json', 'utf8')) as StudyRecord;

/** A "control": main with the MEAP runs of the first `unlearn` seeds that learned made never to learn. */
function controlUnlearning(name: string, unlearn: number): { record: StudyRecord; flipped: number[] } {
  const record = structuredClone(main);
  record.study = name;
  const threshold = 0.5;
  const flipped: number[] = [];
  for (const run of record.units.flatMap((u) => u.runs).filter((r) => r.maskRatio > 0).sort((a, b) => a.seed - b.seed)) {
    if (flipped.length === unlearn) break;
    if (!run.history.some((p) => (p.retrievalAcc ?? 0) >= threshold)) continue;
    for (const p of run.history) {
      p.retrievalAcc = 0;
      p.accByDepth = p.accByDepth.map(() => 0);
    }
    flipped.push(run.seed);
  }
  expect(flipped).toHaveLength(unlearn);
  return { record, flipped };
}

describe('control family', () => {
  it('pairs each control with needle-quick by seed (McNemar), tests it against its NTP (Fisher), Holm-adjusts both', () => {
    const { k: meapLearned, n: seeds } = analyseStudy(main).primary[0].meap;
    expect(meapLearned).toBeGreaterThanOrEqual(3);
    const a = controlUnlearning('control-a', 1), b = controlUnlearning('control-b', 3);
    const family = controlFamily(main, [{ name: 'a', what: 'one seed unlearned', record: a.record }, { name: 'b', what: 'three', record: b.record }]);
    const [ra, rb] = family.rows;
    // Paired: only the flipped seeds disagree, all in needle-quick's favour; p = 2 · ½ⁿ.
    expect(rb.vsMeap).toMatchObject({ seeds, control: meapLearned - 3, meap: meapLearned });
    expect([rb.vsMeap!.test.onlyFirst, rb.vsMeap!.test.onlySecond]).toEqual([0, 3]);
    expect(rb.vsMeap!.test.p).toBeCloseTo(2 * 0.5 ** 3, 12);
    expect(ra.vsMeap!.test.p).toBe(1);
    expect([ra.vsMeap!.holm, rb.vsMeap!.holm]).toEqual(holmAdjust([ra.vsMeap!.test.p, rb.vsMeap!.test.p]));
    // Against the study's own NTP arm: Fisher on the counts, Holm over the two.
    const ntp = family.main!.ntp;
    expect(rb.vsNtp.fisher.p).toBeCloseTo(fisherExact(meapLearned - 3, seeds - meapLearned + 3, ntp.k, ntp.n - ntp.k).p, 12);
    expect([ra.holmVsNtp, rb.holmVsNtp]).toEqual(holmAdjust([ra.vsNtp.fisher.p, rb.vsNtp.fisher.p]));
    const md = controlFamilyMarkdown(family, ['x/study.json']);
    expect(md).toContain('m = 2');
    expect(md).toContain(`| b | ${seeds} |`);
    expect(md).toContain('0 / 3');
    expect(md).toMatch(/not distinguished/);
    expect(md).toMatch(/How often MEAP hides the needle: in needle-quick's MEAP arm \d+\.\d% of the training sequences \(n = 3200/);
  });

  it('without needle-quick\'s record it still tests each control against NTP, and says no pairing was possible', () => {
    const family = controlFamily(null, [{ name: 'a', what: 'x', record: controlUnlearning('a', 1).record }]);
    expect(family.main).toBeNull();
    expect(family.rows[0].vsMeap).toBeNull();
    expect(controlFamilyMarkdown(family, [])).toContain('no paired comparison');
  });
});

describe('how often MEAP hides the needle', () => {
  it('on needle-quick: about a quarter of the sequences, as 1 − C(13,2)/C(15,2) = 25.7 % says; never with the needle protected', async () => {
    const { maskedNeedleShare } = await import('../src/study/maskedNeedle');
    const { studyDefinition } = await import('../src/study/studies');
    const quick = maskedNeedleShare(studyDefinition('needle-quick').config, 100);
    expect([quick.k, quick.maskable, quick.sequences]).toEqual([2, 15, 3200]);
    expect(quick.expected).toBeCloseTo(1 - 78 / 105, 12);
    // 3200 sequences: the binomial standard error is 0.8 points; 4 of them is far out.
    expect(Math.abs(quick.share - quick.expected)).toBeLessThan(0.032);
    expect(maskedNeedleShare(studyDefinition('needle-quick-needle-visible').config, 20).share).toBe(0);
  });
});

/**
 * The pre-registered query-attention test (src/study/queryAttention.ts) and its place in `npm run controls-report`:
 * paired differences by seed, sign-flip p-values with Holm, verdicts by the expected sign; built on committed records
 * (needle-quick and its never-mask-`?` control) whose numbers are recomputed here by hand.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { holmAdjust } from '../src/study/multipleComparisons';
import { queryAttention, queryAttentionMarkdown } from '../src/study/queryAttention';
import type { StudyRecord } from '../src/study/report';
import { mean, signFlipTest } from '../src/study/stats';

const ROOT = resolve(__dirname, '..');
const read = (name: string) => JSON.parse(readFileSync(join(ROOT, 'reports', name, 'study.json'), 'utf8')) as StudyRecord;
const main = read('needle-quick');
const marker = read('needle-quick-protect-query-marker');

/** Layer-0 mass on a segment of one arm's runs, by seed. */
function massBySeed(record: StudyRecord, arm: number, segment: string): Map<number, number> {
  return new Map(record.units.flatMap((u) => u.runs).filter((r) => r.arm === arm)
    .map((r) => [r.seed, r.attention!.segmentMassByLayer[0][r.attention!.segmentNames.indexOf(segment)]]));
}

describe('query attention (pre-registered)', () => {
  const a = queryAttention(main, marker);

  it('pairs by seed, tests each difference by sign flips and Holm-adjusts the four', () => {
    const ntp = massBySeed(main, 0, 'query'), meap = massBySeed(main, 1, 'query');
    const d = [...meap.keys()].sort((x, y) => x - y).map((s) => meap.get(s)! - ntp.get(s)!);
    expect(a.tests[0]).toMatchObject({ hypothesis: 'H1: MEAP − NTP', segment: 'query', layer: 0, n: 64 });
    expect(a.tests[0].mean).toBeCloseTo(mean(d), 12);
    expect(a.tests[0].lo).toBeLessThan(a.tests[0].mean);
    expect(a.tests[0].hi).toBeGreaterThan(a.tests[0].mean);
    expect(a.tests.map((t) => t.holm)).toEqual(holmAdjust(a.tests.map((t) => t.p)));
    expect(a.tests[0].p).toBe(signFlipTest(d, { seed: 20261205 }).p);
    // The never-mask-`?` arm is paired with MEAP on the same seeds.
    const protectedNeedle = massBySeed(marker, 1, 'needle'), meapNeedle = massBySeed(main, 1, 'needle');
    expect(a.tests[3].mean).toBeCloseTo(mean([...meapNeedle.keys()].map((s) => protectedNeedle.get(s)! - meapNeedle.get(s)!)), 12);
    expect(a.meap.runs.filter((r) => r.learned)).toHaveLength(33);
    expect(a.retrieval.main).toMatchObject({ meap: { k: 33, n: 64 }, ntp: { k: 16, n: 64 } });
  });

  it('confirms only in the expected direction: with the arms swapped every hypothesis is reversed', () => {
    expect(a.tests.every((t) => t.confirmed)).toBe(true);
    const swapped = structuredClone(main);
    for (const run of swapped.units.flatMap((u) => u.runs)) run.arm = 1 - run.arm;
    for (const run of swapped.units.flatMap((u) => u.runs)) run.maskRatio = run.arm === 1 ? 0.15 : 0;
    const b = queryAttention(swapped, marker);
    expect(b.tests[0].mean).toBeCloseTo(-a.tests[0].mean, 12);
    expect(b.tests[0].confirmed).toBe(false);
    expect(queryAttentionMarkdown(b, null)).toMatch(/\| H1: MEAP − NTP \| query \| less \| 64 \| \+15\.7 pts .* \| reversed \|/);
  });

  it('renders the tables, the fresh-seed retrieval questions and the exploratory numbers marked as such', () => {
    const md = queryAttentionMarkdown(a, a);
    expect(md).toContain('## The four hypotheses (layer 0)');
    expect(md).toMatch(/MEAP vs NTP, learned by the last step: 33 of 64 vs 16 of 64, Fisher p = 0\.0034: MEAP better/);
    expect(md).toMatch(/`\?` never masked vs MEAP, paired by seed: 7 vs 33 of 64 learned, exact McNemar p < 0\.0001 \(1 seed learned only/);
    expect(md).toContain('## What suggested it (exploratory: the first 64 seeds, chosen after looking)');
    expect(md).not.toContain('NaN');
  });

  it('the committed reports/query-attention.md is what the committed fresh-seed records give', () => {
    const fresh = queryAttention(read('needle-quick-fresh'), read('needle-quick-fresh-protect-query-marker'));
    expect(queryAttentionMarkdown(fresh, a)).toBe(readFileSync(join(ROOT, 'reports', 'query-attention.md'), 'utf8'));
    expect(fresh.tests.map((t) => t.confirmed)).toEqual([true, true, true, true]);
  });

  it('controls-report writes reports/query-attention.md once both fresh-seed records are there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meap-query-attention-'));
    for (const [from, to] of [['needle-quick', 'needle-quick'], ['needle-quick-protect-query-marker', 'needle-quick-protect-query-marker'],
      ['needle-quick', 'needle-quick-fresh']]) {
      mkdirSync(join(dir, to));
      cpSync(join(ROOT, 'reports', from, 'study.json'), join(dir, to, 'study.json'));
    }
    const run = () => spawnSync(join(ROOT, 'node_modules', '.bin', 'vite-node'), ['src/cli/controlsReport.ts', '--', '--reports', dir],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const without = run();
    expect(without.status, without.stderr).toBe(0);
    expect(without.stdout).not.toContain('query-attention.md');
    mkdirSync(join(dir, 'needle-quick-fresh-protect-query-marker'));
    cpSync(join(ROOT, 'reports', 'needle-quick-protect-query-marker', 'study.json'), join(dir, 'needle-quick-fresh-protect-query-marker', 'study.json'));
    const withBoth = run();
    expect(withBoth.status, withBoth.stderr).toBe(0);
    expect(withBoth.stdout).toContain(`wrote ${join(dir, 'query-attention.md')} (the pre-registered test on fresh seeds, beside the first 64 seeds)`);
    expect(readFileSync(join(dir, 'query-attention.md'), 'utf8')).toContain('| H3: `?` never masked − MEAP | query | more | 64 |');
  }, 150_000);
});

/**
 * Pre-registration 4's analysis (src/study/keySwap.ts) on the committed needle-quick-fresh record given made-up
 * key-swap shares with known means: the learned / not-learned split follows the primary endpoint, H9's verdict
 * follows its interval, and a record without the probe is refused; the committed reports/key-swap.md is what the
 * committed record gives.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { keySwap, keySwapMarkdown } from '../src/study/keySwap';
import { analyseStudy, type StudyRecord } from '../src/study/report';
import { learnedBySeed } from '../src/study/reportArmPairs';

const committed = (): StudyRecord => JSON.parse(readFileSync('reports/needle-quick-fresh/study.json', 'utf8'));

/** Every run gets clean = its seed's learned flag ? 0.9 : 0.1, swapped = `swapped(learned, arm)`. */
function withProbe(swapped: (learned: boolean, arm: number) => number): StudyRecord {
  const r = committed();
  const summary = analyseStudy(r);
  const learned = [0, 1].map((a) => learnedBySeed(summary.arms[a]));
  for (const run of r.units.flatMap((u) => u.runs)) {
    const l = learned[run.arm].get(run.seed)!;
    run.attention!.keySwap = { clean: l ? 0.9 : 0.1, swapped: swapped(l, run.arm) };
  }
  return r;
}

describe('pre-registration 4: does retrieval read the key?', () => {
  it('splits each arm by the primary endpoint and confirms H9 when learned MEAP runs answer without the key', () => {
    const k = keySwap(withProbe((l) => (l ? 0.85 : 0.05)));
    const counts = analyseStudy(committed()).arms.map((a) => a.learned.learnedCount);
    expect(k.groups.map((g) => [g.label, g.clean.n])).toEqual([
      ['NTP, learned', counts[0]], ['NTP, not learned', 64 - counts[0]], ['MEAP 15%, learned', counts[1]], ['MEAP 15%, not learned', 64 - counts[1]],
    ]);
    expect(k.h9.n).toBe(counts[1]);
    expect(k.h9.mean).toBeCloseTo(0.85, 12);
    expect(k.h9.verdict).toBe('confirmed');
    const markdown = keySwapMarkdown(k);
    expect(markdown).toContain(`| MEAP, learned | ${counts[1]} | 85.0% [85.0%, 85.0%] | confirmed |`);
    expect(markdown).not.toMatch(/NaN|undefined/);
  });

  it('refutes H9 when learned MEAP runs lose the answer with the key swapped, and is undecided around one half', () => {
    expect(keySwap(withProbe(() => 0.1)).h9.verdict).toBe('refuted');
    let flip = 0;
    expect(keySwap(withProbe(() => (flip++ % 2 ? 0.2 : 0.8))).h9.verdict).toBe('undecided');
  });

  it('refuses a record without the probe', () => {
    const old = committed();
    delete old.units[3].runs[1].attention!.keySwap;
    expect(() => keySwap(old)).toThrow(/run of seed \d+ \(arm \d\) has no key-swap probe/);
  });

  it('gives the committed reports/key-swap.md from the committed record', () => {
    expect(keySwapMarkdown(keySwap(committed()))).toBe(readFileSync('reports/key-swap.md', 'utf8'));
  });
});

/**
 * Pre-registration 3's analysis (src/study/highRatios.ts) on a record built from the committed needle-quick-ratio-20
 * (NTP / 0.15 / 0.20): two more arms made from the 0.20 arm with known changes, and a made-up single-token split
 * with known differences, so every tested number is known before it is computed.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { RETRIEVAL_TOKEN_NAMES } from '../src/data/retrievalTokens';
import { highRatios, highRatiosMarkdown } from '../src/study/highRatios';
import { metricValue, type StudyRecord } from '../src/study/report';
import type { RunRecord } from '../src/study/records';
import { mean } from '../src/study/stats';

const MARKER = 3, SELF = 4;

/** The 0.20 arm's run with every accuracy raised by `lift` (capped at 1) as arm `arm` of ratio `ratio`. */
function variant(run: RunRecord, arm: number, ratio: number, lift: number): RunRecord {
  const copy = structuredClone(run);
  copy.arm = arm;
  copy.maskRatio = ratio;
  for (const p of copy.history) p.retrievalAcc = Math.min(1, p.retrievalAcc + lift);
  return copy;
}

function record(): StudyRecord {
  const r = JSON.parse(readFileSync('reports/needle-quick-ratio-20/study.json', 'utf8')) as StudyRecord;
  r.definition.config.arms = [0, 0.15, 0.2, 0.3, 0.4];
  for (const u of r.units) {
    const p20 = u.runs.filter((x) => x.arm === 2);
    u.runs.push(...p20.map((x) => variant(x, 3, 0.3, 0.05)), ...p20.map((x) => variant(x, 4, 0.4, 0)));
    for (const run of u.runs) {
      // NTP: 30 % on `?` and 20 % on itself; each MEAP arm 10 points less on `?` and (per seed ±) the same on itself.
      const onMarker = run.arm === 0 ? 0.3 : 0.2;
      const onSelf = 0.2 + (run.arm === 0 ? 0 : (run.seed % 2 ? 1 : -1) * 1e-3 * (run.seed % 7));
      run.attention!.tokenNames = [...RETRIEVAL_TOKEN_NAMES];
      run.attention!.tokenMassByLayer = [[0.1, 0.02, 0.1, onMarker, onSelf], [0.05, 0.05, 0.4, 0.1, 0.1]];
    }
  }
  return r;
}

describe('pre-registration 3: ratios above 0.20 and the layer-0 shift token by token', () => {
  const r = record();
  const h = highRatios(r);

  it('tests 0.30 and 0.40 against 0.20 on mean accuracy over training, paired by seed, Holm over the two', () => {
    const runs = r.units.flatMap((u) => u.runs);
    const arm = (a: number) => runs.filter((x) => x.arm === a).sort((x, y) => x.seed - y.seed).map((x) => metricValue(x, 'meanAcc'));
    const lifted = arm(3).map((v, i) => v - arm(2)[i]);
    const [h5, h6] = h.ratioTests;
    expect(h5.n).toBe(64);
    expect(h5.mean).toBeCloseTo(mean(lifted), 12);
    expect(h5.mean).toBeGreaterThan(0);
    expect(h5.p).toBeLessThan(0.001);                 // every difference ≥ 0, most > 0
    expect(h5.verdict).toBe('MEAP 30% higher');
    expect(h6.mean).toBe(0);
    expect(h6.p).toBe(1);
    expect(h6.verdict).toBe('not distinguished');
    expect(h5.holm).toBeCloseTo(Math.min(1, 2 * h5.p), 12); // the smaller p of two is doubled
  });

  it('tests the layer-0 shift on `?` (expected less) and on the answer position itself (two-sided)', () => {
    const [h7, h8] = h.tokenTests;
    expect(h7.mean).toBeCloseTo(-0.1, 12);
    expect(h7.lo).toBeCloseTo(-0.1, 12);
    expect(h7.verdict).toBe('confirmed');
    expect(h8.verdict).toBe('not distinguished');
    expect(Math.abs(h8.mean)).toBeLessThan(1e-3);
    expect(h.arms[1].tokens[0][SELF]).toBeCloseTo(0.2, 2);
  });

  it('describes every arm and states the ceiling-bound learned counts as McNemar pairs', () => {
    expect(h.arms.map((a) => a.label)).toEqual(['NTP', 'MEAP 15%', 'MEAP 20%', 'MEAP 30%', 'MEAP 40%']);
    expect(h.arms.map((a) => a.n)).toEqual([64, 64, 64, 64, 64]);
    expect(h.arms[2].learned).toBe(54);               // part 2's count
    expect(h.arms[4].learned).toBe(54);
    expect(h.arms[0].tokens[0][MARKER]).toBeCloseTo(0.3, 12);
    expect(h.arms[1].tokens[0][MARKER]).toBeCloseTo(0.2, 12);
    expect(h.learnedPairs[1].test).toEqual({ onlyFirst: 0, onlySecond: 0, p: 1 });
    const markdown = highRatiosMarkdown(h);
    expect(markdown).toContain('| H7: MEAP 0.15 − NTP | layer-0 attention on `?` | less | 64 | −10.0 pts [−10.0 pts, −10.0 pts] |');
    expect(markdown).toContain('| MEAP 40% | 64 | 54 of 64 |');
    expect(markdown).toContain(`| arm | ${RETRIEVAL_TOKEN_NAMES.join(' | ')} |`);
    expect(markdown).not.toMatch(/NaN|undefined/);
  });

  it('gives the committed reports/high-ratios.md from the committed needle-quick-high-ratios record', () => {
    const committed = JSON.parse(readFileSync('reports/needle-quick-high-ratios/study.json', 'utf8')) as StudyRecord;
    expect(highRatiosMarkdown(highRatios(committed))).toBe(readFileSync('reports/high-ratios.md', 'utf8'));
  });

  it('refuses a record without the ratios or without the single-token split', () => {
    const fewer = record();
    fewer.definition.config.arms = [0, 0.15, 0.2];
    expect(() => highRatios(fewer)).toThrow(/no arm with mask ratio 0.3/);
    const old = record();
    for (const run of old.units.flatMap((u) => u.runs)) delete run.attention!.tokenNames;
    expect(() => highRatios(old)).toThrow(/no single-token split/);
  });
});

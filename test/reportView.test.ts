/**
 * The page's report view (issue 16 item 3): one-seed statistics say "needs ≥ 2 seeds" instead of degenerate
 * intervals and p = 1; MEAP − NTP is drawn symmetric around zero with honest ticks; curves end at the
 * latest evaluated step. The CLI's default drawing is untouched (test/renderRecord.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { analyseStudy, figures, NEEDS_SEEDS, renderMarkdown } from '../src/study/report';
import { pageStudyRecord, type PageRecordInput } from '../src/study/pageRecord';
import { applyEdit, configToQuery, presetConfig } from '../src/store/configCodec';
import type { StudyConfig } from '../src/config/presets';
import type { HistoryPoint, RunInfo } from '../src/engine/types';
import { formatDifference } from '../src/ui/report/format';

function runInfos(config: StudyConfig): RunInfo[] {
  return config.arms.flatMap((maskRatio, arm) => Array.from({ length: config.seedsPerArm }, (_, seed) => ({
    arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
  })));
}

function input(config: StudyConfig, acc: number[][], steps: number[]): PageRecordInput {
  const points: HistoryPoint[][] = acc.map((series) => series.map((a, k) => ({
    step: steps[k], trainLoss: 2, valLoss: 2 - a, retrievalAcc: a, accByDepth: [a, a], tokensPerSec: 1000,
  })));
  return {
    presetName: 'tiny', config, bucketLabel: 'needle depth', runs: runInfos(config), points, engine: 'webgpu', adapter: null,
    attention: null, command: `http://localhost/?${configToQuery('tiny', config)}`, generatedAt: '2026-01-02T03:04:05.000Z', trainingMs: 1,
  };
}

/** The y tick labels of an SVG figure (right-aligned texts left of the plot). */
function yTicks(svg: string): string[] {
  return [...svg.matchAll(/<text [^>]*text-anchor="end"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** The x tick labels of an SVG figure (centred texts under the plot, axis title excluded). */
function xTicks(svg: string): number[] {
  return [...svg.matchAll(/<text [^>]*text-anchor="middle" fill="[^"]*">([^<]*)<\/text>/g)].map((m) => Number(m[1])).filter(Number.isFinite);
}

describe('one seed per arm', () => {
  const config = presetConfig('tiny'); // 1 seed per arm
  const record = pageStudyRecord(input(config, [[0.1, 0.125], [0.1, 0.1]], [10, 20]));
  const summary = analyseStudy(record);

  it('says "needs ≥ 2 seeds" instead of a CI of one value and p = 1', () => {
    const markdown = renderMarkdown(record, summary);
    expect(markdown).toContain(NEEDS_SEEDS);
    expect(markdown).not.toMatch(/\[(\d+\.\d%), \1\]/); // "[10.0%, 10.0%]"
    expect(markdown).not.toContain('1.0000');
    expect(summary.verdictLines.join('\n')).toContain(NEEDS_SEEDS);
    const c = summary.comparisons.find((k) => k.metric === 'finalAcc')!;
    expect(formatDifference(c.metric, c.diff, c.n)).toBe(`−2.5 pts (CI ${NEEDS_SEEDS} per arm)`);
  });

  it('still gives intervals with two seeds', () => {
    const two = applyEdit('tiny', presetConfig('tiny'), 'seedsPerArm', 2);
    const r = pageStudyRecord(input(two, [[0.1, 0.2], [0.1, 0.3], [0.2, 0.4], [0.1, 0.5]], [10, 20]));
    expect(renderMarkdown(r, analyseStudy(r))).not.toContain(NEEDS_SEEDS);
  });
});

describe("the page's figures", () => {
  const config = applyEdit('tiny', presetConfig('tiny'), 'seedsPerArm', 2);
  // A −0.8 point difference: NTP seeds 0.500, 0.508; MEAP seeds 0.496, 0.496.
  const record = pageStudyRecord(input(config, [[0.3, 0.5], [0.3, 0.508], [0.3, 0.496], [0.3, 0.496]], [10, 20]));
  const summary = analyseStudy(record);

  it('draw MEAP − NTP symmetric around zero, at least ±5 points, ticks never repeated or "-0", the difference written out', () => {
    const cli = figures(record, summary)['difference.svg'];
    const page = figures(record, summary, { symmetricDifferences: true })['difference.svg'];
    const ticks = yTicks(page);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.some((t) => /^[-−]0(\.0*)?$/.test(t))).toBe(false);
    const values = ticks.map(Number);
    expect(Math.min(...values)).toBe(-Math.max(...values));
    expect(Math.max(...values)).toBeGreaterThanOrEqual(5);
    expect(page).toContain('final −0.8 pts');
    // The CLI's figure is drawn as before (its ticks from the data).
    expect(cli).not.toBe(page);
  });

  it('end the curves at the latest evaluated step while the study runs', () => {
    const running = figures(record, summary, { latestStep: 20 })['accuracy.svg'];
    expect(Math.max(...xTicks(running))).toBe(20);
    expect(Math.max(...xTicks(figures(record, summary)['accuracy.svg']))).toBe(config.steps);
  });
});

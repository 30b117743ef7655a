import { describe, expect, it } from 'vitest';
import {
  applyEdit, changedFields, configFromQuery, configToQuery, defaultPresetName, presetConfig, presetNames, taskNames,
} from '../src/store/configCodec';
import { applyMessages, type RunsState } from '../src/store/runs';
import { armData, armGroups, armLines, stats } from '../src/ui/charts/series';
import { armColor, armLabel, NTP_COLOR } from '../src/util/palette';
import { PAPER_MASK_GRID, PRESETS } from '../src/config/presets';
import { validateStudyConfig } from '../src/config/validate';
import type { HistoryPoint } from '../src/engine/types';

describe('config ↔ URL', () => {
  it('round-trips every preset with edits exactly', () => {
    for (const name of presetNames()) {
      if (PRESETS[name as keyof typeof PRESETS].task === 'text') continue; // slow to validate; same code path
      let config = presetConfig(name);
      config = applyEdit(name, config, 'steps', 123);
      config = applyEdit(name, config, 'lr', 0.0012345678901234);
      config = applyEdit(name, config, 'arms', [0, 0.05, 0.2]);
      config = applyEdit(name, config, 'seedsPerArm', 3);
      config = applyEdit(name, config, 'sharedMask', true);
      config = applyEdit(name, config, 'replace', 'random');
      config = applyEdit(name, config, 'baseSeed', 77);
      config = applyEdit(name, config, 'evalEvery', 9);
      const parsed = configFromQuery(configToQuery(name, config));
      expect(parsed.notices).toEqual([]);
      expect(parsed.presetName).toBe(name);
      expect(parsed.config).toEqual(config);
      validateStudyConfig(parsed.config);
    }
  });

  it('keeps parameters that are not the config and writes arms readably', () => {
    const query = configToQuery('tiny', presetConfig('tiny'), 'head=3&preset=old');
    const params = new URLSearchParams(query);
    expect(params.get('head')).toBe('3');
    expect(params.get('preset')).toBe('tiny');
    expect(query).toContain('arms=0,0.15');
  });

  it('ignores invalid values one by one with a notice that quotes them as text', () => {
    const parsed = configFromQuery('?preset=tiny&steps=abc&lr=-1&arms=0,<b>x</b>&seedsPerArm=2&sharedMask=maybe&evalEvery=0&task=nope');
    const tiny = presetConfig('tiny');
    expect(parsed.config.steps).toBe(tiny.steps);
    expect(parsed.config.optimizer.lr).toBe(tiny.optimizer.lr);
    expect(parsed.config.arms).toEqual(tiny.arms);
    expect(parsed.config.seedsPerArm).toBe(2);
    expect(parsed.notices).toHaveLength(6);
    expect(parsed.notices.join('\n')).toContain('Ignored arms="0,<b>x</b>"');
    expect(parsed.fromLink).toBe(true);
  });

  it('falls back to the default preset for an unknown one and truncates long raw values', () => {
    const parsed = configFromQuery(`?preset=${'x'.repeat(500)}`);
    expect(parsed.presetName).toBe(defaultPresetName());
    expect(parsed.notices[0].length).toBeLessThan(200);
    expect(configFromQuery('').fromLink).toBe(false);
  });

  it('refuses duplicate arms, too many runs and out-of-range values', () => {
    const tiny = presetConfig('tiny');
    expect(() => applyEdit('tiny', tiny, 'arms', [0, 0.15, 0.15])).toThrow(/only once/);
    expect(() => applyEdit('tiny', tiny, 'arms', [0, 1])).toThrow(/\[0, 1\)/);
    expect(() => applyEdit('tiny', applyEdit('tiny', tiny, 'arms', [...PAPER_MASK_GRID]), 'seedsPerArm', 16)).toThrow(/at most 64 runs/);
    expect(() => applyEdit('tiny', tiny, 'steps', 1.5)).toThrow(/whole number/);
    expect(() => applyEdit('tiny', tiny, 'batch', 0)).toThrow(/whole number/);
  });

  it('derives the warm-up from the steps as the CLI does', () => {
    const s = presetConfig('needle-s');
    expect(applyEdit('needle-s', s, 'steps', 300).optimizer.warmupSteps).toBe(30);
    expect(applyEdit('needle-s', s, 'steps', 5000).optimizer.warmupSteps).toBe(PRESETS['needle-s'].optimizer.warmupSteps);
  });

  it('switches task keeping the model size, with a vocabulary that validates', () => {
    const tasks = taskNames().filter((t) => t !== 'text');
    for (const task of tasks) {
      const next = applyEdit('needle-s', presetConfig('needle-s'), 'task', task);
      expect(next.task).toBe(task);
      expect(next.model.dModel).toBe(PRESETS['needle-s'].model.dModel);
      validateStudyConfig(next);
    }
    expect(changedFields('tiny', presetConfig('tiny'), 'tiny', applyEdit('tiny', presetConfig('tiny'), 'batch', 4))).toEqual(['batch']);
  });
});

function emptyRuns(): RunsState {
  return applyMessages({
    state: 'idle', step: 0, study: null, error: null,
    train: { steps: [], loss: [] }, evals: { steps: [], points: [] },
    speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [], msPerStep: [] }, failures: [],
    optim: { gradNorm: [], learningRate: [], weightNorm: [] },
  }, []);
}

const point = (step: number, acc: number): HistoryPoint => ({ step, trainLoss: 1, valLoss: 2, retrievalAcc: acc, accByDepth: [acc], tokensPerSec: 1 });

describe('runs store', () => {
  const runs = [
    { arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' as const },
    { arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' as const },
  ];
  const task = {
    segmentNames: ['context before', 'needle', 'context after', 'query', 'answer'], inputSegments: 4,
    tokenNames: ['[PAD]', 'w0', 'K0', 'V0'], characters: null, bucketLabel: 'needle depth', examples: [],
  };
  const built = { type: 'built' as const, runs, parameterCount: 10, memoryBytes: 100, config: presetConfig('tiny'), task };

  it('appends aligned series, keeps NaN as a gap and drops stale points', () => {
    let s = applyMessages(emptyRuns(), [built, { type: 'state', state: 'running', step: 0 }]);
    s = applyMessages(s, [
      { type: 'trainLoss', step: 5, losses: [3, 3.1], stepsPerSecond: 10, tokensPerSecond: 1000 },
      { type: 'trainLoss', step: 10, losses: [2.5, Number.NaN], stepsPerSecond: 20, tokensPerSecond: 2000 },
      { type: 'trainLoss', step: 10, losses: [9, 9], stepsPerSecond: 20, tokensPerSecond: 2000 },
      { type: 'evaluation', step: 10, points: [point(10, 0.1), point(10, 0.2)] },
    ]);
    expect(s.study?.task).toBe(task);
    expect(s.train.steps).toEqual([5, 10]);
    expect(s.train.loss).toEqual([[3, 2.5], [3.1, null]]);
    expect(s.speed.msPerStep).toEqual([100, 50]);
    expect(s.evals.points[1][0].retrievalAcc).toBe(0.2);
    expect(s.step).toBe(10);
  });

  it('does not mutate the previous state and clears the series on a new build or a reset to step 0', () => {
    const before = applyMessages(emptyRuns(), [built, { type: 'trainLoss', step: 5, losses: [3, 3], stepsPerSecond: 1, tokensPerSecond: 1 }]);
    const after = applyMessages(before, [{ type: 'trainLoss', step: 6, losses: [2, 2], stepsPerSecond: 1, tokensPerSecond: 1 }]);
    expect(before.train.steps).toEqual([5]);
    expect(after.train.steps).toEqual([5, 6]);
    expect(applyMessages(after, [built]).train.steps).toEqual([]);
    expect(applyMessages(after, [{ type: 'state', state: 'idle', step: 0 }]).train.loss).toEqual([[], []]);
  });
});

describe('chart series and palette', () => {
  it('groups runs by arm and computes mean, band and seed columns', () => {
    const runs = [0, 0.15].flatMap((maskRatio, arm) => [0, 1].map((seed) => ({ arm, maskRatio, seed, objective: maskRatio ? 'meap' as const : 'ntp' as const })));
    const groups = armGroups(runs, [0, 0.15]);
    expect(groups.map((g) => g.runs)).toEqual([[0, 1], [2, 3]]);
    const { lines, bands } = armLines(groups);
    expect(lines.map((l) => l.role)).toEqual(['mean', 'bound', 'bound', 'seed', 'seed', 'mean', 'bound', 'bound', 'seed', 'seed']);
    expect(bands.map(([u, l]) => [u, l])).toEqual([[1, 2], [6, 7]]);
    const values = [[1, 2], [3, 4], [5, null], [7, 8]];
    const data = armData([10, 20], groups, (r, k) => values[r][k]);
    expect(data[1]).toEqual([2, 3]);      // NTP mean
    expect(data[2]).toEqual([3, 4]);      // max
    expect(data[3]).toEqual([1, 2]);      // min
    expect(data[6]).toEqual([6, 8]);      // MEAP mean ignores the gap
    expect(stats([null, Number.NaN])).toEqual({ mean: null, min: null, max: null });
  });

  it('gives NTP blue and each grid ratio one colour everywhere', () => {
    expect(armColor(0)).toBe(NTP_COLOR);
    expect(armColor(0.15, [0, 0.15])).toBe(armColor(0.15, [...PAPER_MASK_GRID]));
    expect(new Set(PAPER_MASK_GRID.map((r) => armColor(r, PAPER_MASK_GRID))).size).toBe(PAPER_MASK_GRID.length);
    expect(armColor(0.3, [0, 0.3, 0.4])).not.toBe(armColor(0.4, [0, 0.3, 0.4]));
    expect(armLabel(0.125)).toBe('MEAP 12.5%');
  });
});

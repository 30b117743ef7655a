import { describe, expect, it } from 'vitest';
import { addSample, secondsLeft, type ProgressSample } from '../src/store/progress';

describe('time estimates', () => {
  it('before Start: the timed step × the steps to go', () => {
    expect(secondsLeft([], 250, 0, 800)).toBeCloseTo(200);
    expect(secondsLeft([], null, 0, 800)).toBeNaN();
  });

  it('while running: the rate over the last minute, steady through a slow evaluation', () => {
    let samples: ProgressSample[] = [];
    // 10 steps per second, with a 3 s evaluation every 100 steps.
    let at = 0;
    const estimates: number[] = [];
    for (let step = 10; step <= 600; step += 10) {
      at += 1000 + (step % 100 === 0 ? 3000 : 0);
      samples = addSample(samples, { step, atMs: at });
      if (at >= 60_000) estimates.push(secondsLeft(samples, 100, step, 2000));
    }
    expect(samples[samples.length - 1].atMs - samples[1].atMs).toBeLessThan(60_000);
    // The true rate is 100 steps per 13 s; the estimate never jumps by more than 15 % between reports.
    for (let i = 1; i < estimates.length; i++) expect(Math.abs(estimates[i] / estimates[i - 1] - 1)).toBeLessThan(0.15);
    const last = estimates[estimates.length - 1];
    expect(last).toBeGreaterThan(1400 * 0.13 * 0.85);
    expect(last).toBeLessThan(1400 * 0.13 * 1.15);
  });

  it('ignores stale samples (a step not after the last one)', () => {
    const samples = addSample([{ step: 10, atMs: 0 }], { step: 5, atMs: 100 });
    expect(samples).toEqual([{ step: 10, atMs: 0 }]);
  });
});

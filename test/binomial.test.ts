import { describe, expect, it } from 'vitest';
import { chanceAccuracy, wilsonInterval } from '../src/ui/charts/binomial';

describe('accuracy bands', () => {
  it('Wilson 95 % interval: 20 of 40 right is 35–65 %; 0 of 40 is 0–8.8 % (never below 0)', () => {
    const [lo, hi] = wilsonInterval(0.5, 40);
    expect(lo).toBeCloseTo(0.352, 3);
    expect(hi).toBeCloseTo(0.648, 3);
    const [lo0, hi0] = wilsonInterval(0, 40);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.0876, 3);
    const [lo1, hi1] = wilsonInterval(1, 40);
    expect(hi1).toBe(1);
    expect(lo1).toBeCloseTo(1 - 0.0876, 3);
    // More prompts (seeds pooled): narrower.
    expect(wilsonInterval(0.5, 320)[1] - wilsonInterval(0.5, 320)[0]).toBeLessThan(hi - lo);
    expect(wilsonInterval(0.5, 0)[0]).toBeNaN();
  });

  it('chance is one of the task\'s values at random', () => {
    expect(chanceAccuracy({ fillerWords: 16, keys: 8, values: 8 })).toBe(0.125);
    expect(chanceAccuracy({ alphabet: 'abc' })).toBeNull();
  });
});

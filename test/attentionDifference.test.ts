import { describe, expect, it } from 'vitest';
import { differenceMatrix } from '../src/ui/attention/DifferenceHeatmap';

describe('the attention difference map', () => {
  it('subtracts cell by cell over the causal cells and reports the largest difference', () => {
    const a = Float64Array.from([1, 0, 0.25, 0.75]);
    const b = Float64Array.from([1, 0, 0.5, 0.5]);
    const d = differenceMatrix(a, b, 2)!;
    expect(Array.from(d.values)).toEqual([0, 0, -0.25, 0.25]);
    expect(d.largest).toBe(0.25);
    expect(differenceMatrix(a, Float64Array.from([1]), 2)).toBeNull();
  });
});

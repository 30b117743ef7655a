import { describe, expect, it } from 'vitest';
import { STEP_INCREMENTS, tickLabels } from '../src/ui/charts/LiveChart';

describe('chart ticks', () => {
  it('never repeat a label: a flat line\'s narrow range gets the decimals it needs', () => {
    expect(tickLabels([4.1555, 4.1558, 4.1561, 4.1564])).toEqual(['4.1555', '4.1558', '4.1561', '4.1564']);
    expect(tickLabels([0, 0.5, 1, 1.5])).toEqual(['0.0', '0.5', '1.0', '1.5']);
    expect(tickLabels([0, 10, 20])).toEqual(['0', '10', '20']);
  });

  it('never write "-0"', () => {
    expect(tickLabels([-0.0001, 0, 0.0001].map((v) => v * 0))).toEqual(['0', '0', '0']);
    expect(tickLabels([-1, -0.4, 0, 0.4])).toEqual(['-1.0', '-0.4', '0.0', '0.4']);
    const labels = tickLabels([-0.00001, 0.5, 1]);
    expect(labels.some((l) => /^-0(\.0*)?$/.test(l))).toBe(false);
  });

  it('step axes tick at whole numbers only', () => {
    expect(STEP_INCREMENTS.every((v) => Number.isInteger(v) && v >= 1)).toBe(true);
  });
});

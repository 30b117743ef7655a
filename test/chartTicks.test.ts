import { describe, expect, it } from 'vitest';
import { STEP_INCREMENTS, tickLabels } from '../src/ui/charts/LiveChart';

describe('chart ticks', () => {
  it('never repeat a label: a flat line\'s narrow range gets the decimals it needs', () => {
    expect(tickLabels([4.1555, 4.1558, 4.1561, 4.1564])).toEqual(['4.1555', '4.1558', '4.1561', '4.1564']);
    expect(tickLabels([0, 0.5, 1, 1.5])).toEqual(['0.0', '0.5', '1.0', '1.5']);
    expect(tickLabels([0, 10, 20])).toEqual(['0', '10', '20']);
    expect(tickLabels([1, null, 3])).toEqual(['1', '', '3']);
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

describe('chart readout and smoothing', () => {
  it('hovering reads every seed after its arm\'s mean', async () => {
    const { describe: readout } = await import('../src/ui/charts/LiveChart');
    const spec = {
      key: 'k', xLabel: 'step', yLabel: 'loss', format: (v: number) => v.toFixed(2),
      lines: [
        { label: 'NTP', color: '#000', role: 'mean' as const },
        { label: 'NTP max', color: '#000', role: 'bound' as const },
        { label: 'NTP min', color: '#000', role: 'bound' as const },
        { label: 'NTP seed 0', color: '#000', role: 'seed' as const },
        { label: 'NTP seed 1', color: '#000', role: 'seed' as const },
      ],
    };
    const data = [[10, 20], [2, 1.5], [2.1, 1.6], [1.9, 1.4], [1.9, 1.4], [2.1, 1.6]] as never;
    expect(readout(spec, data, 0)).toBe('step 10 · NTP 2.00 (seeds 1.90, 2.10)');
    expect(readout(spec, data, null)).toBe('latest: step 20 · NTP 1.50');
  });

  it('EMA smoothing keeps x and missing points, and α = 0 changes nothing', async () => {
    const { smoothed } = await import('../src/ui/charts/series');
    const data = [[1, 2, 3, 4], [4, null, 2, 0]] as never;
    expect(smoothed(data, 0)).toBe(data);
    const out = smoothed(data, 0.5) as unknown as (number | null)[][];
    expect(out[0]).toEqual([1, 2, 3, 4]);
    expect(out[1]).toEqual([4, null, 3, 1.5]);
  });
});

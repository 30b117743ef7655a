import { describe, expect, it } from 'vitest';
import { cellAt, heatmapLayout } from '../src/ui/attention/geometry';
import { probabilityRgb, writeProbabilityRgb } from '../src/ui/attention/colours';

describe('heatmap geometry', () => {
  it('sizes cells to fill the target and never below one pixel', () => {
    const small = heatmapLayout(16, 320);
    expect(small.cell).toBe(20);
    expect(small.size).toBe(small.margin + 320);
    expect(heatmapLayout(256, 320).cell).toBe(1);
    expect(heatmapLayout(1000, 320).cell).toBe(1);
  });

  it('maps points to causal (query, key) cells and nothing else', () => {
    const layout = heatmapLayout(4, 40); // cell 10
    const m = layout.margin;
    expect(cellAt(layout, m + 5, m + 35)).toEqual({ query: 3, key: 0 });
    expect(cellAt(layout, m + 25, m + 29.9)).toEqual({ query: 2, key: 2 });
    expect(cellAt(layout, m + 35, m + 5)).toBeNull(); // above the diagonal: a future key
    expect(cellAt(layout, m - 1, m + 5)).toBeNull(); // on the axis strips
    expect(cellAt(layout, m + 5, m + 40)).toBeNull(); // below the grid
  });
});

describe('heatmap colours', () => {
  it('writes the same colour into an image row as probabilityRgb gives', () => {
    const base: [number, number, number] = [37, 99, 235];
    const row = new Uint8ClampedArray(4 * 7);
    const ps = [0, 1e-6, 0.01, 0.3, 0.49, 0.5, 1];
    ps.forEach((p, k) => writeProbabilityRgb(row, 4 * k, p, base));
    ps.forEach((p, k) => expect(Array.from(row.subarray(4 * k, 4 * k + 3))).toEqual(Array.from(Uint8ClampedArray.from(probabilityRgb(p, base)))));
    // White at 0, the base colour where √p = 0.7, darker above.
    expect(probabilityRgb(0, base)).toEqual([255, 255, 255]);
    expect(probabilityRgb(0.49, base).map((v) => Math.round(v))).toEqual(base);
    expect(probabilityRgb(1, base).map((v) => Math.round(v))).toEqual(base.map((v) => Math.round(v * 0.4)));
  });
});

import { describe, expect, it } from 'vitest';
import { cellAt, heatmapLayout } from '../src/ui/attention/geometry';

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

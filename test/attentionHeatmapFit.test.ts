import { describe, expect, it } from 'vitest';
import {
  AXIS_LABELS_PX, axisPositions, cellAt, fittedLayout, HEATMAP_GAP_PX, heatmapWidth, LABEL_SPACING_PX, MIN_CELL_PX, MIN_HALF_WIDTH_PX,
  STRIP_MARGIN,
} from '../src/ui/attention/geometry';
import { writeDivergingRgb } from '../src/ui/attention/DifferenceHeatmap';

describe('heatmaps fitted to their container', () => {
  it('takes the largest integer cell for which labels, strips and grid fit the width, square', () => {
    for (const [T, width] of [[16, 330], [16, 437], [16, 900], [24, 422], [64, 330], [256, 1200]]) {
      const layout = fittedLayout(T, width);
      expect(layout.size).toBe(STRIP_MARGIN + layout.cell * T);
      expect(AXIS_LABELS_PX + layout.size, `T ${T}, width ${width}`).toBeLessThanOrEqual(width);
      expect(AXIS_LABELS_PX + layout.size + T, 'one pixel more per cell would not fit').toBeGreaterThan(width);
    }
    expect(fittedLayout(16, 330).cell).toBe(Math.floor((330 - AXIS_LABELS_PX - STRIP_MARGIN) / 16));
  });

  it('never draws cells under the minimum: a long context is wider than a phone and scrolls in its figure', () => {
    const layout = fittedLayout(256, 330);
    expect(layout.cell).toBe(MIN_CELL_PX);
    expect(layout.size).toBeGreaterThan(330);
    expect(fittedLayout(16, 0).cell).toBe(MIN_CELL_PX);
  });

  it('grows with its container and maps points to the same cells at any size', () => {
    const small = fittedLayout(16, 400), large = fittedLayout(16, 800);
    expect(large.cell).toBeGreaterThan(small.cell);
    for (const layout of [small, large]) {
      const at = (q: number, k: number) => cellAt(layout, layout.margin + (k + 0.5) * layout.cell, layout.margin + (q + 0.5) * layout.cell);
      expect(at(15, 3)).toEqual({ query: 15, key: 3 });
      expect(at(3, 15)).toBeNull();
    }
  });

  it('gives two per row half the row (less the gap), one per row all of it, and a phone one per row either way', () => {
    expect(heatmapWidth(900, false)).toBe((900 - HEATMAP_GAP_PX) / 2);
    expect(heatmapWidth(900, true)).toBe(900);
    expect(2 * heatmapWidth(901, false) + HEATMAP_GAP_PX).toBeLessThanOrEqual(901);
    const phone = 2 * MIN_HALF_WIDTH_PX + HEATMAP_GAP_PX - 1;
    expect(heatmapWidth(phone, false)).toBe(phone);
    expect(heatmapWidth(phone, true)).toBe(phone);
  });

  it('labels every token when cells are wide enough, else every k-th, at least the label spacing apart', () => {
    expect(axisPositions(16, 20)).toHaveLength(16);
    expect(axisPositions(16, LABEL_SPACING_PX)).toHaveLength(16);
    expect(axisPositions(16, 6)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    const thinned = axisPositions(256, MIN_CELL_PX);
    for (let i = 1; i < thinned.length; i++) expect((thinned[i] - thinned[i - 1]) * MIN_CELL_PX).toBeGreaterThanOrEqual(LABEL_SPACING_PX);
    expect(thinned[0]).toBe(0);
  });
});

describe('the difference map\'s colours', () => {
  it('is white at 0, the first run\'s colour at +largest, the second\'s at −largest, halfway between', () => {
    const first: [number, number, number] = [37, 99, 235], second: [number, number, number] = [220, 38, 38];
    const out = new Uint8ClampedArray(4 * 5);
    [0, 0.2, -0.2, 0.1, 0.5].forEach((d, k) => writeDivergingRgb(out, 4 * k, d, 0.2, first, second));
    const rgb = (k: number) => Array.from(out.subarray(4 * k, 4 * k + 3));
    expect(rgb(0)).toEqual([255, 255, 255]);
    expect(rgb(1)).toEqual(first);
    expect(rgb(2)).toEqual(second);
    expect(rgb(3)).toEqual(first.map((c) => Math.round(255 + (c - 255) / 2)));
    expect(rgb(4)).toEqual(first); // beyond ±largest: full colour
  });
});

/**
 * Layout of an attention heatmap canvas (CSS pixels): a strip of segment colours and a row of mask marks
 * along the top (keys) and the left (queries), then a T × T grid of square cells.
 */
export interface HeatmapLayout {
  T: number;
  /** Side of one cell. */
  cell: number;
  /** Width of the axis strips before the grid, on both axes. */
  margin: number;
  /** Side of the whole canvas. */
  size: number;
}

export const SEGMENT_STRIP = 6;
export const MASK_STRIP = 5;
const GAP = 2;

export function heatmapLayout(T: number, target = 320): HeatmapLayout {
  const cell = Math.max(1, Math.floor(target / Math.max(1, T)));
  const margin = SEGMENT_STRIP + MASK_STRIP + GAP;
  return { T, cell, margin, size: margin + cell * T };
}

/** The causal cell (query row, key column) under a point, or null outside the grid or above the diagonal. */
export function cellAt(layout: HeatmapLayout, x: number, y: number): { query: number; key: number } | null {
  const key = Math.floor((x - layout.margin) / layout.cell);
  const query = Math.floor((y - layout.margin) / layout.cell);
  if (x < layout.margin || y < layout.margin || key >= layout.T || query >= layout.T || key > query) return null;
  return { query, key };
}

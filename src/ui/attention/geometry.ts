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
/** The strips before the grid (segment colours, mask marks, a gap), on both axes. */
export const STRIP_MARGIN = SEGMENT_STRIP + MASK_STRIP + GAP;
/** The token labels' column left of a heatmap (and row above it): `.att-heatmap-axes` in attention.css. */
export const AXIS_LABELS_PX = 56;
/** The smallest cell a fitted heatmap draws (a wider map than its container scrolls inside its figure). */
export const MIN_CELL_PX = 2;
/** Labels on an axis stay at least this far apart (every k-th token is labelled when cells are smaller). */
export const LABEL_SPACING_PX = 10;
/** Gap between the heatmaps of a row: `.att-heatmap-row` in attention.css. */
export const HEATMAP_GAP_PX = 16;
/** A heatmap is put two to a row only when each gets at least this width; otherwise one per row. */
export const MIN_HALF_WIDTH_PX = 300;

/** A heatmap whose cell grid aims at `target` CSS pixels (integer cells, at least one pixel). */
export function heatmapLayout(T: number, target = 320): HeatmapLayout {
  const cell = Math.max(1, Math.floor(target / Math.max(1, T)));
  return { T, cell, margin: STRIP_MARGIN, size: STRIP_MARGIN + cell * T };
}

/**
 * A heatmap fitted to `width` CSS pixels of its container, token labels included: the largest integer cell
 * for which labels + strips + grid fit, and never under MIN_CELL_PX (a long context then scrolls in its figure).
 */
export function fittedLayout(T: number, width: number): HeatmapLayout {
  const grid = Math.floor(width) - AXIS_LABELS_PX - STRIP_MARGIN;
  const cell = Math.max(MIN_CELL_PX, Math.floor(grid / Math.max(1, T)));
  return { T, cell, margin: STRIP_MARGIN, size: STRIP_MARGIN + cell * T };
}

/**
 * The width each heatmap of a row gets from the row's width: all of it when `large` (one per row), else half
 * of it (two per row) unless a half would be under MIN_HALF_WIDTH_PX (a phone: one per row either way).
 */
export function heatmapWidth(rowWidth: number, large: boolean): number {
  const row = Math.max(0, Math.floor(rowWidth));
  const half = Math.floor((row - HEATMAP_GAP_PX) / 2);
  return large || half < MIN_HALF_WIDTH_PX ? row : half;
}

/** The positions an axis labels: all of them, or every k-th so that labels stay LABEL_SPACING_PX apart. */
export function axisPositions(T: number, cell: number): number[] {
  const every = Math.max(1, Math.ceil(LABEL_SPACING_PX / Math.max(cell, 1e-9)));
  return Array.from({ length: T }, (_, p) => p).filter((p) => p % every === 0);
}

/** The causal cell (query row, key column) under a point, or null outside the grid or above the diagonal. */
export function cellAt(layout: HeatmapLayout, x: number, y: number): { query: number; key: number } | null {
  const key = Math.floor((x - layout.margin) / layout.cell);
  const query = Math.floor((y - layout.margin) / layout.cell);
  if (x < layout.margin || y < layout.margin || key >= layout.T || query >= layout.T || key > query) return null;
  return { query, key };
}

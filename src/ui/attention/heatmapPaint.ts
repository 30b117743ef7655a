import type { InputKind } from '../../store/attention';
import { segmentColour } from './colours';
import { MASK_STRIP, SEGMENT_STRIP, type HeatmapLayout } from './geometry';

/** The colour of the cells above the diagonal (future keys, never attended). */
export const FUTURE_RGB: readonly [number, number, number] = [243, 244, 246];

/** The one-pixel-per-cell grid a heatmap scales up, kept between draws (a new canvas and context per draw is slow). */
export interface Grid { canvas: HTMLCanvasElement; image: ImageData }

export function gridFor(previous: Grid | null, T: number): Grid {
  if (previous && previous.image.width === T) return previous;
  const canvas = document.createElement('canvas');
  canvas.width = T;
  canvas.height = T;
  return { canvas, image: new ImageData(T, T) };
}

/** Writes the RGB of causal cell (query, key) at offset `o` of an RGBA image (alpha is set by the painter). */
export type CellColour = (data: Uint8ClampedArray, o: number, query: number, key: number) => void;

/**
 * Paints a heatmap canvas: the grid (one pixel per cell in one ImageData pass, scaled up without smoothing;
 * `colour` for the causal cells, FUTURE_RGB above the diagonal), the segment strips and the mask marks
 * (solid on the masked input, hollow on the clean one). Sized for the device pixel ratio.
 */
export function paintHeatmap(canvas: HTMLCanvasElement, grid: Grid, layout: HeatmapLayout, colour: CellColour,
  segments: readonly number[], masked: readonly number[], input: InputKind): void {
  const { T, cell, margin, size } = layout;
  const dpr = window.devicePixelRatio || 1;
  const side = Math.round(size * dpr);
  if (canvas.width !== side) canvas.width = side;
  if (canvas.height !== side) canvas.height = side;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, size, size);

  const data = grid.image.data;
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const o = 4 * (i * T + j);
      if (j > i) {
        data[o] = FUTURE_RGB[0];
        data[o + 1] = FUTURE_RGB[1];
        data[o + 2] = FUTURE_RGB[2];
      } else {
        colour(data, o, i, j);
      }
      data[o + 3] = 255;
    }
  }
  grid.canvas.getContext('2d')?.putImageData(grid.image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(grid.canvas, margin, margin, cell * T, cell * T);

  for (let p = 0; p < T; p++) {
    ctx.fillStyle = segmentColour(segments[p]);
    ctx.fillRect(margin + p * cell, 0, cell, SEGMENT_STRIP);
    ctx.fillRect(0, margin + p * cell, SEGMENT_STRIP, cell);
  }
  const inset = cell >= 4 ? 1 : 0;
  for (const p of masked) {
    const x = margin + p * cell + inset, w = Math.max(1, cell - 2 * inset);
    if (input === 'masked') {
      ctx.fillStyle = '#111827';
      ctx.fillRect(x, SEGMENT_STRIP, w, MASK_STRIP);
      ctx.fillRect(SEGMENT_STRIP, x, MASK_STRIP, w);
    } else {
      ctx.strokeStyle = '#111827';
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, SEGMENT_STRIP + 0.5, w - 1, MASK_STRIP - 1);
      ctx.strokeRect(SEGMENT_STRIP + 0.5, x + 0.5, MASK_STRIP - 1, w - 1);
    }
  }
}

import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { HeadSelection } from '../../analysis/attentionStack';
import type { InputKind } from '../../store/attention';
import { hexToRgb, segmentColour, writeProbabilityRgb } from './colours';
import { cellAt, heatmapLayout, MASK_STRIP, SEGMENT_STRIP, type HeatmapLayout } from './geometry';
import { hasHead, snapshotMatrix } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';
import { segmentName, useSegments } from './segments';

const FUTURE_RGB: [number, number, number] = [243, 244, 246];

interface Cell { query: number; key: number }

/** The positions an axis labels: all of them, or every k-th so that labels stay 10 px apart. */
function axisPositions(T: number, cell: number): number[] {
  const every = Math.max(1, Math.ceil(10 / cell));
  return Array.from({ length: T }, (_, p) => p).filter((p) => p % every === 0);
}

/** The one-pixel-per-cell grid a heatmap scales up, kept between draws (a new canvas and context per draw is slow). */
interface Grid { canvas: HTMLCanvasElement; image: ImageData }

function gridFor(previous: Grid | null, T: number): Grid {
  if (previous && previous.image.width === T) return previous;
  const canvas = document.createElement('canvas');
  canvas.width = T;
  canvas.height = T;
  return { canvas, image: new ImageData(T, T) };
}

/** Paints the grid (one pixel per cell in one ImageData pass, scaled up without smoothing), the segment strips and the mask marks. */
function draw(canvas: HTMLCanvasElement, grid: Grid, layout: HeatmapLayout, matrix: Float64Array, segments: readonly number[],
  masked: readonly number[], input: InputKind, colour: string): void {
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
  const base = hexToRgb(colour);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const o = 4 * (i * T + j);
      if (j > i) {
        data[o] = FUTURE_RGB[0];
        data[o + 1] = FUTURE_RGB[1];
        data[o + 2] = FUTURE_RGB[2];
      } else {
        writeProbabilityRgb(data, o, matrix[i * T + j], base);
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
  // Masked positions: solid marks when the masked input is shown, hollow ones on the clean input.
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

interface Props {
  entry: ComparedRun;
  layer: number;
  head: HeadSelection;
  input: InputKind;
  /** Side of the cell grid to aim for, in CSS pixels (320 by default; the view's "large" doubles it). */
  target?: number;
}

/**
 * One run's attention for the selected layer and head (or the mean over heads) on the selected example:
 * rows are queries, columns keys; hover or use the arrow keys for the token pair and its probability.
 * Memoised: the run whose snapshot did not change is neither re-rendered nor redrawn.
 */
export const AttentionHeatmap = memo(function AttentionHeatmap({ entry, layer, head, input, target = 320 }: Props) {
  const { snapshot } = entry;
  const segments = useSegments();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const gridRef = useRef<Grid | null>(null);
  const [hover, setHover] = useState<Cell | null>(null);
  const T = snapshot?.T ?? 0;
  const layout = useMemo(() => heatmapLayout(T, target), [T, target]);
  const matrix = snapshot && hasHead(snapshot, layer, head) ? snapshotMatrix(snapshot, input, layer, head) : null;
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !snapshot || !matrix) return;
    gridRef.current = gridFor(gridRef.current, layout.T);
    draw(canvas, gridRef.current, layout, matrix, snapshot.segments, snapshot.maskedPositions, input, entry.colour);
    setDrawn(true);
  }, [layout, matrix, snapshot, input, entry.colour]);

  if (!snapshot || !matrix) {
    return (
      <figure className="att-heatmap att-empty" data-testid="attention-heatmap" data-objective={entry.info.objective} data-run={entry.run}>
        <figcaption><span className="att-swatch" style={{ background: entry.colour }} /> {entry.label}</figcaption>
        <p className="att-placeholder">No attention snapshot yet: it arrives after the study is built and after each evaluation.</p>
      </figure>
    );
  }

  const cell = hover && hover.query < T && hover.key <= hover.query ? hover : null;
  const probability = cell ? matrix[cell.query * T + cell.key] : 0;
  const onMove = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    setHover(cellAt(layout, event.clientX - rect.left, event.clientY - rect.top));
  };
  const onKey = (event: KeyboardEvent<HTMLCanvasElement>) => {
    const step: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const delta = step[event.key];
    if (!delta) return;
    event.preventDefault();
    const from = cell ?? { query: snapshot.answerPosition, key: 0 };
    const query = Math.min(T - 1, Math.max(0, from.query + delta[0]));
    const key = Math.min(query, Math.max(0, from.key + delta[1]));
    setHover(cell ? { query, key } : from);
  };
  const tooltipId = `att-tip-${entry.run}`;
  const segmentAt = (p: number) => segmentName(segments, snapshot.segments[p]);
  const isMasked = (p: number) => input === 'masked' && snapshot.maskedPositions.includes(p);
  const tokenLabel = (p: number) => (isMasked(p) ? `[MASK] (was ${snapshot.tokenNames[p]})` : snapshot.tokenNames[p]);
  const axisLabel = (p: number) => (isMasked(p) ? '[M]' : snapshot.tokenNames[p]);

  return (
    <figure
      className="att-heatmap"
      data-testid="attention-heatmap"
      data-objective={entry.info.objective}
      data-run={entry.run}
      data-step={snapshot.step}
      data-example={snapshot.example}
      data-layer={layer}
      data-head={head}
      data-input={input}
      data-t={T}
      data-cell={layout.cell}
      data-margin={layout.margin}
      data-drawn={drawn ? 'true' : 'false'}
    >
      <figcaption>
        <span className="att-swatch" style={{ background: entry.colour }} /> {entry.label}
        <span className="att-muted"> · seed {entry.info.seed} · step {snapshot.step}</span>
      </figcaption>
      <div className="att-heatmap-axes">
      <span className="att-multiple-corner" />
      {/* The tokens on both axes (every one, or every k-th when cells are under 10 px), as the model saw them. */}
      <span className="att-axis-keys" data-testid="heatmap-key-labels" style={{ width: layout.size }}>
        {axisPositions(T, layout.cell).map((p) => <span key={p} style={{ left: layout.margin + (p + 0.5) * layout.cell }}>{axisLabel(p)}</span>)}
      </span>
      <span className="att-axis-queries" data-testid="heatmap-query-labels" style={{ height: layout.size }}>
        {axisPositions(T, layout.cell).map((p) => <span key={p} style={{ top: layout.margin + (p + 0.5) * layout.cell }}>{axisLabel(p)}</span>)}
      </span>
      <div className="att-canvas-wrap" style={{ width: layout.size, height: layout.size }}>
        <canvas
          ref={canvasRef}
          style={{ width: layout.size, height: layout.size }}
          tabIndex={0}
          role="img"
          aria-label={`${entry.label} attention, layer ${layer}, ${head === 'all' ? 'mean over heads' : `head ${head}`}, ${input} input; hover or use the arrow keys to read cells`}
          aria-describedby={cell ? tooltipId : undefined}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
          onKeyDown={onKey}
          onBlur={() => setHover(null)}
        />
        {cell && (
          <>
            <div className="att-cursor" style={{ left: layout.margin + cell.key * layout.cell - 1, top: layout.margin + cell.query * layout.cell - 1,
              width: layout.cell + 2, height: layout.cell + 2 }} />
            <div
              id={tooltipId}
              role="tooltip"
              className="att-tooltip"
              data-testid="heatmap-tooltip"
              data-query={cell.query}
              data-key={cell.key}
              data-probability={String(probability)}
              style={{
                // Beside the cell, on the side with more room.
                ...(cell.key < T / 2
                  ? { left: layout.margin + (cell.key + 1) * layout.cell + 8 }
                  : { right: layout.size - layout.margin - cell.key * layout.cell + 8 }),
                ...(cell.query < T / 2
                  ? { top: layout.margin + (cell.query + 1) * layout.cell + 8 }
                  : { bottom: layout.size - layout.margin - cell.query * layout.cell + 8 }),
              }}
            >
              <div><span className="att-muted">query</span> {cell.query} <b>{tokenLabel(cell.query)}</b> <span className="att-muted">({segmentAt(cell.query)})</span></div>
              <div><span className="att-muted">key</span> {cell.key} <b>{tokenLabel(cell.key)}</b> <span className="att-muted">({segmentAt(cell.key)})</span></div>
              <div><span className="att-muted">probability</span> <b>{probability.toPrecision(4)}</b></div>
            </div>
          </>
        )}
      </div>
      </div>
    </figure>
  );
});

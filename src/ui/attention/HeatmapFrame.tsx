import { useState, type KeyboardEvent, type MouseEvent, type ReactNode, type RefObject } from 'react';
import { axisPositions, cellAt, type HeatmapLayout } from './geometry';

export interface HeatmapCell { query: number; key: number }

/** What a heatmap's tooltip says about one cell: its body and the data attributes tests read. */
export interface CellTip { body: ReactNode; data: Record<string, string> }

interface Props {
  layout: HeatmapLayout;
  canvasRef: RefObject<HTMLCanvasElement | null>;
  /** The token shown on both axes at position p (every one, or every k-th when cells are small). */
  label: (p: number) => string;
  ariaLabel: string;
  tooltipId: string;
  /** The query the arrow keys start from. */
  startQuery: number;
  tip: (cell: HeatmapCell) => CellTip;
}

/**
 * The frame every T × T heatmap shares: the tokens along the keys (top) and the queries (left), the canvas
 * the caller paints, and the hovered (or arrow-key) cell's cursor and tooltip, placed beside the cell on the
 * side with more room.
 */
export function HeatmapFrame({ layout, canvasRef, label, ariaLabel, tooltipId, startQuery, tip }: Props) {
  const { T } = layout;
  const [hover, setHover] = useState<HeatmapCell | null>(null);
  const cell = hover && hover.query < T && hover.key <= hover.query ? hover : null;
  const onMove = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    setHover(cellAt(layout, event.clientX - rect.left, event.clientY - rect.top));
  };
  const onKey = (event: KeyboardEvent<HTMLCanvasElement>) => {
    const step: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const delta = step[event.key];
    if (!delta) return;
    event.preventDefault();
    const from = cell ?? { query: Math.min(T - 1, Math.max(0, startQuery)), key: 0 };
    const query = Math.min(T - 1, Math.max(0, from.query + delta[0]));
    const key = Math.min(query, Math.max(0, from.key + delta[1]));
    setHover(cell ? { query, key } : from);
  };
  const positions = axisPositions(T, layout.cell);
  const shown = cell ? tip(cell) : null;
  return (
    <div className="att-heatmap-axes">
      <span className="att-multiple-corner" />
      <span className="att-axis-keys" data-testid="heatmap-key-labels" style={{ width: layout.size }}>
        {positions.map((p) => <span key={p} style={{ left: layout.margin + (p + 0.5) * layout.cell }}>{label(p)}</span>)}
      </span>
      <span className="att-axis-queries" data-testid="heatmap-query-labels" style={{ height: layout.size }}>
        {positions.map((p) => <span key={p} style={{ top: layout.margin + (p + 0.5) * layout.cell }}>{label(p)}</span>)}
      </span>
      <div className="att-canvas-wrap" style={{ width: layout.size, height: layout.size }}>
        <canvas
          ref={canvasRef}
          style={{ width: layout.size, height: layout.size }}
          tabIndex={0}
          role="img"
          aria-label={ariaLabel}
          aria-describedby={cell ? tooltipId : undefined}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
          onKeyDown={onKey}
          onBlur={() => setHover(null)}
        />
        {cell && shown && (
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
              {...Object.fromEntries(Object.entries(shown.data).map(([k, v]) => [`data-${k}`, v]))}
              style={{
                ...(cell.key < T / 2
                  ? { left: layout.margin + (cell.key + 1) * layout.cell + 8 }
                  : { right: layout.size - layout.margin - cell.key * layout.cell + 8 }),
                ...(cell.query < T / 2
                  ? { top: layout.margin + (cell.query + 1) * layout.cell + 8 }
                  : { bottom: layout.size - layout.margin - cell.query * layout.cell + 8 }),
              }}
            >
              {shown.body}
            </div>
          </>
        )}
      </div>
    </div>
  );
}

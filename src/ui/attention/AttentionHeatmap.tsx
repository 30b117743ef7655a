import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { HeadSelection } from '../../analysis/attentionStack';
import type { InputKind } from '../../store/attention';
import { hexToRgb, writeProbabilityRgb } from './colours';
import { fittedLayout, heatmapLayout } from './geometry';
import { gridFor, paintHeatmap, type Grid } from './heatmapPaint';
import { HeatmapFrame, type HeatmapCell } from './HeatmapFrame';
import { hasHead, snapshotMatrix } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';
import { segmentName, useSegments } from './segments';

interface Props {
  entry: ComparedRun;
  layer: number;
  head: HeadSelection;
  input: InputKind;
  /**
   * The figure's width in CSS pixels, token labels included (HeatmapView measures it from the panel: the
   * row's full width when "large", half of it otherwise); the map stays square. Unmeasured: a 320 px grid.
   */
  width?: number | null;
}

/**
 * One run's attention for the selected layer and head (or the mean over heads) on the selected example:
 * rows are queries, columns keys; hover or use the arrow keys for the token pair and its probability.
 * Memoised: the run whose snapshot did not change is neither re-rendered nor redrawn.
 */
export const AttentionHeatmap = memo(function AttentionHeatmap({ entry, layer, head, input, width }: Props) {
  const { snapshot } = entry;
  const segments = useSegments();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const gridRef = useRef<Grid | null>(null);
  const T = snapshot?.T ?? 0;
  const layout = useMemo(() => (width ? fittedLayout(T, width) : heatmapLayout(T)), [T, width]);
  const matrix = snapshot && hasHead(snapshot, layer, head) ? snapshotMatrix(snapshot, input, layer, head) : null;
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !snapshot || !matrix) return;
    gridRef.current = gridFor(gridRef.current, layout.T);
    const base = hexToRgb(entry.colour);
    paintHeatmap(canvas, gridRef.current, layout, (data, o, q, k) => writeProbabilityRgb(data, o, matrix[q * layout.T + k], base),
      snapshot.segments, snapshot.maskedPositions, input);
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

  const segmentAt = (p: number) => segmentName(segments, snapshot.segments[p]);
  const isMasked = (p: number) => input === 'masked' && snapshot.maskedPositions.includes(p);
  const tokenLabel = (p: number) => (isMasked(p) ? `[MASK] (was ${snapshot.tokenNames[p]})` : snapshot.tokenNames[p]);
  const axisLabel = (p: number) => (isMasked(p) ? '[M]' : snapshot.tokenNames[p]);
  const tip = (cell: HeatmapCell) => {
    const probability = matrix[cell.query * T + cell.key];
    return {
      data: { probability: String(probability) },
      body: (
        <>
          <div><span className="att-muted">query</span> {cell.query} <b>{tokenLabel(cell.query)}</b> <span className="att-muted">({segmentAt(cell.query)})</span></div>
          <div><span className="att-muted">key</span> {cell.key} <b>{tokenLabel(cell.key)}</b> <span className="att-muted">({segmentAt(cell.key)})</span></div>
          <div><span className="att-muted">probability</span> <b>{probability.toPrecision(4)}</b></div>
        </>
      ),
    };
  };

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
      {/* The tokens on both axes (every one, or every k-th when cells are under 10 px), as the model saw them. */}
      <HeatmapFrame
        layout={layout}
        canvasRef={canvasRef}
        label={axisLabel}
        ariaLabel={`${entry.label} attention, layer ${layer}, ${head === 'all' ? 'mean over heads' : `head ${head}`}, ${input} input; hover or use the arrow keys to read cells`}
        tooltipId={`att-tip-${entry.run}`}
        startQuery={snapshot.answerPosition}
        tip={tip}
      />
    </figure>
  );
});

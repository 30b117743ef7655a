import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { InputKind } from '../../store/attention';
import type { HeadSelection } from '../../analysis/attentionStack';
import { hasHead, snapshotMatrix } from './snapshotAnalysis';
import { hexToRgb } from './colours';
import { fittedLayout, heatmapLayout } from './geometry';
import { gridFor, paintHeatmap, type Grid } from './heatmapPaint';
import { HeatmapFrame, type HeatmapCell } from './HeatmapFrame';
import { segmentName, useSegments } from './segments';
import type { ComparedRun } from './useCompared';

/**
 * NTP − MEAP attention, cell by cell, for two runs on the same example, layer and head: `first` − `second`
 * over the causal cells (null when the runs' snapshots do not describe the same sequence).
 */
export function differenceMatrix(first: Float64Array, second: Float64Array, T: number): { values: Float64Array; largest: number } | null {
  if (first.length !== T * T || second.length !== T * T) return null;
  const values = new Float64Array(T * T);
  let largest = 0;
  for (let q = 0; q < T; q++) {
    for (let k = 0; k <= q; k++) {
      const d = first[q * T + k] - second[q * T + k];
      values[q * T + k] = d;
      largest = Math.max(largest, Math.abs(d));
    }
  }
  return { values, largest };
}

/** Writes the diverging colour of `d` at `offset`: white at 0, towards `positive` above and `negative` below, full colour at ±largest. */
export function writeDivergingRgb(out: { [k: number]: number }, offset: number, d: number, largest: number,
  positive: readonly [number, number, number], negative: readonly [number, number, number]): void {
  const t = largest > 0 ? Math.min(1, Math.abs(d) / largest) : 0;
  const towards = d >= 0 ? positive : negative;
  for (let c = 0; c < 3; c++) out[offset + c] = 255 + (towards[c] - 255) * t;
}

interface Props {
  compared: ComparedRun[];
  layer: number;
  head: HeadSelection;
  input: InputKind;
  /** The figure's width in CSS pixels, labels included, as the runs' heatmaps get (unmeasured: a 320 px grid). */
  width?: number | null;
}

/**
 * The two compared objectives' attention subtracted (first − second, e.g. NTP − MEAP) on the selected layer and
 * head: where one objective attends more than the other, on a symmetric scale. The tokens on both axes, the
 * segment strips and mask marks, and the hover / arrow-key tooltip are the runs' heatmaps' (HeatmapFrame).
 */
export const DifferenceHeatmap = memo(function DifferenceHeatmap({ compared, layer, head, input, width }: Props) {
  const [a, b] = compared;
  const segments = useSegments();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const gridRef = useRef<Grid | null>(null);
  const [drawn, setDrawn] = useState(false);
  const same = a?.snapshot && b?.snapshot && a.snapshot.T === b.snapshot.T && a.snapshot.example === b.snapshot.example
    && hasHead(a.snapshot, layer, head) && hasHead(b.snapshot, layer, head);
  const difference = useMemo(() => (same
    ? differenceMatrix(snapshotMatrix(a.snapshot!, input, layer, head), snapshotMatrix(b.snapshot!, input, layer, head), a.snapshot!.T)
    : null), [same, a, b, input, layer, head]);
  const T = a?.snapshot?.T ?? 0;
  const layout = useMemo(() => (width ? fittedLayout(T, width) : heatmapLayout(T)), [T, width]);
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !difference || !a?.snapshot || !b) return;
    gridRef.current = gridFor(gridRef.current, layout.T);
    const positive = hexToRgb(a.colour), negative = hexToRgb(b.colour);
    const { values, largest } = difference;
    paintHeatmap(canvas, gridRef.current, layout, (data, o, q, k) => writeDivergingRgb(data, o, values[q * layout.T + k], largest, positive, negative),
      a.snapshot.segments, a.snapshot.maskedPositions, input);
    setDrawn(true);
  }, [difference, layout, a, b, input]);
  if (!a || !b) return null;
  const snapshot = a.snapshot;
  const where = `layer ${layer}, ${head === 'all' ? 'mean over heads' : `head ${head}`}`;
  if (!difference || !snapshot) {
    return (
      <figure className="att-heatmap att-empty" data-testid="difference-heatmap">
        <figcaption>{a.label} − {b.label} <span className="att-muted">· same example, {where}</span></figcaption>
        <p className="att-placeholder">Both runs' snapshots of this example are needed.</p>
      </figure>
    );
  }
  const segmentAt = (p: number) => segmentName(segments, snapshot.segments[p]);
  const isMasked = (p: number) => input === 'masked' && snapshot.maskedPositions.includes(p);
  const tokenLabel = (p: number) => (isMasked(p) ? `[MASK] (was ${snapshot.tokenNames[p]})` : snapshot.tokenNames[p]);
  const axisLabel = (p: number) => (isMasked(p) ? '[M]' : snapshot.tokenNames[p]);
  const tip = (cell: HeatmapCell) => {
    const d = difference.values[cell.query * T + cell.key];
    const more = d === 0 ? '' : d > 0 ? a.label : b.label;
    return {
      data: { difference: String(d) },
      body: (
        <>
          <div><span className="att-muted">query</span> {cell.query} <b>{tokenLabel(cell.query)}</b> <span className="att-muted">({segmentAt(cell.query)})</span></div>
          <div><span className="att-muted">key</span> {cell.key} <b>{tokenLabel(cell.key)}</b> <span className="att-muted">({segmentAt(cell.key)})</span></div>
          <div>
            <span className="att-muted">{a.label} − {b.label}</span> <b>{d >= 0 ? '+' : '−'}{Math.abs(d).toPrecision(4)}</b>
            {more && <span className="att-muted"> ({more} attends more)</span>}
          </div>
        </>
      ),
    };
  };
  return (
    <figure className="att-heatmap" data-testid="difference-heatmap" data-largest={difference.largest}
      data-runs={`${a.run},${b.run}`} data-step={snapshot.step} data-example={snapshot.example} data-t={T}
      data-cell={layout.cell} data-margin={layout.margin} data-drawn={drawn ? 'true' : 'false'}>
      <figcaption>
        {a.label} − {b.label} <span className="att-muted">· same example, {where}</span>
      </figcaption>
      <HeatmapFrame
        layout={layout}
        canvasRef={canvasRef}
        label={axisLabel}
        ariaLabel={`${a.label} minus ${b.label} attention, ${where}, ${input} input; largest difference ${difference.largest.toFixed(3)}; hover or use the arrow keys to read cells`}
        tooltipId="att-tip-difference"
        startQuery={snapshot.answerPosition}
        tip={tip}
      />
      <p className="att-legend-line att-muted">
        <span className="att-swatch" style={{ background: a.colour }} />{a.label} attends more ·{' '}
        <span className="att-swatch" style={{ background: b.colour }} />{b.label} attends more · full colour = ±{difference.largest.toFixed(3)}
      </p>
    </figure>
  );
});

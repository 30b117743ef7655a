import { memo, useEffect, useMemo, useRef } from 'react';
import type { InputKind } from '../../store/attention';
import type { HeadSelection } from '../../analysis/attentionStack';
import { hasHead, snapshotMatrix } from './snapshotAnalysis';
import { hexToRgb } from './colours';
import type { ComparedRun } from './useCompared';

/** Side of the difference map in CSS pixels. */
const SIZE_PX = 240;

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

/** White at 0, towards `positive` above and `negative` below, full colour at ±largest. */
function divergingRgb(d: number, largest: number, positive: [number, number, number], negative: [number, number, number]): number[] {
  const t = largest > 0 ? Math.min(1, Math.abs(d) / largest) : 0;
  const towards = d >= 0 ? positive : negative;
  return towards.map((c) => 255 + (c - 255) * t);
}

/**
 * The two compared objectives' attention subtracted (first − second, e.g. NTP − MEAP) on the selected layer and
 * head: where one objective attends more than the other, on a symmetric scale.
 */
export const DifferenceHeatmap = memo(function DifferenceHeatmap({ compared, layer, head, input }: {
  compared: ComparedRun[]; layer: number; head: HeadSelection; input: InputKind;
}) {
  const [a, b] = compared;
  const ref = useRef<HTMLCanvasElement>(null);
  const same = a?.snapshot && b?.snapshot && a.snapshot.T === b.snapshot.T && a.snapshot.example === b.snapshot.example
    && hasHead(a.snapshot, layer, head) && hasHead(b.snapshot, layer, head);
  const difference = useMemo(() => (same
    ? differenceMatrix(snapshotMatrix(a.snapshot!, input, layer, head), snapshotMatrix(b.snapshot!, input, layer, head), a.snapshot!.T)
    : null), [same, a, b, input, layer, head]);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || !difference || !a?.snapshot) return;
    const T = a.snapshot.T;
    const image = new ImageData(T, T);
    const positive = hexToRgb(a.colour), negative = hexToRgb(b!.colour);
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const o = 4 * (q * T + k);
        image.data.set(k > q ? [243, 244, 246] : divergingRgb(difference.values[q * T + k], difference.largest, positive, negative), o);
        image.data[o + 3] = 255;
      }
    }
    canvas.width = T;
    canvas.height = T;
    ctx.putImageData(image, 0, 0);
  }, [difference, a, b]);
  if (!a || !b) return null;
  return (
    <figure className="att-heatmap" data-testid="difference-heatmap" data-largest={difference?.largest ?? ''}>
      <figcaption>
        {a.label} − {b.label} <span className="att-muted">· same example, layer {layer}, {head === 'all' ? 'mean over heads' : `head ${head}`}</span>
      </figcaption>
      {!difference ? <p className="att-placeholder">Both runs' snapshots of this example are needed.</p> : (
        <>
          <canvas ref={ref} className="att-grid-canvas" style={{ width: SIZE_PX, height: SIZE_PX }} role="img"
            aria-label={`${a.label} minus ${b.label} attention; largest difference ${difference.largest.toFixed(3)}`} />
          <p className="att-legend-line att-muted">
            <span className="att-swatch" style={{ background: a.colour }} />{a.label} attends more ·{' '}
            <span className="att-swatch" style={{ background: b.colour }} />{b.label} attends more · full colour = ±{difference.largest.toFixed(3)}
          </p>
        </>
      )}
    </figure>
  );
});

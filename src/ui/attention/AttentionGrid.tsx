import { memo, useEffect, useRef } from 'react';
import { useAttention, type InputKind } from '../../store/attention';
import { hexToRgb, writeProbabilityRgb } from './colours';
import { snapshotMatrix } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';
import type { AttentionSnapshot } from '../../session/protocol';

/** Side of one small multiple's matrix in CSS pixels (each cell at least 2 px). */
const MULTIPLE_PX = 160;
/** At most this many tokens labelled per axis (every k-th beyond: 10 px apart at least). */
const MAX_LABELS = 16;
/** The colour scale's ticks (probabilities; the scale is √, as in every heatmap). */
const SCALE_TICKS = [0, 0.05, 0.25, 0.5, 1];

/** Every `step`-th position (all of them for short contexts), the ones the axes label. */
function labelled(T: number): number[] {
  const step = Math.ceil(T / MAX_LABELS);
  return Array.from({ length: T }, (_, p) => p).filter((p) => p % step === 0);
}

function MatrixCanvas({ snapshot, input, layer, head, colour }: {
  snapshot: AttentionSnapshot; input: InputKind; layer: number; head: number; colour: string;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const T = snapshot.T;
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const matrix = snapshotMatrix(snapshot, input, layer, head);
    const image = new ImageData(T, T);
    const base = hexToRgb(colour);
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) {
        const o = 4 * (q * T + k);
        if (k > q) image.data.set([243, 244, 246], o);
        else writeProbabilityRgb(image.data, o, matrix[q * T + k], base);
        image.data[o + 3] = 255;
      }
    }
    canvas.width = T;
    canvas.height = T;
    ctx.putImageData(image, 0, 0);
  }, [snapshot, input, layer, head, colour, T]);
  return <canvas ref={ref} className="att-grid-canvas" style={{ width: MULTIPLE_PX, height: MULTIPLE_PX }} aria-hidden="true" />;
}

/** One layer × head matrix with its tokens on both axes (rows: queries, columns: keys); a click focuses it. */
function Multiple({ entry, snapshot, input, layer, head, focused }: {
  entry: ComparedRun; snapshot: AttentionSnapshot; input: InputKind; layer: number; head: number; focused: boolean;
}) {
  const setLayer = useAttention((s) => s.setLayer);
  const setHead = useAttention((s) => s.setHead);
  const cell = MULTIPLE_PX / snapshot.T;
  const ticks = labelled(snapshot.T);
  const name = (p: number) => snapshot.tokenNames[p] ?? String(snapshot.tokens[p]);
  return (
    <button type="button" className={`att-multiple${focused ? ' is-focused' : ''}`} data-testid="attention-multiple"
      data-layer={layer} data-head={head} aria-pressed={focused}
      aria-label={`${entry.label}: layer ${layer}, head ${head}; show it in the heatmaps`}
      onClick={() => { setLayer(layer); setHead(head); }}>
      <span className="att-multiple-title">L{layer} · H{head}</span>
      <span className="att-multiple-body">
        <span className="att-multiple-corner" />
        <span className="att-axis-keys" data-testid="key-labels" style={{ width: MULTIPLE_PX }}>
          {ticks.map((p) => <span key={p} style={{ left: (p + 0.5) * cell }}>{name(p)}</span>)}
        </span>
        <span className="att-axis-queries" data-testid="query-labels" style={{ height: MULTIPLE_PX }}>
          {ticks.map((p) => <span key={p} style={{ top: (p + 0.5) * cell }}>{name(p)}</span>)}
        </span>
        <MatrixCanvas snapshot={snapshot} input={input} layer={layer} head={head} colour={entry.colour} />
      </span>
    </button>
  );
}

/** The √ colour scale of the heatmaps for one run's colour, with its probabilities. */
export function ColourScale({ colour }: { colour: string }) {
  const base = hexToRgb(colour);
  const stops = Array.from({ length: 11 }, (_, i) => {
    const rgb: number[] = [0, 0, 0];
    writeProbabilityRgb(rgb, 0, (i / 10) ** 2, base);
    return `rgb(${rgb.map(Math.round).join(',')}) ${i * 10}%`;
  });
  return (
    <span className="att-colour-scale" data-testid="colour-scale">
      <span className="att-colour-bar" style={{ background: `linear-gradient(to right, ${stops.join(', ')})` }} />
      <span className="att-colour-ticks">
        {SCALE_TICKS.map((p) => <span key={p} style={{ left: `${100 * Math.sqrt(p)}%` }}>{p === 0 ? '0' : p}</span>)}
      </span>
      <span className="att-muted">attention probability (√ scale)</span>
    </span>
  );
}

/**
 * Every layer × head of the compared runs as small multiples (BertViz's "model view"): the same example and
 * input as the heatmaps, the tokens on both axes, one colour scale per run. A click shows that layer and head
 * in the large heatmaps above.
 */
export const AttentionGrid = memo(function AttentionGrid({ compared }: { compared: ComparedRun[] }) {
  const input = useAttention((s) => s.input);
  const layer = useAttention((s) => s.layer);
  const head = useAttention((s) => s.head);
  const shown = compared.filter((entry) => entry.snapshot);
  return (
    <section className="att-view att-view-wide" aria-labelledby="att-grid-title" data-testid="attention-grid">
      <h3 id="att-grid-title">Every layer and head</h3>
      <p className="hint">
        Rows: the position that attends (query); columns: what it attends to (key), for the {input} input. Click one to show
        it large above.
      </p>
      {shown.length === 0 && <p className="att-placeholder">No attention snapshot yet.</p>}
      {shown.map((entry) => {
        const snapshot = entry.snapshot!;
        return (
          <div key={entry.run} className="att-grid-run" data-testid="attention-grid-run" data-run={entry.run}>
            <div className="att-grid-head">
              <span><span className="att-swatch" style={{ background: entry.colour }} />{entry.label} · step {snapshot.step}</span>
              <ColourScale colour={entry.colour} />
            </div>
            <div className="att-grid-multiples" style={{ gridTemplateColumns: `repeat(${snapshot.heads}, max-content)` }}>
              {Array.from({ length: snapshot.layers }, (_, l) => Array.from({ length: snapshot.heads }, (_, h) => (
                <Multiple key={`${l}:${h}`} entry={entry} snapshot={snapshot} input={input} layer={l} head={h}
                  focused={layer === l && head === h} />
              )))}
            </div>
          </div>
        );
      })}
    </section>
  );
});

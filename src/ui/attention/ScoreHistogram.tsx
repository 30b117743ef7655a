import { memo, useMemo } from 'react';
import { useAttention } from '../../store/attention';
import { withAlpha } from '../../util/palette';
import { hasHead, snapshotHistogram } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';

const BINS = 24;
const MIN = 1e-6;
const W = 460, H = 190;
const PAD = { left: 40, right: 10, top: 10, bottom: 32 };

/** Histogram of the attention probabilities of the selected layer (and head), log-spaced bins, runs overlaid. */
export const ScoreHistogram = memo(function ScoreHistogram({ compared }: { compared: ComparedRun[] }) {
  const layer = useAttention((s) => s.layer);
  const head = useAttention((s) => s.head);
  const input = useAttention((s) => s.input);
  const series = useMemo(() => compared.flatMap((entry) => {
    const { snapshot } = entry;
    if (!snapshot || !hasHead(snapshot, layer, head)) return [];
    const { edges, shares } = snapshotHistogram(snapshot, input, layer, head, BINS, MIN);
    return [{ entry, edges, shares }];
  }), [compared, layer, head, input]);

  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const yMax = Math.max(0.05, ...series.flatMap((s) => s.shares));
  const yTop = Math.ceil(yMax * 20) / 20;
  const x = (bin: number) => PAD.left + (bin / BINS) * plotW;
  const y = (share: number) => PAD.top + plotH * (1 - share / yTop);
  const decades = Math.round(-Math.log10(MIN));

  return (
    <section className="att-view" aria-labelledby="att-hist-title" data-testid="score-histogram" data-series={series.length}>
      <h3 id="att-hist-title">Attention-score distribution</h3>
      <p className="hint">
        Share of all causal attention probabilities of layer {layer} ({head === 'all' ? 'every head' : `head ${head}`}, {input} input) per
        log-spaced bin: a model that singles out a few keys has mass at both ends.
      </p>
      {series.length === 0 ? <p className="att-placeholder">No attention snapshot yet.</p> : (
        <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label="histogram of attention probabilities">
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(f * yTop)} y2={y(f * yTop)} className="att-grid" />
              <text x={PAD.left - 4} y={y(f * yTop) + 4} textAnchor="end" className="att-axis">{Math.round(f * yTop * 100)}%</text>
            </g>
          ))}
          {Array.from({ length: decades + 1 }, (_, d) => (
            <text key={d} x={x((d * BINS) / decades)} y={H - PAD.bottom + 14} textAnchor="middle" className="att-axis">
              {d === decades ? '1' : `1e-${decades - d}`}
            </text>
          ))}
          <text x={PAD.left + plotW / 2} y={H - 4} textAnchor="middle" className="att-axis">attention probability (first bin also holds smaller values)</text>
          {series.map(({ entry, shares }) => {
            let d = `M ${x(0)} ${y(0)}`;
            shares.forEach((share, k) => { d += ` L ${x(k)} ${y(share)} L ${x(k + 1)} ${y(share)}`; });
            d += ` L ${x(BINS)} ${y(0)} Z`;
            return (
              <path key={entry.run} d={d} fill={withAlpha(entry.colour, 0.22)} stroke={entry.colour} strokeWidth={1.5}
                data-run={entry.run} data-objective={entry.info.objective}>
                <title>{entry.label}: {shares.map((s) => `${(s * 100).toFixed(1)}%`).join(' ')}</title>
              </path>
            );
          })}
          <line x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} className="att-axis-line" />
        </svg>
      )}
      <ul className="att-legend">
        {series.map(({ entry }) => (
          <li key={entry.run}><span className="att-swatch" style={{ background: entry.colour }} />{entry.label} · step {entry.snapshot?.step}</li>
        ))}
      </ul>
    </section>
  );
});

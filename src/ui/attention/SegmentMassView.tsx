import { memo, useMemo, useState } from 'react';
import { meanRows } from '../../analysis/attentionStack';
import { seriesKey, useAttention, type MassPoint } from '../../store/attention';
import { formatPercent, segmentColour } from './colours';
import type { ComparedRun } from './useCompared';
import { useSegments, type Segments } from './segments';

/** The paper's Figure 6 (1.1B models, retrieval prompts): share of attention from the answer positions. */
/** By segment name: the context before the needle and the needle; the paper gives no other segment. */
export const PAPER_SEGMENT_MASS: Record<'ntp' | 'meap', Readonly<Record<string, number>>> = {
  ntp: { 'context before': 0.731, needle: 0.094 },
  meap: { 'context before': 0.491, needle: 0.345 },
};

/** The paper's values by segment label of the study (undefined where the paper gives none). */
function paperValues(objective: 'ntp' | 'meap', segments: Segments): (number | undefined)[] {
  return segments.names.map((name) => PAPER_SEGMENT_MASS[objective][name]);
}
const W = 200, H = 130;
const PAD = { left: 34, right: 8, top: 8, bottom: 22 };

type Scope = 'all' | 'layer';

function shares(point: MassPoint, scope: Scope, layer: number): number[] {
  return scope === 'all' ? meanRows(point.byLayer) : point.byLayer[Math.min(layer, point.byLayer.length - 1)];
}

interface Line { entry: ComparedRun; points: { step: number; values: number[] }[] }

/** Dots at the points of a line as one path (a circle per point costs an element each, and the series grows all along training). */
function dotsPath(points: readonly { x: number; y: number }[], r: number): string {
  return points.map(({ x, y }) => `M${x - r},${y}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`).join('');
}

const PLOT_W = W - PAD.left - PAD.right, PLOT_H = H - PAD.top - PAD.bottom;
const yOf = (v: number) => PAD.top + PLOT_H * (1 - v);

/** What does not move along training: grid, value axis and the paper's dashed levels (memoised: drawn once). */
const ChartFrame = memo(function ChartFrame({ name, ntpColour, meapColour }: { name: string; ntpColour: string; meapColour: string }) {
  const paper = (['ntp', 'meap'] as const).flatMap((objective) => {
    const value = PAPER_SEGMENT_MASS[objective][name];
    return value === undefined ? [] : [{ objective, value }];
  });
  return (
    <>
      {[0, 0.5, 1].map((v) => (
        <g key={v}>
          <line x1={PAD.left} x2={W - PAD.right} y1={yOf(v)} y2={yOf(v)} className="att-grid" />
          <text x={PAD.left - 4} y={yOf(v) + 4} textAnchor="end" className="att-axis">{v * 100}%</text>
        </g>
      ))}
      <text x={PAD.left} y={H - 6} className="att-axis">0</text>
      {paper.map((p) => (
        <line key={p.objective} x1={PAD.left} x2={W - PAD.right} y1={yOf(p.value)} y2={yOf(p.value)}
          stroke={p.objective === 'ntp' ? ntpColour : meapColour} strokeDasharray="4 3" strokeWidth={1}>
          <title>paper, {p.objective.toUpperCase()}: {formatPercent(p.value)}</title>
        </line>
      ))}
    </>
  );
});

function SegmentChart({ segment, name, lines, maxStep }: { segment: number; name: string; lines: Line[]; maxStep: number }) {
  const x = (step: number) => PAD.left + (maxStep === 0 ? 0 : (step / maxStep) * PLOT_W);
  const colourOf = (objective: 'ntp' | 'meap') => lines.find((l) => l.entry.info.objective === objective)?.entry.colour
    ?? (objective === 'ntp' ? '#2563eb' : '#d97706');
  return (
    <figure className="att-mini" data-segment={segment}>
      <figcaption><span className="att-swatch" style={{ background: segmentColour(segment) }} />{name}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`attention on ${name} over training`}>
        <ChartFrame name={name} ntpColour={colourOf('ntp')} meapColour={colourOf('meap')} />
        <text x={W - PAD.right} y={H - 6} textAnchor="end" className="att-axis">step {maxStep}</text>
        {lines.map(({ entry, points }) => {
          const xy = points.map((p) => ({ x: x(p.step), y: yOf(p.values[segment] ?? 0) }));
          return (
            <g key={entry.run} data-run={entry.run} data-points={points.length}>
              <polyline fill="none" stroke={entry.colour} strokeWidth={2} points={xy.map((p) => `${p.x},${p.y}`).join(' ')} />
              <path d={dotsPath(xy, 2.2)} fill={entry.colour} />
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function StackedBar({ values, shown }: { values: readonly (number | undefined)[]; shown: readonly number[] }) {
  let rest = 1;
  return (
    <span className="att-stack" aria-hidden="true">
      {shown.map((s) => {
        const v = values[s];
        if (v === undefined) return null;
        rest -= v;
        return <span key={s} style={{ width: `${Math.max(0, v) * 100}%`, background: segmentColour(s) }} />;
      })}
      {rest > 0.001 && <span className="att-stack-rest" style={{ width: `${rest * 100}%` }} />}
    </span>
  );
}

/** The paper's rows of the table (static). */
const PaperRows = memo(function PaperRows({ segments }: { segments: Segments }) {
  return (
    <>
      {(['ntp', 'meap'] as const).map((objective) => {
        const values = paperValues(objective, segments);
        return (
          <tr key={objective} className="att-paper-row">
            <th scope="row">paper, {objective === 'ntp' ? 'NTP' : 'MEAP'} (1.1B)</th>
            <td><StackedBar values={values} shown={segments.inputs} /></td>
            {segments.inputs.map((s) => (values[s] === undefined
              ? <td key={s} className="num att-muted">—</td>
              : <td key={s} className="num">{formatPercent(values[s]!)}</td>))}
          </tr>
        );
      })}
    </>
  );
});

/**
 * The paper's Figure-6 analysis, live: how the attention of the answer-generating position splits over the
 * example's segments, along training, for the compared runs, next to the paper's numbers.
 */
export const SegmentMassView = memo(function SegmentMassView({ compared, massSeries }: {
  compared: ComparedRun[];
  /** The store's segment mass over training (by seriesKey). */
  massSeries: Record<string, MassPoint[]>;
}) {
  const example = useAttention((s) => s.example);
  const layer = useAttention((s) => s.layer);
  const segments = useSegments();
  const [scope, setScope] = useState<Scope>('all');
  const lines: Line[] = useMemo(() => compared.map((entry) => ({
    entry,
    points: (massSeries[seriesKey(entry.run, example)] ?? []).map((p) => ({ step: p.step, values: shares(p, scope, layer) })),
  })), [compared, massSeries, example, scope, layer]);
  const maxStep = Math.max(0, ...lines.flatMap((l) => l.points.map((p) => p.step)));
  const anyPoint = lines.some((l) => l.points.length > 0);
  const snapshot = compared.find((c) => c.snapshot)?.snapshot;
  const hasSegments = !snapshot || new Set(snapshot.segments).size > 1;

  return (
    <section className="att-view att-view-wide" aria-labelledby="att-mass-title" data-testid="segment-mass" data-points={lines.reduce((n, l) => n + l.points.length, 0)}>
      <h3 id="att-mass-title">Attention mass by segment, over training</h3>
      <p className="hint">
        Where the position that must produce the answer looks, clean input, {scope === 'all' ? 'mean over layers and heads' : `layer ${layer}, mean over heads`};
        dashed: the paper (NTP 73.1% before / 9.4% needle, MEAP 49.1% / 34.5%).
      </p>
      <label className="att-inline">
        Layers{' '}
        <select value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
          <option value="all">mean of all layers</option>
          <option value="layer">selected layer ({layer})</option>
        </select>
      </label>
      {!hasSegments && <p className="att-placeholder">This task's examples have no segments (plain text): every key counts as context.</p>}
      {/* A task without segments (plain text) gets no per-segment charts: they would be empty "needle", "query"… */}
      {!hasSegments ? null : !anyPoint ? <p className="att-placeholder">No attention snapshot yet: the series grows with every evaluation.</p> : (
        <>
          <div className="att-mini-row">
            {segments.inputs.map((segment) => <SegmentChart key={segment} segment={segment} name={segments.names[segment]} lines={lines} maxStep={maxStep} />)}
          </div>
          <div className="att-table-wrap">
          <table className="att-table" data-testid="segment-mass-table">
            <thead>
              <tr><th scope="col">latest</th><th scope="col" aria-label="split" />{segments.inputs.map((s) => <th key={s} scope="col" className="num">{segments.names[s]}</th>)}</tr>
            </thead>
            <tbody>
              {lines.map(({ entry, points }) => {
                const last = points[points.length - 1];
                return (
                  <tr key={entry.run} data-run={entry.run}>
                    <th scope="row"><span className="att-swatch" style={{ background: entry.colour }} />{entry.label} <span className="att-muted">step {last?.step ?? '—'}</span></th>
                    <td>{last && <StackedBar values={last.values} shown={segments.inputs} />}</td>
                    {segments.inputs.map((s) => <td key={s} className="num" data-segment={s}>{last ? formatPercent(last.values[s]) : '—'}</td>)}
                  </tr>
                );
              })}
              <PaperRows segments={segments} />
            </tbody>
          </table>
          </div>
        </>
      )}
    </section>
  );
});

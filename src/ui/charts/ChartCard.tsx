import { useMemo, type ReactNode } from 'react';
import { useRuns } from '../../store/runs';
import type uPlot from 'uplot';
import { LiveChart, type ChartSpec } from './LiveChart';
import { armEnds } from './series';

interface ChartCardProps {
  id: string;
  title: string;
  /** One or two sentences: what the view shows and how to read it. */
  caption: ReactNode;
  spec: ChartSpec;
  data: uPlot.AlignedData;
  /** Shown over the chart while it has no points. */
  empty?: string;
  /** Extra controls in the header (selectors, sliders). */
  tools?: ReactNode;
  /** Below the chart (tables). */
  children?: ReactNode;
  height?: number;
  /** Spans the whole row of the grid. */
  wide?: boolean;
}

function formatSummary(value: number | null, format: (v: number) => string): string {
  return value === null ? '—' : format(value);
}

/**
 * A titled chart with its caption and a visually hidden table of each line's first and latest value
 * (for screen readers, and for the e2e tests, which read its data-* attributes).
 */
export function ChartCard({ id, title, caption, spec, data, empty = 'Press Start to train: points appear here as they arrive.', tools, children, height, wide = false }: ChartCardProps) {
  // In the fine-tuning stage the steps are fine-tuning steps (src/session/finetune.ts).
  const finetuning = useRuns((s) => s.study?.stage === 'finetune');
  const shown = useMemo(() => (finetuning && spec.xLabel === 'step'
    ? { ...spec, xLabel: 'fine-tuning step', xFormat: spec.xFormat ?? ((x: number) => `fine-tuning step ${x}`), key: `${spec.key}:finetune` }
    : spec), [spec, finetuning]);
  const points = (data[0] as ArrayLike<number>).length;
  const ends = armEnds(data, spec);
  return (
    <figure className={`chart-card${wide ? ' wide' : ''}`} data-testid={`chart-${id}`} data-points={points} aria-labelledby={`${id}-title`}>
      <div className="chart-head">
        <h3 id={`${id}-title`}>{title}</h3>
        {tools && <div className="chart-tools">{tools}</div>}
      </div>
      <div className="chart-body">
        <LiveChart spec={shown} data={data} height={height} />
        {points === 0 && <div className="chart-empty">{empty}</div>}
      </div>
      <figcaption>{caption}</figcaption>
      {/* The clipping box is a div: a table grows to its content whatever its width, and overflowed the page. */}
      <div className="sr-only">
      <table data-testid={`summary-${id}`}>
        <caption>{title}: first and latest value of each line ({points} points)</caption>
        <thead><tr><th scope="col">line</th><th scope="col">first</th><th scope="col">latest</th><th scope="col">points</th></tr></thead>
        <tbody>
          {ends.map((e) => (
            <tr key={e.label} data-line={e.label} data-first={e.first ?? ''} data-last={e.last ?? ''} data-points={e.points}>
              <th scope="row">{e.label}</th>
              <td>{formatSummary(e.first, spec.format)}</td>
              <td>{formatSummary(e.last, spec.format)}</td>
              <td>{e.points}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {children}
    </figure>
  );
}

import { memo, useState } from 'react';
import { useAttention } from '../../store/attention';
import { probabilityRgb, hexToRgb } from './colours';
import { snapshotMatrix } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';

/**
 * One query position's attention row through every layer (BertViz's "follow a token"): for each compared
 * run, a strip per layer over the keys up to that position, mean over heads, on the selected input. The
 * default query is the position that must produce the answer.
 */
export const QueryRowView = memo(function QueryRowView({ compared }: { compared: ComparedRun[] }) {
  const input = useAttention((s) => s.input);
  const reference = compared.find((c) => c.snapshot)?.snapshot;
  const [chosen, setChosen] = useState<number | null>(null);
  if (!reference) return null;
  const T = reference.T;
  const query = Math.min(T - 1, chosen ?? reference.answerPosition);
  const keys = Array.from({ length: query + 1 }, (_, k) => k);
  return (
    <section className="att-view att-view-wide" aria-labelledby="att-row-title" data-testid="query-row-view" data-query={query}>
      <h3 id="att-row-title">Follow one position through the layers</h3>
      <p className="hint">
        What position {query} (<b>{reference.tokenNames[query]}</b>) attends to in each layer, mean over heads, {input} input: darker = more.
      </p>
      <label className="att-inline">
        position
        <select value={query} data-testid="query-row-select" onChange={(e) => setChosen(Number(e.target.value))}>
          {reference.tokenNames.map((name, p) => (
            <option key={p} value={p}>{p}: {name}{p === reference.answerPosition ? ' (produces the answer)' : ''}</option>
          ))}
        </select>
      </label>
      <div className="att-table-wrap">
        <table className="att-row-table">
          <thead>
            <tr><th scope="col">run · layer</th>{keys.map((k) => <th key={k} scope="col" className="att-row-key">{reference.tokenNames[k]}</th>)}</tr>
          </thead>
          <tbody>
            {compared.filter((c) => c.snapshot && c.snapshot.T === T).flatMap((entry) => {
              const base = hexToRgb(entry.colour);
              return Array.from({ length: entry.snapshot!.layers }, (_, layer) => {
                const matrix = snapshotMatrix(entry.snapshot!, input, layer, 'all');
                return (
                  <tr key={`${entry.run}:${layer}`} data-testid="query-row" data-run={entry.run} data-layer={layer}>
                    <th scope="row"><span className="att-swatch" style={{ background: entry.colour }} />{entry.label} · L{layer}</th>
                    {keys.map((k) => {
                      const p = matrix[query * T + k];
                      const [r, g, b] = probabilityRgb(p, base);
                      return <td key={k} className="att-row-cell" title={`${reference.tokenNames[k]}: ${p.toPrecision(3)}`} data-probability={p}
                        style={{ background: `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})` }} />;
                    })}
                  </tr>
                );
              });
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
});

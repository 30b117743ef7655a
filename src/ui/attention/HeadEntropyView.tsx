import { memo, useMemo } from 'react';
import { uniformEntropy } from '../../analysis/attentionStack';
import { useAttention } from '../../store/attention';
import { snapshotEntropy } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';

const H = 170;
const PAD = { left: 36, right: 8, top: 10, bottom: 30 };

/** Mean row entropy of every head, runs side by side per head; the dashed line is a head that attends uniformly. */
export const HeadEntropyView = memo(function HeadEntropyView({ compared }: { compared: ComparedRun[] }) {
  const input = useAttention((s) => s.input);
  const data = useMemo(() => compared.flatMap((entry) => (entry.snapshot
    ? [{ entry, entropy: snapshotEntropy(entry.snapshot, input) }] : [])), [compared, input]);
  const first = compared.find((c) => c.snapshot)?.snapshot;
  const heads = first ? first.layers * first.heads : 0;
  const top = first ? Math.max(uniformEntropy(first.T), ...data.flatMap((d) => d.entropy.flat())) : 1;
  const group = Math.max(28, 10 + 14 * data.length);
  const W = PAD.left + PAD.right + Math.max(1, heads) * group;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + plotH * (1 - v / top);
  const bar = data.length > 0 ? Math.min(14, (group - 10) / data.length) : 0;

  return (
    <section className="att-view" aria-labelledby="att-entropy-title" data-testid="head-entropy">
      <h3 id="att-entropy-title">Per-head attention entropy</h3>
      <p className="hint">
        Mean entropy (nats) of each head's attention rows, {input} input: low = the head focuses on a few keys; the dashed line is uniform attention.
      </p>
      {!first ? <p className="att-placeholder">No attention snapshot yet.</p> : (
        <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label="attention entropy per layer and head">
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(f * top)} y2={y(f * top)} className="att-grid" />
              <text x={PAD.left - 4} y={y(f * top) + 4} textAnchor="end" className="att-axis">{(f * top).toFixed(1)}</text>
            </g>
          ))}
          <line x1={PAD.left} x2={W - PAD.right} y1={y(uniformEntropy(first.T))} y2={y(uniformEntropy(first.T))}
            className="att-reference"><title>uniform attention: {uniformEntropy(first.T).toFixed(3)} nats</title></line>
          {Array.from({ length: first.layers }, (_, l) => Array.from({ length: first.heads }, (_, h) => {
            const g = l * first.heads + h;
            const x0 = PAD.left + g * group + 5;
            return (
              <g key={g}>
                {data.map(({ entry, entropy }, k) => {
                  const v = entropy[l]?.[h] ?? 0;
                  return (
                    <rect key={entry.run} x={x0 + k * bar} y={y(v)} width={bar - 1} height={Math.max(0, y(0) - y(v))} fill={entry.colour}
                      data-run={entry.run} data-layer={l} data-head={h}>
                      <title>{entry.label}, layer {l} head {h}: {v.toFixed(3)} nats</title>
                    </rect>
                  );
                })}
                <text x={PAD.left + g * group + group / 2} y={H - PAD.bottom + 14} textAnchor="middle" className="att-axis">L{l}H{h}</text>
              </g>
            );
          }))}
        </svg>
      )}
    </section>
  );
});

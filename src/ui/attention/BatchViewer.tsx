import { useEffect, useState } from 'react';
import { armRows, connectBatch, requestBatch, useBatch } from '../../store/batch';
import { useRuns } from '../../store/runs';
import { runColor, runLabel } from '../../util/palette';

/**
 * The batch the engine trained on at its last step, one sequence at a time, for the first seed of every
 * arm: the same tokens (seed s of every arm sees the same batches) and each arm's MEAP mask — the masked
 * inputs are what the model saw as [MASK], while the loss still asks for every next token.
 */
/** What the model saw at a masked position: [MASK], or the random token a replace control put there. */
function seenName(replacedBy: number | null, names: readonly string[]): string {
  return replacedBy === null ? '[MASK]' : names[replacedBy] ?? String(replacedBy);
}

export function BatchViewer() {
  useEffect(connectBatch, []);
  const { status, batch, error } = useBatch();
  const study = useRuns((s) => s.study);
  const step = useRuns((s) => s.step);
  const state = useRuns((s) => s.state);
  const [sequence, setSequence] = useState(0);
  const names = study?.task.tokenNames ?? [];
  const rows = batch && study ? armRows(batch, study.runs, sequence) : [];
  const stale = batch !== null && batch.step !== step;
  return (
    <section className="att-view att-view-wide" aria-labelledby="att-batch-title" data-testid="batch-viewer" data-step={batch?.step ?? ''}>
      <h3 id="att-batch-title">The training batch</h3>
      <p className="hint">
        One sequence of the batch the engine trained on, per arm (seed 0): the same tokens, each arm&apos;s own mask. A dark token was
        replaced in that arm&apos;s input — by [MASK], or by a random token under the &quot;masked inputs become&quot; control (hover to see
        which); the loss still asks every position for its next token.
      </p>
      <div className="att-controls">
        <button type="button" className="secondary small" data-testid="batch-show" disabled={!study || step === 0 || state === 'running' || status === 'pending'}
          onClick={requestBatch}>
          {batch ? `Show the batch of step ${step}` : 'Show the last batch'}
        </button>
        {batch && (
          <label className="att-inline">
            sequence
            <select value={Math.min(sequence, batch.B - 1)} data-testid="batch-sequence" onChange={(e) => setSequence(Number(e.target.value))}>
              {Array.from({ length: batch.B }, (_, b) => <option key={b} value={b}>{b + 1} of {batch.B}</option>)}
            </select>
          </label>
        )}
        {state === 'running' && <span className="att-muted">Pause to look at a batch.</span>}
        {stale && <span className="att-muted">(the study has moved on since step {batch.step})</span>}
      </div>
      {error && <p className="att-placeholder" data-testid="batch-error">{error}</p>}
      {rows.map((row) => {
        const maskedCount = row.masked.filter(Boolean).length;
        return (
          <div key={row.run} className="att-batch-row" data-testid="batch-row" data-run={row.run} data-mask-ratio={row.info.maskRatio}>
            <span className="att-batch-arm">
              <span className="att-swatch" style={{ background: runColor(row.info, study!.config.arms) }} />
              {runLabel(row.info, study!.config.arms)} <span className="att-muted">({maskedCount} of {row.tokens.length} masked)</span>
            </span>
            <p className="att-tokens">
              {row.tokens.map((token, p) => (
                <span key={p} data-position={p} data-masked={row.masked[p] ? 'yes' : 'no'}
                  className={`att-token${row.masked[p] ? ' att-token-masked' : ''}`}
                  title={`${p}: ${names[token] ?? token}${row.masked[p] ? ` — the model saw ${seenName(row.replacedBy[p], names)}` : ''}`}>
                  {names[token] ?? token}
                </span>
              ))}
            </p>
          </div>
        );
      })}
    </section>
  );
}

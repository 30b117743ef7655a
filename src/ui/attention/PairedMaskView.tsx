import { memo, useMemo } from 'react';
import type { PairedMaskAnalysis } from '../../analysis/attentionStack';
import { formatSignedPercent } from './colours';
import { snapshotPaired } from './snapshotAnalysis';
import type { ComparedRun } from './useCompared';

function formatValue(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return Math.abs(x) >= 1e-3 ? x.toFixed(4) : x.toExponential(2);
}

interface Row {
  label: string;
  value: (a: PairedMaskAnalysis) => number;
  change?: boolean;
  paper: string;
}

const ROWS: Row[] = [
  { label: 'attention on the masked keys, clean input', value: (a) => a.onMaskedClean, paper: '' },
  { label: 'attention on the masked keys, masked input', value: (a) => a.onMaskedMasked, paper: '' },
  { label: 'change of attention on the masked keys, masked vs clean input (“score decay”)', value: (a) => a.scoreDecay, change: true, paper: '≈ −53%' },
  { label: 'variance over unmasked keys, clean input', value: (a) => a.varianceClean, paper: '' },
  { label: 'variance over unmasked keys, masked input', value: (a) => a.varianceMasked, paper: '' },
  { label: 'change of the variance over the unmasked keys (“variance increase”)', value: (a) => a.varianceIncrease, change: true, paper: 'rises' },
];

/**
 * The paper's paired analysis: the same trained model on the clean example and on the example with a few
 * positions masked. Masking drains attention from the masked keys and spreads the rest further apart.
 */
export const PairedMaskView = memo(function PairedMaskView({ compared }: { compared: ComparedRun[] }) {
  const analyses = useMemo(() => compared.map((entry) => (entry.snapshot ? snapshotPaired(entry.snapshot) : null)), [compared]);
  const masked = compared.find((c) => c.snapshot)?.snapshot?.maskedPositions ?? [];
  const any = analyses.some((a) => a !== null);
  return (
    <section className="att-view" aria-labelledby="att-paired-title" data-testid="paired-mask">
      <h3 id="att-paired-title">Clean vs masked input, same model</h3>
      <p className="hint" data-testid="paired-mask-hint">
        This one example (the one picked above), with positions {masked.length > 0 ? masked.join(', ') : '(a few)'} masked: the relative change of the
        attention those keys get, and of how spread out the scores on the other keys are, mean over layers and heads. A negative change
        means the masked keys get <em>less</em> attention, as in the paper (−53%); a positive one, more. The Report&apos;s
        attention analysis averages the same measures over several examples, so its numbers differ.
      </p>
      {!any ? <p className="att-placeholder">No attention snapshot yet.</p> : (
        <div className="att-table-wrap">
        <table className="att-table">
          <thead>
            <tr>
              <th scope="col" />
              {compared.map((entry) => (
                <th key={entry.run} scope="col" className="num"><span className="att-swatch" style={{ background: entry.colour }} />{entry.label}</th>
              ))}
              <th scope="col" className="num">paper</th>
            </tr>
          </thead>
          <tbody>
            {ROWS.map((row) => (
              <tr key={row.label} className={row.change ? 'att-change-row' : undefined}>
                <th scope="row">{row.label}</th>
                {analyses.map((a, k) => {
                  const v = a ? row.value(a) : Number.NaN;
                  const cls = row.change && Number.isFinite(v) ? (v < 0 ? ' att-down' : ' att-up') : '';
                  return <td key={compared[k].run} className={`num${cls}`} data-run={compared[k].run}>{row.change ? formatSignedPercent(v) : formatValue(v)}</td>;
                })}
                <td className="num att-muted">{row.paper}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
});

import { useDeferredValue, useMemo } from 'react';
import { useAttention } from '../../store/attention';
import { AttentionControls } from './AttentionControls';
import { ExampleTokens } from './ExampleTokens';
import { HeadEntropyView } from './HeadEntropyView';
import { AttentionGrid } from './AttentionGrid';
import { BatchViewer } from './BatchViewer';
import { QueryRowView } from './QueryRowView';
import { HeatmapView } from './HeatmapView';
import { PairedMaskView } from './PairedMaskView';
import { ScoreHistogram } from './ScoreHistogram';
import { SegmentMassView } from './SegmentMassView';
import { useCompared } from './useCompared';
import './attention.css';

/**
 * What the objective changes in what the model attends to: the same evaluation example through the
 * compared NTP and MEAP runs (same seed: same initial weights, same batches), refreshed at every evaluation.
 *
 * The snapshots (and the segment-mass series) reach the views through useDeferredValue: while training,
 * a new snapshot is drawn by a background render that React splits into slices of a few milliseconds,
 * so the page never freezes while the views catch up. The selection (layer, head, input) is read by the
 * views directly and applies at once. Every view is memoised: a view re-renders only when its inputs change.
 */
export function AttentionPanel() {
  const live = useCompared();
  const liveMass = useAttention((s) => s.massSeries);
  const latest = useMemo(() => ({ compared: live, massSeries: liveMass }), [live, liveMass]);
  const { compared, massSeries } = useDeferredValue(latest);
  const input = useAttention((s) => s.input);
  const built = useAttention((s) => s.runs.length > 0);
  return (
    <section className="panel att-panel" aria-labelledby="att-title" data-testid="attention-panel">
      <h2 id="att-title">Attention: what each objective looks at</h2>
      <p className="hint">
        One held-out example through the NTP and the MEAP model of the same seed; MEAP should pull the answer position's attention
        from the surrounding context onto the needle.
      </p>
      {!built && <p className="att-placeholder">Build and start a study to see its attention.</p>}
      <AttentionControls />
      <ExampleTokens snapshot={compared.find((c) => c.snapshot)?.snapshot} input={input} />
      <div className="att-views">
        <BatchViewer />
        <HeatmapView compared={compared} />
        <AttentionGrid compared={compared} />
        <QueryRowView compared={compared} />
        <SegmentMassView compared={compared} massSeries={massSeries} />
        <ScoreHistogram compared={compared} />
        <PairedMaskView compared={compared} />
        <HeadEntropyView compared={compared} />
      </div>
    </section>
  );
}

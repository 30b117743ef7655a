import { memo, useState } from 'react';
import { useAttention } from '../../store/attention';
import { AttentionHeatmap } from './AttentionHeatmap';
import { SegmentLegend } from './SegmentLegend';
import { ColourScale } from './AttentionGrid';
import { DifferenceHeatmap } from './DifferenceHeatmap';
import type { ComparedRun } from './useCompared';

/** The compared runs' heatmaps side by side on the same example, layer and head. */
export const HeatmapView = memo(function HeatmapView({ compared }: { compared: ComparedRun[] }) {
  const layer = useAttention((s) => s.layer);
  const head = useAttention((s) => s.head);
  const input = useAttention((s) => s.input);
  const [large, setLarge] = useState(false);
  return (
    <section className="att-view att-view-wide" aria-labelledby="att-heatmap-title" data-testid="heatmap-view">
      <h3 id="att-heatmap-title">Attention heatmaps</h3>
      <p className="hint">
        Who each position (row) looks at (column) in layer {layer}, {head === 'all' ? 'mean over heads' : `head ${head}`}; darker = more
        attention (√ scale), axes coloured by segment, marks at the positions masked in the paired analysis.
      </p>
      <label className="att-inline">
        <input type="checkbox" checked={large} data-testid="heatmap-large" onChange={(e) => setLarge(e.target.checked)} /> large (one per row)
      </label>
      {compared.length === 0 && <p className="att-placeholder">Build a study to compare its runs.</p>}
      <div className="att-heatmap-row">
        {compared.map((entry) => <AttentionHeatmap key={entry.run} entry={entry} layer={layer} head={head} input={input} target={large ? 640 : 320} />)}
        {compared.length === 2 && <DifferenceHeatmap compared={compared} layer={layer} head={head} input={input} />}
      </div>
      <div className="att-grid-head">{compared.map((entry) => <ColourScale key={entry.run} colour={entry.colour} />)}</div>
      <SegmentLegend withMask />
    </section>
  );
});

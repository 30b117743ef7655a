import { memo, useState } from 'react';
import { useAttention } from '../../store/attention';
import { AttentionHeatmap } from './AttentionHeatmap';
import { SegmentLegend } from './SegmentLegend';
import { ColourScale } from './AttentionGrid';
import { DifferenceHeatmap } from './DifferenceHeatmap';
import type { ComparedRun } from './useCompared';
import { heatmapWidth } from './geometry';
import { useElementWidth } from './useElementWidth';

/**
 * The compared runs' heatmaps (and their difference) on the same example, layer and head, sized to the panel:
 * two per row (half its width each) or, "large", one per row at its full width; a screen too narrow for two
 * per row gets one per row and no switch.
 */
export const HeatmapView = memo(function HeatmapView({ compared }: { compared: ComparedRun[] }) {
  const layer = useAttention((s) => s.layer);
  const head = useAttention((s) => s.head);
  const input = useAttention((s) => s.input);
  const [large, setLarge] = useState(false);
  const [rowRef, rowWidth] = useElementWidth<HTMLDivElement>();
  const width = rowWidth === null ? null : heatmapWidth(rowWidth, large);
  const switchable = rowWidth !== null && heatmapWidth(rowWidth, false) !== heatmapWidth(rowWidth, true);
  return (
    <section className="att-view att-view-wide" aria-labelledby="att-heatmap-title" data-testid="heatmap-view">
      <h3 id="att-heatmap-title">Attention heatmaps</h3>
      <p className="hint">
        Who each position (row) looks at (column) in layer {layer}, {head === 'all' ? 'mean over heads' : `head ${head}`}; darker = more
        attention (√ scale), axes coloured by segment, marks at the positions masked in the paired analysis.
      </p>
      {switchable && (
        <label className="att-inline">
          <input type="checkbox" checked={large} data-testid="heatmap-large" onChange={(e) => setLarge(e.target.checked)} /> large (one per row, full width)
        </label>
      )}
      {compared.length === 0 && <p className="att-placeholder">Build a study to compare its runs.</p>}
      <div className="att-heatmap-row" ref={rowRef} data-testid="heatmap-row" data-width={width ?? ''}>
        {compared.map((entry) => <AttentionHeatmap key={entry.run} entry={entry} layer={layer} head={head} input={input} width={width} />)}
        {compared.length === 2 && <DifferenceHeatmap compared={compared} layer={layer} head={head} input={input} width={width} />}
      </div>
      <div className="att-grid-head">{compared.map((entry) => <ColourScale key={entry.run} colour={entry.colour} />)}</div>
      <SegmentLegend withMask />
    </section>
  );
});

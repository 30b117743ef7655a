import { memo } from 'react';
import { segmentColour } from './colours';
import { useSegments } from './segments';

/** Colour key of the segments of a retrieval example (the answer is predicted, never an input). */
export const SegmentLegend = memo(function SegmentLegend({ withMask = false }: { withMask?: boolean }) {
  const segments = useSegments();
  return (
    <ul className="att-legend" aria-label="segment colours">
      {segments.inputs.map((s) => (
        <li key={s}><span className="att-swatch" style={{ background: segmentColour(s) }} />{segments.names[s]}</li>
      ))}
      {withMask && <li><span className="att-swatch att-swatch-mask" />masked position (hollow: clean input shown)</li>}
    </ul>
  );
});

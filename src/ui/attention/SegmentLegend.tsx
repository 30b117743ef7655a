import { memo } from 'react';
import { SEGMENT_NAMES } from '../../data/needleTask';
import { segmentColour } from './colours';

/** Colour key of the segments of a retrieval example (the answer is predicted, never an input). */
export const SegmentLegend = memo(function SegmentLegend({ withMask = false }: { withMask?: boolean }) {
  return (
    <ul className="att-legend" aria-label="segment colours">
      {SEGMENT_NAMES.slice(0, 4).map((name, s) => (
        <li key={name}><span className="att-swatch" style={{ background: segmentColour(s) }} />{name}</li>
      ))}
      {withMask && <li><span className="att-swatch att-swatch-mask" />masked position (hollow: clean input shown)</li>}
    </ul>
  );
});

/**
 * The study's segments as the Worker named them in 'built' (TaskView.segmentNames): the attention views
 * label and colour tokens by them and show the input segments (the answer is predicted, never an input).
 */
import { useAttention } from '../../store/attention';

export interface Segments {
  names: readonly string[];
  /** The segment labels an input token can carry, in order. */
  inputs: readonly number[];
}

const NONE: Segments = { names: [], inputs: [] };
let cached: { names: readonly string[]; segments: Segments } | undefined;

/** The current study's segments (none before a study is built). */
export function useSegments(): Segments {
  const task = useAttention((s) => s.task);
  if (!task) return NONE;
  // One object per study, so memoised views do not redraw for an unchanged study.
  if (cached?.names !== task.segmentNames) {
    cached = { names: task.segmentNames, segments: { names: task.segmentNames, inputs: Array.from({ length: task.inputSegments }, (_, s) => s) } };
  }
  return cached.segments;
}

/** A segment's name, or `segment N` for a label the study does not name. */
export function segmentName(segments: Segments, segment: number): string {
  return segments.names[segment] ?? `segment ${segment}`;
}

import { useMemo } from 'react';
import type { AttentionSnapshot } from '../../train/protocol';
import type { RunInfo } from '../../train/study';
import type { AttentionStack } from '../../analysis/attentionStack';
import { comparedRuns, useAttention, type InputKind } from '../../store/attention';
import { runColour, runLabel } from './colours';

export interface ComparedRun {
  run: number;
  info: RunInfo;
  colour: string;
  label: string;
  /** Latest snapshot on the selected example, or undefined before the first one arrives. */
  snapshot: AttentionSnapshot | undefined;
}

/** The runs being compared (NTP arm and MEAP arm of the selected seed), with their latest snapshots. */
export function useCompared(): ComparedRun[] {
  const runs = useAttention((s) => s.runs);
  const baseArm = useAttention((s) => s.baseArm);
  const meapArm = useAttention((s) => s.meapArm);
  const seed = useAttention((s) => s.seed);
  const snapshots = useAttention((s) => s.snapshots);
  const config = useAttention((s) => s.config);
  return useMemo(() => comparedRuns(runs, baseArm, meapArm, seed).map((run) => ({
    run,
    info: runs[run],
    colour: runColour(runs[run], config?.arms),
    label: runLabel(runs[run]),
    snapshot: snapshots[run],
  })), [runs, baseArm, meapArm, seed, snapshots, config]);
}

/** One input's [layers, heads, T, T] attention of a snapshot. */
export function stackOf(snapshot: AttentionSnapshot, input: InputKind): AttentionStack {
  return { probs: input === 'clean' ? snapshot.clean : snapshot.masked, layers: snapshot.layers, heads: snapshot.heads, T: snapshot.T };
}

import { useMemo, useRef } from 'react';
import type { AttentionSnapshot, RunInfo } from '../../session/protocol';
import { comparedRuns, useAttention } from '../../store/attention';
import { runColour, runLabel } from './colours';

export interface ComparedRun {
  run: number;
  info: RunInfo;
  colour: string;
  label: string;
  /** Latest snapshot on the selected example, or undefined before the first one arrives. */
  snapshot: AttentionSnapshot | undefined;
}

function sameEntry(a: ComparedRun, b: ComparedRun): boolean {
  return a.run === b.run && a.info === b.info && a.colour === b.colour && a.label === b.label && a.snapshot === b.snapshot;
}

/**
 * Reuses the previous entries (and array) wherever nothing changed, so that views and per-run parts
 * wrapped in memo skip the run whose snapshot did not change (the two runs' snapshots arrive one by one).
 */
export function keepUnchanged(previous: readonly ComparedRun[], next: ComparedRun[]): ComparedRun[] {
  const merged = next.map((entry) => previous.find((p) => sameEntry(p, entry)) ?? entry);
  return merged.length === previous.length && merged.every((e, k) => e === previous[k]) ? (previous as ComparedRun[]) : merged;
}

/** The runs being compared (NTP arm and MEAP arm of the selected seed), with their latest snapshots. */
export function useCompared(): ComparedRun[] {
  const runs = useAttention((s) => s.runs);
  const baseArm = useAttention((s) => s.baseArm);
  const meapArm = useAttention((s) => s.meapArm);
  const seed = useAttention((s) => s.seed);
  const snapshots = useAttention((s) => s.snapshots);
  const config = useAttention((s) => s.config);
  const previous = useRef<ComparedRun[]>([]);
  return useMemo(() => {
    const next = keepUnchanged(previous.current, comparedRuns(runs, baseArm, meapArm, seed).map((run) => ({
      run,
      info: runs[run],
      colour: runColour(runs[run], config?.arms),
      label: runLabel(runs[run], false, config?.arms),
      snapshot: snapshots[run],
    })));
    previous.current = next;
    return next;
  }, [runs, baseArm, meapArm, seed, snapshots, config]);
}

import { useMemo } from 'react';
import { useRuns } from '../../store/runs';
import { useConfig } from '../../store/config';
import { armGroups, type ArmGroup } from './series';
import type { RunInfo } from '../../session/protocol';

/** Runs of a config, in the Study's order (run r = arm · seedsPerArm + seed). */
export function runsOf(arms: readonly number[], seedsPerArm: number): RunInfo[] {
  return arms.flatMap((maskRatio, arm) => Array.from({ length: seedsPerArm }, (_, seed) => ({
    arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
  })));
}

/** The arms of the study on screen: the built one, or (before any build) the one being edited. */
export function useGroups(): ArmGroup[] {
  const study = useRuns((s) => s.study);
  const arms = useConfig((s) => s.config.arms);
  const seeds = useConfig((s) => s.config.seedsPerArm);
  return useMemo(() => (study
    ? armGroups(study.runs, study.config.arms)
    : armGroups(runsOf(arms, seeds), arms)), [study, arms, seeds]);
}

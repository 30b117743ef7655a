/**
 * Which study the page shows and which it asked for: the state the session store (src/store/session.ts)
 * keeps and the checkpoint store reads. A leaf, so both can import it without a cycle.
 */
import { create } from 'zustand';
import type { StudyConfig } from '../config/presets';

export interface SessionState {
  /**
   * The study the Worker built (its config as echoed by 'built'): what the charts show. In the fine-tuning
   * stage `config` is still the study's (what the controls edit) and `stageConfig` the stage's (what trains).
   */
  applied: { presetName: string; config: StudyConfig; stageConfig?: StudyConfig } | null;
  /** A 'configure' sent and not yet answered by 'built' (or an error). */
  requested: { presetName: string; config: StudyConfig } | null;
  /** What to do once the requested study is built. */
  then: 'start' | 'step' | null;
}

export const useSession = create<SessionState>()(() => ({ applied: null, requested: null, then: null }));

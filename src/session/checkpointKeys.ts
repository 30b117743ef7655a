/**
 * How a study's checkpoint is named and how often it is saved: shared by the session (which saves) and the
 * page (which matches the study on screen to a stored checkpoint), so it imports nothing but types and util.
 */
import type { StudyConfig } from '../config/presets';
import type { EngineKind } from '../engine/types';
import { canonicalJson } from '../util/canonicalJson';

/** Autosave every this many steps by default (the page's `checkpointEvery` URL parameter changes it)… */
export const DEFAULT_CHECKPOINT_EVERY = 100;
/** …and after at most this much training time since the last save. */
export const DEFAULT_CHECKPOINT_MAX_INTERVAL_MS = 30_000;

export function checkpointKey(engine: EngineKind, config: StudyConfig): string {
  return `${engine}:${canonicalJson(config)}`;
}

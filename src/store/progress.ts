/**
 * How fast the study advances in wall time as the page sees it (training, evaluations, probes and saves
 * together), for the time estimates: before Start from the Worker's timed step ('stepTime'), while running
 * from the steps made over the last minute. A window, not the latest interval, so the "time left" does not
 * jump with every evaluation; samples are dropped whenever the study stops running (a pause is not slowness).
 */
import { create } from 'zustand';
import type { FromTrainer } from '../session/protocol';

export interface ProgressSample { step: number; atMs: number }

export interface ProgressState {
  /** Wall time of one training step of every run, timed by the Worker after the build (null: not timed). */
  stepTimeMs: number | null;
  /** (step, time) while running, oldest first, spanning at most WINDOW_MS. */
  samples: ProgressSample[];
}

/** The span of steps the running rate is measured over. */
export const WINDOW_MS = 60_000;

export const useProgress = create<ProgressState>()(() => ({ stepTimeMs: null, samples: [] }));

/** Adds a sample and drops those older than the window (keeping one before it, so the window stays full). */
export function addSample(samples: readonly ProgressSample[], sample: ProgressSample, windowMs = WINDOW_MS): ProgressSample[] {
  const last = samples[samples.length - 1];
  if (last && sample.step <= last.step) return samples as ProgressSample[];
  const next = [...samples, sample];
  let first = 0;
  while (first + 1 < next.length - 1 && sample.atMs - next[first + 1].atMs >= windowMs) first++;
  return next.slice(first);
}

/**
 * Seconds until `totalSteps`: from the rate over the samples once they span at least two steps and a second,
 * else from the timed step (training only), else NaN.
 */
export function secondsLeft(samples: readonly ProgressSample[], stepTimeMs: number | null, step: number, totalSteps: number): number {
  const remaining = Math.max(0, totalSteps - step);
  const a = samples[0], b = samples[samples.length - 1];
  if (a && b && b.step - a.step >= 2 && b.atMs - a.atMs >= 1000) return remaining * ((b.atMs - a.atMs) / 1000) / (b.step - a.step);
  return stepTimeMs !== null && stepTimeMs > 0 ? (remaining * stepTimeMs) / 1000 : Number.NaN;
}

/** Feeds a Worker message (the session store routes them all here). */
export function receiveProgressMessage(message: FromTrainer, nowMs = performance.now()): void {
  const set = useProgress.setState;
  switch (message.type) {
    case 'built': set({ stepTimeMs: null, samples: [] }); break;
    case 'stepTime': set({ stepTimeMs: message.msPerStep }); break;
    case 'state': if (message.state !== 'running') set({ samples: [] }); break;
    case 'trainLoss':
    case 'evaluation':
      set((s) => ({ samples: addSample(s.samples, { step: message.step, atMs: nowMs }) }));
      break;
    default: break;
  }
}

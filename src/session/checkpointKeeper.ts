/**
 * The training session's checkpoints (for src/session/session.ts): it saves the whole study (engine state +
 * the metric history it posted + its loss accounting, src/session/checkpointExtra.ts) every
 * `checkpointEvery` steps, after at most `checkpointMaxIntervalMs` of training, when the study is done and
 * on 'checkpoint'; it keeps the last good one in memory and writes it to a CheckpointStore (IndexedDB in
 * the Worker). 'resume' rebuilds a stored study paused at its step; it continues bit-identically
 * (test/sessionCheckpoint.test.ts). A poisoned run state never replaces a good checkpoint (see `save`).
 */
import { runCount } from '../config/finetuneStage';
import type { StudyEngine } from '../engine/studyEngine';
import type { StudyConfig } from '../config/presets';
import type { FromTrainer } from './protocol';
import { assertCpuSized } from '../engine/cpuStudy';
import { decodeStudyCheckpoint, encodeStudyCheckpoint, type StudyCheckpoint, type StudyState } from '../engine/checkpoint';
import {
  type CheckpointListing, type CheckpointReason, type CheckpointRecord, type CheckpointStore, type CheckpointSummary,
} from './checkpointStore';
import { readSessionExtra, type SessionExtra } from './checkpointExtra';
import { errorMessage } from '../util/errorMessage';
import { checkpointKey, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MAX_INTERVAL_MS } from './checkpointKeys';

/** A checkpoint with the session's part of it, read. */
export type SavedStudy = { checkpoint: StudyCheckpoint; extra: SessionExtra };

/** How a study is rebuilt from a checkpoint (or, with no checkpoint yet, from step 0) by the session's `build`. */
export interface Restore {
  saved: SavedStudy | undefined;
  reason: 'resume' | 'deviceLost';
  /** The step the study had reached (device loss), to count the steps taken again. */
  reachedStep: number;
  /** Why the checkpoint could not be applied (the study then starts from step 0). */
  problem?: string;
}

/** The message of 'restored' once a study is rebuilt by `restore` and stands at `step`. */
export function restoredMessage(restore: Restore, step: number): { message: string; lostSteps: number } {
  const lostSteps = Math.max(0, restore.reachedStep - step);
  const problem = restore.problem ? ` The checkpoint could not be restored (${restore.problem}), so the study starts from step 0.` : '';
  const message = restore.reason === 'resume'
    ? (restore.saved ? `Resumed from the checkpoint of step ${step}.` : `Not resumed.${problem}`)
    : `A new GPU device is in use; the runs were rebuilt from ${restore.saved ? `the checkpoint of step ${step}` : 'step 0 (no checkpoint had been saved yet)'}` +
      `${lostSteps > 0 ? `, so ${lostSteps} step${lostSteps === 1 ? ' is' : 's are'} taken again` : ''}.${problem}`;
  return { message, lostSteps };
}

export interface CheckpointOptions {
  store: CheckpointStore;
  /** Autosave every this many steps (default DEFAULT_CHECKPOINT_EVERY)… */
  every?: number;
  /** …and after at most this much training time since the last save (default DEFAULT_CHECKPOINT_MAX_INTERVAL_MS). */
  maxIntervalMs?: number;
  post(message: FromTrainer): void;
}

export class CheckpointKeeper {
  private readonly store: CheckpointStore;
  private every: number;
  private maxIntervalMs: number;
  /** The last good checkpoint of the current study (also kept when the store cannot be written). */
  last: SavedStudy | undefined;
  lastSavedStep = 0;
  /** Training time since the last save. */
  msSinceSave = 0;
  /** Store writes run one after another, off the training path; listing waits for them. */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: CheckpointOptions) {
    this.store = options.store;
    this.every = options.every ?? DEFAULT_CHECKPOINT_EVERY;
    this.maxIntervalMs = options.maxIntervalMs ?? DEFAULT_CHECKPOINT_MAX_INTERVAL_MS;
  }

  /** Resolves once every store write queued so far is done. */
  settled(): Promise<void> {
    return this.writes;
  }

  /** A new study: no checkpoint of it yet. */
  forget(): void {
    this.last = undefined;
    this.lastSavedStep = 0;
    this.msSinceSave = 0;
  }

  /** The study was rebuilt from `saved`: it is the last good checkpoint. */
  adopt(saved: SavedStudy): void {
    this.last = saved;
    this.lastSavedStep = saved.checkpoint.state.step;
  }

  /** Whether an autosave is due at `step` (every `every` steps, or after `maxIntervalMs` of training). */
  due(step: number): boolean {
    return step - this.lastSavedStep >= this.every || (this.msSinceSave >= this.maxIntervalMs && step > this.lastSavedStep);
  }

  settings(everySteps: number, maxIntervalMs: number | undefined): void {
    const post = this.options.post;
    if (!(Number.isInteger(everySteps) && everySteps >= 1 && everySteps <= 1e9)) {
      return post({ type: 'error', message: `The checkpoint interval must be a whole number of steps ≥ 1, got ${JSON.stringify(everySteps)}.` });
    }
    if (maxIntervalMs !== undefined && !(Number.isFinite(maxIntervalMs) && maxIntervalMs >= 1000)) {
      return post({ type: 'error', message: `The longest time between checkpoints must be ≥ 1000 ms, got ${JSON.stringify(maxIntervalMs)}.` });
    }
    this.every = everySteps;
    if (maxIntervalMs !== undefined) this.maxIntervalMs = maxIntervalMs;
  }

  /**
   * Saves the whole study (every run's weights, AdamW moments, step, generator states, frozen runs, and
   * `extraAt(step)`: the metric history and the loss accounting) as the last good checkpoint and writes it
   * to the store.
   *
   * Only good states are saved. The interval's losses are reported first (by the session, before this),
   * so a run whose loss or gradient went non-finite is frozen (runFailed) before its state is read. A
   * frozen run stops changing: the GPU optimizer skips every step with a non-finite gradient norm, so its
   * weights are those of its last good step. Should a run's arrays hold a non-finite value anyway (memory
   * corruption, a bug), its part of the checkpoint is taken from the previous checkpoint (marked frozen),
   * and with no previous checkpoint nothing is saved: a poisoned state never replaces a good one. When
   * every run has stopped the study is 'failed' and nothing is saved any more.
   */
  async save(engine: StudyEngine, config: StudyConfig, reason: CheckpointReason, extraAt: (step: number) => SessionExtra): Promise<void> {
    const post = this.options.post;
    const state = await engine.saveState();
    const R = engine.R, P = state.params.length / R;
    const previous = this.last?.checkpoint.state;
    for (let r = 0; r < R; r++) {
      if (runIsFinite(state, r, P)) continue;
      if (!previous || !runIsFinite(previous, r, P)) {
        post({ type: 'checkpointNotSaved', reason, message: `No checkpoint at step ${state.step}: run ${r}'s weights or optimizer moments are not finite ` +
          `and there is no good copy of them to save instead. ${previous ? `The checkpoint of step ${previous.step} is kept.` : ''}`.trim() });
        return;
      }
      for (const name of ['params', 'm', 'v'] as const) {
        (state[name] as Float64Array).set((previous[name] as Float64Array).subarray(r * P, (r + 1) * P), r * P);
      }
      state.frozen[r] = true;
    }
    const extra = extraAt(state.step);
    const checkpoint: StudyCheckpoint = { state, extra };
    const data = encodeStudyCheckpoint(checkpoint);
    this.last = { checkpoint, extra };
    this.lastSavedStep = state.step;
    this.msSinceSave = 0;
    const summary: CheckpointSummary = {
      key: checkpointKey(engine.kind, config), engine: engine.kind, config: structuredClone(config), presetName: extra.presetName,
      step: state.step, savedAt: Date.now(), bytes: data.length, reason,
    };
    const store = this.store;
    this.writes = this.writes.then(async () => {
      let problem: string | null = null;
      try {
        // A study is a function of its config, so a stored checkpoint of the same study further along is the
        // same trajectory, further: it is never replaced by an earlier one (a reloaded page that trains
        // from step 0 instead of resuming does not wipe out the saved progress).
        const further = (await store.list()).find((s) => s.key === summary.key && s.step > summary.step);
        if (further) {
          problem = `This browser keeps the checkpoint of this same study at step ${further.step} (further along), ` +
            `so this one (step ${summary.step}) is kept in memory only: enough to recover from a lost GPU device.`;
        } else {
          await store.put({ ...summary, data });
        }
      } catch (error) {
        problem = `It could not be written to the browser's storage (${errorMessage(error)}); it is kept in memory, ` +
          'so a lost GPU device still recovers from it, but a reload cannot resume it.';
      }
      post({ type: 'checkpointSaved', summary, stored: problem === null, problem });
    });
  }

  async list(): Promise<void> {
    await this.writes;
    let listing: CheckpointListing = { summaries: [], unreadable: [] };
    let problem: string | null = null;
    try {
      listing = await this.store.listAll();
    } catch (error) {
      problem = `Saved checkpoints cannot be read in this browser (${errorMessage(error)}).`;
    }
    this.options.post({
      type: 'checkpoints', list: listing.summaries, unreadable: listing.unreadable, store: this.store.kind, problem,
      everySteps: this.every, maxIntervalMs: this.maxIntervalMs,
    });
  }

  async delete(key: string): Promise<void> {
    await this.writes;
    try {
      await this.store.delete(String(key));
    } catch (error) {
      this.options.post({ type: 'error', message: `The checkpoint could not be deleted (${errorMessage(error)}).` });
    }
    await this.list();
  }

  /** 'resume', first part: the stored record of `key`, or why there is none to resume. */
  async fetch(key: string): Promise<{ record: CheckpointRecord } | { refusal: string }> {
    await this.writes;
    let record;
    try {
      record = await this.store.get(String(key));
    } catch (error) {
      return { refusal: `the checkpoint store could not be read (${errorMessage(error)}).` };
    }
    if (!record) return { refusal: 'that checkpoint is no longer stored.' };
    return { record };
  }

  /**
   * 'resume', second part: the record read and checked for the backend this session trains with (a
   * checkpoint that is corrupt, of the other engine or too large for the CPU fallback is refused).
   */
  open(record: CheckpointRecord, backend: 'webgpu' | 'cpu'): { saved: SavedStudy } | { refusal: string } {
    const engineName = (kind: string) => (kind === 'webgpu' ? 'the WebGPU engine' : 'the CPU fallback');
    if (record.engine !== backend) {
      return { refusal: `it was saved by ${engineName(record.engine)} and this page trains with ${engineName(backend)}; a checkpoint resumes only where it was made.` };
    }
    try {
      const checkpoint = decodeStudyCheckpoint(record.data);
      const { config, step } = checkpoint.state;
      if ((checkpoint.state.params instanceof Float64Array) !== (backend === 'cpu')) throw new Error('its precision does not match the engine');
      if (backend === 'cpu') assertCpuSized(config);
      return { saved: { checkpoint, extra: readSessionExtra(checkpoint.extra, runCount(config), step) } };
    } catch (error) {
      return { refusal: errorMessage(error) };
    }
  }
}

/** Whether run r's weights and moments are all finite. */
function runIsFinite(state: StudyState, r: number, P: number): boolean {
  for (const name of ['params', 'm', 'v'] as const) {
    const a = state[name];
    for (let i = r * P; i < (r + 1) * P; i++) if (!Number.isFinite(a[i])) return false;
  }
  return true;
}

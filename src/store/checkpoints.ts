/**
 * The page's side of checkpoints, device loss, Worker crashes and model files. The Worker's session owns
 * the checkpoints (it autosaves to IndexedDB every N steps, see src/session/session.ts); this store:
 *  - asks for the stored checkpoints whenever an engine reports in (page load, new device, new Worker) and
 *    offers "Resume from step N" for the study in the URL (or the most recent one);
 *  - saves on demand, and when the tab is hidden or the page goes away (so a closed tab loses nothing
 *    the Worker had time to write);
 *  - shows a device loss and its recovery (the session does the work);
 *  - treats a Worker that threw outside the session as gone: it starts a new Worker (at most twice a
 *    minute) and offers the last checkpoint;
 *  - carries the model-file requests (export a run, load an upload into a run) to the Worker and back.
 * The autosave interval is `checkpointEvery` in the URL (default 100 steps); it is not part of the study.
 */
import { create } from 'zustand';
import type { FromTrainer, ModelFiles, CheckpointSummary, ModelUpload, UploadedModel } from '../session/protocol';
import { restartTrainer, sendToTrainer } from './trainer';
import { useConfig } from './config';
import { useDevice } from './device';
import { useRuns } from './runs';
import { isKnownPresetName, quoteRaw } from './configCodec';
import { checkpointKey, DEFAULT_CHECKPOINT_EVERY } from '../session/checkpointKeys';
import { useSession } from './sessionState';
import { readCheckpointSummaries, type UnreadableCheckpoint } from '../session/checkpointSummary';

export interface RecoveryInfo {
  phase: 'recovering' | 'recovered' | 'failed';
  message: string;
}

export interface CheckpointsState {
  /** Where the Worker keeps checkpoints (null until it said). */
  store: 'indexeddb' | 'memory' | null;
  /** What the store holds, most recent first. */
  saved: CheckpointSummary[];
  /** Stored entries that are not readable checkpoints (listed with a delete button). */
  unreadable: UnreadableCheckpoint[];
  /** The checkpoint offered for resuming (null: nothing to offer). */
  offer: CheckpointSummary | null;
  /** The last checkpoint of the study on screen, and whether it reached the browser's storage. */
  last: CheckpointSummary | null;
  lastStored: boolean;
  /** Why the last save did not happen or did not reach storage. */
  problem: string | null;
  everySteps: number;
  /** A resume sent and not answered yet. */
  resuming: CheckpointSummary | null;
  /** What the last resume or recovery did ("Resumed from the checkpoint of step 40."). */
  notice: string | null;
  recovery: RecoveryInfo | null;
  crash: { message: string; restarted: boolean } | null;
}

const URL_PARAM = 'checkpointEvery';

/** The autosave interval a link sets; a value that is not one is ignored with a notice, like the config's. */
export function everyFromQuery(search: string): { every: number; notice: string | null } {
  const raw = new URLSearchParams(search).get(URL_PARAM);
  if (raw === null) return { every: DEFAULT_CHECKPOINT_EVERY, notice: null };
  // Digits only, as the config's link values: Number() would also read "0x10", "1e2" or " 7 ".
  const value = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (value >= 1 && value <= 1_000_000) return { every: value, notice: null };
  return {
    every: DEFAULT_CHECKPOINT_EVERY,
    notice: `Ignored ${URL_PARAM}=${quoteRaw(raw)} from the link: a whole number of steps from 1 to 1,000,000 (checkpoints every ${DEFAULT_CHECKPOINT_EVERY} steps).`,
  };
}

function everyFromUrl(): number {
  if (typeof location === 'undefined') return DEFAULT_CHECKPOINT_EVERY;
  const { every, notice } = everyFromQuery(location.search);
  if (notice) useConfig.getState().addNotice(notice);
  return every;
}

export const useCheckpoints = create<CheckpointsState>()(() => ({
  store: null, saved: [], unreadable: [], offer: null, last: null, lastStored: false, problem: null, everySteps: everyFromUrl(),
  resuming: null, notice: null, recovery: null, crash: null,
}));

/** Offers dismissed by the user (key@step), for this page load. */
const dismissed = new Set<string>();
/**
 * Whether the user resumed a checkpoint in this page load: they chose what to continue, so other studies'
 * checkpoints are no longer offered (a second "Resume from step N" stacked under "Resumed from…").
 */
let resumedThisLoad = false;

/**
 * The checkpoint to offer: of this engine, not dismissed, not the study on screen's own latest save;
 * the one of the study in the controls first, else the most recent — unless `onlyStudyOnScreen`
 * (after a resume), when only the study on screen's own checkpoint further along is offered (after a crash).
 */
export function pickOffer(
  saved: readonly CheckpointSummary[], engine: string | null, currentKey: string | null, last: CheckpointSummary | null, currentStep: number,
  onlyStudyOnScreen = false,
): CheckpointSummary | null {
  const candidates = saved.filter((s) => s.engine === engine && !dismissed.has(`${s.key}@${s.step}`)
    && !(last && last.key === s.key && last.savedAt >= s.savedAt)
    && !(s.key === currentKey && s.step <= currentStep));
  const own = candidates.find((s) => s.key === currentKey);
  return own ?? (onlyStudyOnScreen ? null : candidates[0] ?? null);
}

function refreshOffer(): void {
  const { saved, last, resuming } = useCheckpoints.getState();
  // A resume in flight: the list may arrive before 'restored', and the checkpoint being resumed is not offered again.
  if (resuming) {
    useCheckpoints.setState({ offer: null });
    return;
  }
  const engine = useDevice.getState().engine;
  const applied = useSession.getState().applied;
  // The fine-tuning stage's checkpoints have the stage's key (its own config).
  const config = applied?.stageConfig ?? applied?.config ?? useConfig.getState().config;
  const currentKey = engine ? checkpointKey(engine, config) : null;
  // A stopped study (crashed Worker, every run failed) no longer holds its step: its checkpoints are offered.
  const { state, step } = useRuns.getState();
  useCheckpoints.setState({ offer: pickOffer(saved, engine, currentKey, last, state === 'failed' ? 0 : step, resumedThisLoad) });
}

function sendSettings(): void {
  sendToTrainer({ type: 'checkpointSettings', everySteps: useCheckpoints.getState().everySteps });
}

// ---- commands ----

export function saveCheckpointNow(): void {
  useCheckpoints.setState({ problem: null });
  sendToTrainer({ type: 'checkpoint' });
}

/** Rebuilds the checkpoint's study in the Worker and continues from it (paused at its step). */
export function resumeCheckpoint(summary: CheckpointSummary): void {
  const presetName = isKnownPresetName(summary.presetName) ? summary.presetName : useConfig.getState().presetName;
  useSession.setState({ requested: { presetName, config: structuredClone(summary.config) }, then: null });
  useCheckpoints.setState({ resuming: summary, offer: null, notice: null });
  resumedThisLoad = true;
  sendToTrainer({ type: 'resume', key: summary.key });
}

export function dismissOffer(): void {
  const { offer } = useCheckpoints.getState();
  if (offer) dismissed.add(`${offer.key}@${offer.step}`);
  refreshOffer();
}

export function deleteCheckpoint(key: string): void {
  sendToTrainer({ type: 'deleteCheckpoint', key });
}

/** Autosave interval in steps (kept in the URL as `checkpointEvery`); returns an error text or null. */
export function setCheckpointEvery(value: number): string | null {
  if (!(Number.isInteger(value) && value >= 1 && value <= 1_000_000)) return 'A whole number of steps from 1 to 1,000,000.';
  useCheckpoints.setState({ everySteps: value });
  sendSettings();
  if (typeof location !== 'undefined' && typeof history !== 'undefined') {
    const params = new URLSearchParams(location.search);
    if (value === DEFAULT_CHECKPOINT_EVERY) params.delete(URL_PARAM); else params.set(URL_PARAM, String(value));
    const query = params.toString().replace(/%2C/g, ',');
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  return null;
}

// ---- model files (request → answer by id) ----

let nextRequestId = 1;
const pendingFiles = new Map<number, (answer: { files: ModelFiles | null; error: string | null }) => void>();
const pendingLoads = new Map<number, (answer: { step: number; error: string | null }) => void>();
const pendingReads = new Map<number, (answer: { model: UploadedModel | null; error: string | null }) => void>();

/** One run's model files from the Worker (with the ONNX model and a probe of our forward when `onnx`). */
export function requestModelFiles(run: number, onnx: boolean): Promise<{ files: ModelFiles | null; error: string | null }> {
  const requestId = nextRequestId++;
  return new Promise((resolve) => {
    pendingFiles.set(requestId, resolve);
    sendToTrainer({ type: 'exportModel', requestId, run, onnx });
  });
}

/** What an uploaded model holds and whether it fits the study: the Worker parses and checks it. */
export function readUploadedModel(upload: ModelUpload): Promise<{ model: UploadedModel | null; error: string | null }> {
  const requestId = nextRequestId++;
  return new Promise((resolve) => {
    pendingReads.set(requestId, resolve);
    sendToTrainer({ type: 'readModel', requestId, upload });
  });
}

/** Replaces run `run`'s weights by an uploaded model of the study's shape (the Worker parses and checks it again). */
export function loadModelIntoRun(run: number, upload: ModelUpload): Promise<{ step: number; error: string | null }> {
  const requestId = nextRequestId++;
  return new Promise((resolve) => {
    pendingLoads.set(requestId, resolve);
    sendToTrainer({ type: 'loadModel', requestId, run, upload });
  });
}

// ---- Worker messages ----

const crashTimes: number[] = [];
/** More crashes than this within a minute and the page stops restarting the Worker. */
const MAX_RESTARTS_PER_MINUTE = 2;

export function receiveCheckpointMessage(message: FromTrainer): void {
  const set = useCheckpoints.setState;
  const s = useCheckpoints.getState();
  switch (message.type) {
    case 'engine':
      // A new engine (page load, new device, new Worker): it gets the settings and shows what is stored.
      sendSettings();
      sendToTrainer({ type: 'listCheckpoints' });
      break;
    case 'checkpoints': {
      // Checked again here: no panel renders a summary that was not (src/session/checkpointSummary.ts).
      const listing = readCheckpointSummaries(message.list.map((summary) => [summary?.key, summary]));
      set({
        store: message.store, saved: listing.summaries, unreadable: [...(message.unreadable ?? []), ...listing.unreadable],
        problem: message.problem ?? s.problem,
      });
      refreshOffer();
      break;
    }
    case 'checkpointSaved': {
      // Only what reached the store joins the list (one kept in memory does not replace a stored one).
      const saved = message.stored ? [message.summary, ...s.saved.filter((x) => x.key !== message.summary.key)] : s.saved;
      set({ last: message.summary, lastStored: message.stored, problem: message.problem, saved });
      refreshOffer();
      break;
    }
    case 'checkpointNotSaved':
      set({ problem: message.message });
      break;
    case 'built':
      // A new study on screen: its own saves start now (a resume or a recovery sets `last` when restored).
      if (!s.resuming && s.recovery?.phase !== 'recovering') set({ last: null, problem: null });
      break;
    case 'restored': {
      const resumed = s.resuming;
      const last = resumed && message.reason === 'resume' ? resumed : s.last?.step === message.step ? s.last : null;
      set({
        resuming: null, last, lastStored: last !== null, notice: message.reason === 'resume' ? message.message : s.notice,
        recovery: message.reason === 'deviceLost' ? { phase: 'recovered', message: message.message } : s.recovery,
      });
      if (resumed && message.reason === 'resume') {
        // The controls (and the URL) show the resumed study.
        const applied = useSession.getState().applied;
        if (applied) useConfig.getState().replace(applied.presetName, applied.config);
      }
      refreshOffer();
      break;
    }
    case 'deviceLost':
      set({ recovery: { phase: 'recovering', message: message.message } });
      break;
    case 'error':
      if (s.resuming) set({ resuming: null, notice: message.message });
      if (s.recovery?.phase === 'recovering') set({ recovery: { phase: 'failed', message: message.message } });
      break;
    case 'modelFiles':
      pendingFiles.get(message.requestId)?.({ files: message.files, error: message.error });
      pendingFiles.delete(message.requestId);
      break;
    case 'modelRead':
      pendingReads.get(message.requestId)?.({ model: message.model, error: message.error });
      pendingReads.delete(message.requestId);
      break;
    case 'modelLoaded':
      pendingLoads.get(message.requestId)?.({ step: message.step, error: message.error });
      pendingLoads.delete(message.requestId);
      break;
    case 'crashed':
      onCrash(message.message);
      break;
    default:
      break;
  }
}

function onCrash(message: string): void {
  for (const resolve of pendingFiles.values()) resolve({ files: null, error: 'The training worker stopped.' });
  for (const resolve of pendingLoads.values()) resolve({ step: 0, error: 'The training worker stopped.' });
  for (const resolve of pendingReads.values()) resolve({ model: null, error: 'The training worker stopped.' });
  pendingFiles.clear();
  pendingLoads.clear();
  pendingReads.clear();
  const now = Date.now();
  while (crashTimes.length > 0 && now - crashTimes[0] > 60_000) crashTimes.shift();
  crashTimes.push(now);
  const restart = crashTimes.length <= MAX_RESTARTS_PER_MINUTE;
  // The study on screen is gone with the Worker: its last save becomes something to offer.
  useCheckpoints.setState({ crash: { message, restarted: restart }, last: null, resuming: null, recovery: null });
  if (!restart) return;
  setTimeout(() => {
    restartTrainer();
    sendToTrainer({ type: 'init', allowCpuFallback: true });
  }, 0);
}

/** Dismisses the crash notice (the offer stays). */
export function dismissCrash(): void {
  useCheckpoints.setState({ crash: null });
}

export function dismissRecovery(): void {
  useCheckpoints.setState({ recovery: null, notice: null });
}

// ---- tab lifecycle ----

/** Saves when the tab is hidden or the page goes away, if the study took steps since the last save. */
function saveIfNew(): void {
  const { state, step } = useRuns.getState();
  const { last, crash, resuming } = useCheckpoints.getState();
  if (step === 0 || crash || resuming || state === 'failed' || state === 'building' || last?.step === step) return;
  try {
    sendToTrainer({ type: 'checkpoint', reason: 'hidden' });
  } catch {
    // The Worker is gone (page unloading): nothing to save.
  }
}

let connected = false;

/** Installs the tab-lifecycle listeners (once). Messages arrive through `receiveCheckpointMessage`. */
export function connectCheckpoints(): void {
  if (connected || typeof document === 'undefined') return;
  connected = true;
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') saveIfNew();
  });
  window.addEventListener('pagehide', saveIfNew);
}

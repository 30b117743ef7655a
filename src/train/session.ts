/**
 * The training session behind the page: it turns ToTrainer commands into work on a StudyEngine (the GPU
 * `Study`, or the `CpuStudy` fallback) and reports FromTrainer messages through an injected `post`. It
 * knows nothing about Workers, so the same code runs in the page's Worker (src/train/worker.ts) and in
 * Node tests.
 *
 * Timing: every command and every slice of the training loop runs on one queue, one after another, so a
 * command never sees a half-taken step. The loop takes ONE step per slice and then yields to the event
 * loop (setImmediate in Node, a MessageChannel in a Worker: no 4 ms timer clamping) before queueing the
 * next slice, so a 'pause', 'probe' or 'generate' that arrived meanwhile runs before the next step. The
 * GPU engine only submits a step; the loop keeps at most two steps in flight (it waits for the previous
 * step before returning), which keeps the GPU busy without letting the queue run away from the UI.
 *
 * Checkpoints: the session saves the whole study (engine state + the metric history it posted + its loss
 * accounting, src/train/sessionCheckpoint.ts) every `checkpointEvery` steps, after at most
 * `checkpointMaxIntervalMs` of training, when the study is done and on 'checkpoint'; it keeps the last
 * good one in memory and writes it to a CheckpointStore (IndexedDB in the Worker). 'resume' rebuilds a
 * stored study paused at its step; it continues bit-identically (test/sessionCheckpoint.test.ts). A
 * poisoned run state never replaces a good checkpoint (see saveCheckpoint).
 *
 * Device loss: when the GPU device is lost the session says so ('deviceLost'), acquires a new context,
 * rebuilds the study from the last checkpoint ('restored': at most one checkpoint interval is taken
 * again) and continues if it was training (test/deviceLoss.test.ts, with a real device.destroy()).
 */
import type { GpuContext } from '../gpu/context';
import { autotune, kernelChoiceReport, type KernelChoiceReport } from '../gpu/autotune';
import { noAdapterHelp, WebGpuUnavailableError } from '../gpu/errors';
import { runSelfTest } from '../selftest/suite';
import type { KernelCheck } from '../selftest/harness';
import { maskCount, samplePositions } from '../data/maskPolicy';
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import { argmax, Study } from './study';
import { assertCpuSized, CpuStudy } from './cpuStudy';
import { validateStudyConfig } from './validate';
import type { StudyEngine } from './engine';
import type { StudyConfig } from './presets';
import type { HistoryPoint } from './compare';
import type { AttentionSnapshot, FromTrainer, GenerationResult, ModelFiles, ToTrainer, TrainingState } from './protocol';
import { decodeStudyCheckpoint, encodeStudyCheckpoint, type StudyCheckpoint, type StudyState } from './checkpoint';
import {
  checkpointKey, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MAX_INTERVAL_MS, memoryCheckpointStore,
  type CheckpointReason, type CheckpointStore, type CheckpointSummary,
} from './checkpointStore';
import { emptyHistory, historyUpTo, readSessionExtra, type MetricHistory, type SessionExtra } from './sessionCheckpoint';
import { writeSafetensors } from '../export/safetensors';
import { hfConfigJson } from '../export/hfConfig';
import { exportOnnx } from '../export/onnx';
import { describeConfigDifference, sameModelConfig } from '../export/modelConfigJson';
import type { ModelConfig } from '../model/config';

export interface SessionOptions {
  /** Sends a message to the page; `transfer` lists the ArrayBuffers to move rather than copy. */
  post(message: FromTrainer, transfer?: Transferable[]): void;
  /** Acquires the GPU; throws WebGpuUnavailableError when there is no adapter. */
  createContext(): Promise<GpuContext>;
  /** Builds the GPU engine (default: Study.create). */
  createGpuEngine?(ctx: GpuContext, config: StudyConfig): Promise<StudyEngine>;
  /** Builds the CPU engine (default: CpuStudy.create). */
  createCpuEngine?(config: StudyConfig): StudyEngine | Promise<StudyEngine>;
  /** The kernel self-test (default: runSelfTest). */
  runSelfTest?(ctx: GpuContext, onCheck: (check: KernelCheck) => void): Promise<KernelCheck[]>;
  /** Training losses are reported at least this often while training (default 200 ms). */
  reportEveryMs?: number;
  /** Where checkpoints are kept between page loads (default: in memory, i.e. for device-loss recovery only). */
  checkpointStore?: CheckpointStore;
  /** Autosave every this many steps (default 100; 'checkpointSettings' changes it). */
  checkpointEvery?: number;
  /** …and after at most this much training time since the last save (default 30 s). */
  checkpointMaxIntervalMs?: number;
}

export { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MAX_INTERVAL_MS };
/** More device losses than this within a minute and the session gives up (a device that keeps dying). */
export const MAX_DEVICE_RECOVERIES_PER_MINUTE = 3;

/** How a study is rebuilt from a checkpoint (or, with no checkpoint yet, from step 0) by `build`. */
interface Restore {
  saved: { checkpoint: StudyCheckpoint; extra: SessionExtra } | undefined;
  reason: 'resume' | 'deviceLost';
  /** The step the study had reached (device loss), to count the steps taken again. */
  reachedStep: number;
  /** Why the checkpoint could not be applied (the study then starts from step 0). */
  problem?: string;
}

/** Commands that need a live engine: refused while the session recovers from a device loss. */
const ENGINE_COMMANDS = new Set<ToTrainer['type']>(['start', 'step', 'probe', 'generate', 'checkpoint', 'exportModel', 'loadModel', 'reset']);

/** Share of positions masked in the paired clean/masked attention snapshot (the paper's default P). */
export const SNAPSHOT_MASK_RATIO = 0.15;
/** Candidates shown by 'generate' for the next token after the prompt. */
export const TOP_CANDIDATES = 5;

type Backend = { kind: 'webgpu'; ctx: GpuContext } | { kind: 'cpu' };

/** Resolves on the next turn of the event loop (a macrotask), without the 4 ms clamp of nested timers. */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    channel ??= createYieldChannel();
    return new Promise((resolve) => {
      channel!.waiting.push(resolve);
      channel!.port.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

let channel: { port: MessagePort; waiting: (() => void)[] } | undefined;

function createYieldChannel(): { port: MessagePort; waiting: (() => void)[] } {
  const { port1, port2 } = new MessageChannel();
  const waiting: (() => void)[] = [];
  port1.onmessage = () => waiting.shift()?.();
  return { port: port2, waiting };
}

/**
 * Input positions masked in the paired attention snapshot of one evaluation example: ⌊0.15·T⌋ positions
 * (at least 1) drawn from 0..T−2, a pure function of (seed, example) so successive snapshots of an example
 * compare the same positions. The query that asks for the answer (the run of positions ending at the
 * answer position with the answer position's segment label, e.g. `? K` in the needle task) is never
 * masked: masking it would hide which value to retrieve rather than probe how context is attended. When
 * that run covers half the context or more (a task without segments) only the answer position is kept.
 */
export function snapshotMaskPositions(segments: ArrayLike<number>, answerPosition: number, T: number, seed: number): number[] {
  const query = new Set<number>([answerPosition]);
  if (answerPosition >= 0 && answerPosition < T) {
    const run: number[] = [];
    for (let t = answerPosition; t >= 0 && segments[t] === segments[answerPosition]; t--) run.push(t);
    if (run.length < T / 2) for (const t of run) query.add(t);
  }
  const candidates: number[] = [];
  for (let t = 0; t <= T - 2; t++) if (!query.has(t)) candidates.push(t);
  const k = Math.min(candidates.length, maskCount(SNAPSHOT_MASK_RATIO, T));
  return samplePositions(new Rng(seed), candidates.length, k).map((i) => candidates[i]).sort((a, b) => a - b);
}

/** The `count` most probable next tokens of one logits row (softmax in float64; ties to the lower id). */
export function topCandidates(logits: ArrayLike<number>, count: number): { token: number; probability: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exp = Float64Array.from(logits, (x) => Math.exp(x - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const order = Array.from(exp.keys()).sort((a, b) => exp[b] - exp[a] || a - b);
  return order.slice(0, count).map((token) => ({ token, probability: exp[token] / sum }));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class TrainingSession {
  private backend: Backend | undefined;
  private allowCpuFallback = true;
  private engine: StudyEngine | undefined;
  private config: StudyConfig | undefined;
  private state: TrainingState = 'idle';
  private selection = { run: 0, example: 0 };
  private failedRuns = new Set<number>();
  /** Every command and loop slice runs on this chain, one at a time. */
  private tail: Promise<void> = Promise.resolve();
  /** Bumped to stop the loop: a slice scheduled under an older token does nothing. */
  private loopToken = 0;
  private inFlight: Promise<void> | undefined;
  // Accounting since the last 'trainLoss' report and since the last evaluation.
  private stepsSinceReport = 0;
  private trainingMs = 0;
  private lastReportAt = 0;
  private lastTokensPerSecond = 0;
  private evalLossSum: Float64Array = new Float64Array(0);
  private evalLossSteps = 0;
  private readonly reportEveryMs: number;
  // ---- checkpoints (see saveCheckpoint) ----
  private readonly store: CheckpointStore;
  private checkpointEvery: number;
  private checkpointMaxIntervalMs: number;
  /** The page's name for the study's config (stored with its checkpoints). */
  private presetName = '';
  /** Everything the session posted about the current study (trainLoss, evaluation, runFailed), for checkpoints. */
  private history: MetricHistory = emptyHistory();
  /** The last good checkpoint of the current study (also kept when the store cannot be written). */
  private lastCheckpoint: { checkpoint: StudyCheckpoint; extra: SessionExtra } | undefined;
  private lastSavedStep = 0;
  private msSinceSave = 0;
  /** Store writes run one after another, off the training path; listing waits for them. */
  private storeWrites: Promise<void> = Promise.resolve();
  // ---- device loss ----
  /** Set from the device's loss until the recovery task has run. */
  private deviceLost = false;
  private recoveryTimes: number[] = [];
  private disposed = false;

  constructor(private readonly options: SessionOptions) {
    this.reportEveryMs = options.reportEveryMs ?? 200;
    this.store = options.checkpointStore ?? memoryCheckpointStore();
    this.checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    this.checkpointMaxIntervalMs = options.checkpointMaxIntervalMs ?? DEFAULT_CHECKPOINT_MAX_INTERVAL_MS;
  }

  /** Handles one command. The promise resolves once it is processed (for 'start': once training began); it never rejects. */
  handle(message: ToTrainer): Promise<void> {
    return this.enqueue(() => this.process(message));
  }

  /** Stops training and frees the study (the GPU context stays: it belongs to whoever created it). */
  dispose(): Promise<void> {
    return this.enqueue(async () => {
      this.disposed = true; // a device lost from now on is not recovered
      this.stopLoop();
      this.disposeEngine();
      this.config = undefined;
      await this.storeWrites;
    });
  }

  /** The last good checkpoint of the current study (for tests and tools). */
  get lastGoodCheckpoint(): StudyCheckpoint | undefined {
    return this.lastCheckpoint?.checkpoint;
  }

  /** The engine training now (for tests and tools). */
  get currentEngine(): StudyEngine | undefined {
    return this.engine;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(task).catch((error: unknown) => this.post({ type: 'error', message: describe(error) }));
    this.tail = run;
    return run;
  }

  private post(message: FromTrainer, transfer: Transferable[] = []): void {
    try {
      this.options.post(message, transfer);
    } catch (error) {
      // A page that cannot receive a message must not take the session down; log for the console.
      console.error('training session: could not post', message.type, error);
    }
  }

  private setState(state: TrainingState): void {
    this.state = state;
    this.postState();
  }

  private postState(): void {
    this.post({ type: 'state', state: this.state, step: this.engine?.step ?? 0 });
  }

  private async process(message: ToTrainer): Promise<void> {
    if (this.deviceLost && ENGINE_COMMANDS.has(message.type)) {
      if (message.type === 'exportModel') return this.post({ type: 'modelFiles', requestId: message.requestId, files: null, error: 'The GPU device was lost; try again once the study is rebuilt.' });
      if (message.type === 'loadModel') return this.post({ type: 'modelLoaded', requestId: message.requestId, run: message.run, step: 0, error: 'The GPU device was lost; try again once the study is rebuilt.' });
      if (message.type === 'start' || message.type === 'checkpoint') return; // the recovery continues (and saves) by itself
      return this.post({ type: 'error', message: `Not now (${message.type}): the GPU device was lost and the study is being rebuilt.` });
    }
    switch (message.type) {
      case 'init': return this.init(message.allowCpuFallback);
      case 'configure': return this.configure(message.config, message.presetName);
      case 'start': return this.start();
      case 'pause':
        if (this.state === 'running') {
          this.stopLoop();
          this.setState('paused');
        } else {
          this.postState();
        }
        return;
      case 'step': return this.singleStep();
      case 'reset':
        if (!this.config) return this.post({ type: 'error', message: 'Nothing to reset: configure a study first.' });
        return this.build(this.config);
      case 'probe': return this.probe(message.run, message.example);
      case 'generate': return this.generate(message.requestId, message.prompt, message.maxTokens);
      case 'selftest': return this.selfTest();
      case 'checkpoint': return this.checkpointNow(message.reason === 'hidden' ? 'hidden' : 'manual');
      case 'checkpointSettings': return this.checkpointSettings(message.everySteps, message.maxIntervalMs);
      case 'listCheckpoints': return this.listCheckpoints();
      case 'resume': return this.resume(message.key);
      case 'deleteCheckpoint': return this.deleteCheckpoint(message.key);
      case 'exportModel': return this.exportModel(message.requestId, message.run, message.onnx);
      case 'loadModel': return this.loadModel(message.requestId, message.run, message.model, message.params);
      case 'simulateDeviceLoss':
        if (this.backend?.kind === 'webgpu') {
          this.backend.ctx.device.destroy();
          return;
        }
        return this.post({ type: 'error', message: 'There is no GPU device to lose: this session trains on the CPU.' });
      default:
        return this.post({ type: 'error', message: `Unknown command ${JSON.stringify((message as { type?: unknown }).type)}` });
    }
  }

  // ---- engine ----

  private async init(allowCpuFallback: boolean): Promise<void> {
    this.allowCpuFallback = allowCpuFallback;
    if (!this.backend || (this.backend.kind === 'cpu' && !allowCpuFallback)) await this.acquireBackend();
    this.reportBackend();
  }

  private reportBackend(): void {
    const backend = this.backend;
    if (!backend) return;
    if (backend.kind === 'webgpu') {
      this.post({ type: 'engine', engine: 'webgpu', adapter: backend.ctx.adapter, notice: null,
        ...(this.kernels ? { kernels: this.kernels } : {}) });
    } else {
      this.post({ type: 'engine', engine: 'cpu', adapter: null, notice: this.cpuNotice });
    }
  }

  private cpuNotice: string | null = null;
  /** The kernel variants chosen for this adapter by measurement (src/gpu/autotune.ts), shown by the device panel. */
  private kernels: KernelChoiceReport | undefined;

  private async acquireBackend(): Promise<void> {
    this.backend = undefined;
    let ctx: GpuContext;
    try {
      ctx = await this.options.createContext();
    } catch (error) {
      const problem = error instanceof WebGpuUnavailableError
        ? noAdapterHelp('browser')
        : `WebGPU could not start: ${describe(error)}`;
      if (this.allowCpuFallback) {
        this.backend = { kind: 'cpu' };
        this.cpuNotice = `${problem} Meanwhile the playground trains on the CPU (the float64 reference model), ` +
          'which is slow and takes studies up to the size of the tiny preset.';
      } else {
        this.post({ type: 'error', message: problem });
        this.setState('failed');
      }
      return;
    }
    await this.adoptContext(ctx);
  }

  private async adoptContext(ctx: GpuContext): Promise<void> {
    this.backend = { kind: 'webgpu', ctx };
    // Pick the fastest kernel variants before any model is built (cached per adapter); on failure the
    // adapter's default guess stays in ctx.preferences.
    this.kernels = await autotune(ctx).then(kernelChoiceReport, () => undefined);
    ctx.lost.then((lost) => {
      if (this.disposed || this.backend?.kind !== 'webgpu' || this.backend.ctx !== ctx) return;
      // The engine stays until the recovery replaces it (its step is still the study's step; its buffers
      // went with the device). Commands that need it are refused meanwhile (see process).
      this.backend = undefined;
      this.deviceLost = true;
      this.stopLoop();
      const step = this.engine?.step ?? 0;
      const saved = this.lastCheckpoint ? `the checkpoint of step ${this.lastSavedStep}` : 'step 0 (no checkpoint was saved yet)';
      this.post({ type: 'deviceLost', step, message:
        `${lost.message} The playground is acquiring a new GPU device and rebuilding the runs from ${saved}.` });
      void this.enqueue(() => this.recoverFromDeviceLoss(step));
    });
  }

  /**
   * After a device loss: a new context, the study rebuilt from the last checkpoint (or from step 0 when
   * none was saved yet: then fewer steps than one checkpoint interval are lost), training continued if it
   * was running. Runs on the queue, after whatever was queued before the loss.
   */
  private async recoverFromDeviceLoss(step: number): Promise<void> {
    const resume = this.state === 'running';
    this.stopLoop();
    const now = performance.now();
    this.recoveryTimes = [...this.recoveryTimes.filter((t) => now - t < 60_000), now];
    const giveUp = (message: string) => {
      this.deviceLost = false;
      this.disposeEngine();
      this.post({ type: 'error', message });
      this.setState('failed');
    };
    if (this.recoveryTimes.length > MAX_DEVICE_RECOVERIES_PER_MINUTE) {
      return giveUp(`The GPU device was lost ${this.recoveryTimes.length} times within a minute; the playground stops trying. ` +
        'Reload the page to start over (the last checkpoint is kept and will be offered).');
    }
    let ctx: GpuContext;
    try {
      ctx = await this.options.createContext();
    } catch (error) {
      return giveUp(`The GPU device was lost and no new one could be acquired (${describe(error)}). Reload the page; the last checkpoint is kept and will be offered.`);
    }
    this.deviceLost = false;
    await this.adoptContext(ctx);
    this.reportBackend();
    const config = this.config;
    if (!config) {
      this.disposeEngine();
      return this.setState('idle');
    }
    await this.build(config, { saved: this.lastCheckpoint, reason: 'deviceLost', reachedStep: step });
    if (resume && (this.state === 'paused' || this.state === 'idle')) await this.start();
  }

  /** The backend, acquired (and reported) now if no 'init' came first; undefined (error posted) when there is none. */
  private async requireBackend(): Promise<Backend | undefined> {
    if (!this.backend) {
      await this.acquireBackend();
      this.reportBackend();
    }
    return this.backend;
  }

  private async configure(config: StudyConfig, presetName?: string): Promise<void> {
    const backend = await this.requireBackend();
    if (!backend) return;
    try {
      validateStudyConfig(config);
      if (backend.kind === 'cpu') assertCpuSized(config);
    } catch (error) {
      // An invalid config leaves the current study (if any) as it was.
      this.post({ type: 'error', message: describe(error) });
      this.postState();
      return;
    }
    this.presetName = typeof presetName === 'string' ? presetName.slice(0, 100) : '';
    await this.build(structuredClone(config));
  }

  private async build(config: StudyConfig, restore?: Restore): Promise<void> {
    const backend = await this.requireBackend();
    if (!backend) return;
    this.disposed = false;
    this.stopLoop();
    this.disposeEngine();
    this.config = config;
    this.setState('building');
    try {
      this.engine = backend.kind === 'webgpu'
        ? await (this.options.createGpuEngine ?? ((ctx, c) => Study.create(ctx, c)))(backend.ctx, config)
        : await (this.options.createCpuEngine ?? ((c) => CpuStudy.create(c)))(config);
    } catch (error) {
      this.post({ type: 'error', message: describe(error) });
      this.setState('failed');
      return;
    }
    const engine = this.engine;
    this.failedRuns.clear();
    this.resetAccounting();
    this.history = emptyHistory();
    this.lastCheckpoint = undefined;
    this.lastSavedStep = 0;
    this.msSinceSave = 0;
    if (restore?.saved) {
      try {
        this.applyCheckpoint(engine, restore.saved);
      } catch (error) {
        // Nothing of the checkpoint is kept: the same study from step 0 (the engine is rebuilt clean).
        return this.build(config, { ...restore, saved: undefined, problem: describe(error) });
      }
    }
    if (this.selection.run >= engine.R || this.selection.example >= engine.evalSet.count) this.selection = { run: 0, example: 0 };
    this.post({ type: 'built', runs: engine.runs, parameterCount: engine.parameterCount, memoryBytes: engine.memoryBytes, config });
    if (!restore) return this.setState('idle');
    const step = engine.step;
    const lostSteps = Math.max(0, restore.reachedStep - step);
    const problem = restore.problem ? ` The checkpoint could not be restored (${restore.problem}), so the study starts from step 0.` : '';
    const message = restore.reason === 'resume'
      ? (restore.saved ? `Resumed from the checkpoint of step ${step}.` : `Not resumed.${problem}`)
      : `A new GPU device is in use; the runs were rebuilt from ${restore.saved ? `the checkpoint of step ${step}` : 'step 0 (no checkpoint had been saved yet)'}` +
        `${lostSteps > 0 ? `, so ${lostSteps} step${lostSteps === 1 ? ' is' : 's are'} taken again` : ''}.${problem}`;
    this.post({ type: 'restored', reason: restore.reason, step, history: structuredClone(this.history), lostSteps, message });
    this.setState(step >= config.steps ? 'done' : this.failedRuns.size === engine.R ? 'failed' : step === 0 ? 'idle' : 'paused');
  }

  /** Puts a checkpoint's state into a freshly built engine and the session's history and accounting. */
  private applyCheckpoint(engine: StudyEngine, saved: { checkpoint: StudyCheckpoint; extra: SessionExtra }): void {
    const { checkpoint, extra } = saved;
    engine.restoreState(checkpoint.state);
    this.history = structuredClone(extra.history);
    this.evalLossSum = Float64Array.from(extra.accounting.evalLossSum);
    this.evalLossSteps = extra.accounting.evalLossSteps;
    this.lastTokensPerSecond = extra.accounting.lastTokensPerSecond;
    checkpoint.state.frozen.forEach((frozen, r) => { if (frozen) this.failedRuns.add(r); });
    if (extra.presetName) this.presetName = extra.presetName;
    this.lastCheckpoint = saved;
    this.lastSavedStep = checkpoint.state.step;
  }

  private disposeEngine(): void {
    const engine = this.engine;
    this.engine = undefined;
    this.inFlight = undefined;
    engine?.dispose();
  }

  private resetAccounting(): void {
    this.stepsSinceReport = 0;
    this.trainingMs = 0;
    this.lastReportAt = performance.now();
    this.lastTokensPerSecond = 0;
    this.evalLossSum = new Float64Array(this.engine?.R ?? 0);
    this.evalLossSteps = 0;
  }

  private requireEngine(action: string): StudyEngine | undefined {
    if (!this.engine) this.post({ type: 'error', message: `Cannot ${action}: configure a study first.` });
    return this.engine;
  }

  // ---- training loop ----

  private async start(): Promise<void> {
    const engine = this.requireEngine('start training');
    if (!engine) return;
    if (this.state === 'running') return;
    if (this.state === 'failed') {
      this.post({ type: 'error', message: 'Every run of this study has stopped; reset or configure a new study.' });
      return;
    }
    if (engine.step >= engine.config.steps) return this.setState('done');
    this.lastReportAt = performance.now();
    this.setState('running');
    const token = ++this.loopToken;
    this.scheduleSlice(token);
  }

  private stopLoop(): void {
    this.loopToken++;
  }

  private scheduleSlice(token: number): void {
    void yieldToEventLoop().then(() => this.enqueue(() => this.slice(token)));
  }

  private async slice(token: number): Promise<void> {
    if (token !== this.loopToken || this.state !== 'running' || !this.engine) return;
    try {
      await this.advance(false);
    } catch (error) {
      this.stopLoop();
      if (await this.lostDevice()) return; // the recovery (queued by the loss) takes over
      this.post({ type: 'error', message: `Training stopped: ${describe(error)}` });
      if (this.engine) this.setState('paused');
      return;
    }
    if (token === this.loopToken && this.state === 'running') this.scheduleSlice(token);
  }

  /** Whether the device is (or, within a moment, turns out to be) lost: readbacks fail before `lost` settles. */
  private async lostDevice(): Promise<boolean> {
    if (this.deviceLost) return true;
    const backend = this.backend;
    if (backend?.kind !== 'webgpu') return false;
    const lost = await Promise.race([backend.ctx.lost.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100))]);
    return lost || this.deviceLost;
  }

  private async singleStep(): Promise<void> {
    const engine = this.requireEngine('step');
    if (!engine || this.state === 'running') return;
    if (this.state === 'failed' || engine.step >= engine.config.steps) return this.postState();
    this.lastReportAt = performance.now();
    await this.advance(true);
    if (this.state === 'idle' || this.state === 'paused') this.postState();
  }

  /** One training step, then the reports that are due (all of them when `reportNow`). */
  private async advance(reportNow: boolean): Promise<void> {
    const engine = this.engine!;
    const { config } = engine;
    const started = performance.now();
    engine.trainStep();
    const previous = this.inFlight;
    this.inFlight = engine.flush();
    // At most two steps in flight: this one runs on the GPU while the next one is being encoded.
    await (reportNow ? this.inFlight : previous);
    this.trainingMs += performance.now() - started;
    this.stepsSinceReport++;
    const step = engine.step;
    const evaluationDue = step % config.evaluation.every === 0 || step === config.steps;
    if (reportNow || evaluationDue || this.stepsSinceReport >= config.evaluation.every
      || performance.now() - this.lastReportAt >= this.reportEveryMs) {
      await this.reportTrainLoss(engine);
    }
    if (this.state === 'failed') return;
    if (evaluationDue) await this.reportEvaluation(engine);
    this.msSinceSave += performance.now() - started;
    if (step >= config.steps || step - this.lastSavedStep >= this.checkpointEvery
      || (this.msSinceSave >= this.checkpointMaxIntervalMs && step > this.lastSavedStep)) {
      await this.saveCheckpoint(step >= config.steps ? 'done' : 'auto');
    }
    if (step >= config.steps) {
      this.stopLoop();
      this.setState('done');
    }
  }

  private async reportTrainLoss(engine: StudyEngine): Promise<void> {
    const waitStart = performance.now();
    // Reading the losses waits for the GPU: it closes the timing of the interval's steps.
    const report = await engine.intervalReport();
    this.trainingMs += performance.now() - waitStart;
    const steps = this.stepsSinceReport;
    const seconds = Math.max(this.trainingMs, 1e-3) / 1000;
    const stepsPerSecond = steps / seconds;
    const tokensPerSecond = stepsPerSecond * engine.R * engine.config.batch * engine.config.model.context;
    this.lastTokensPerSecond = tokensPerSecond;
    report.losses.forEach((loss, r) => { this.evalLossSum[r] += loss * report.steps; });
    this.evalLossSteps += report.steps;
    this.stepsSinceReport = 0;
    this.trainingMs = 0;
    this.lastReportAt = performance.now();
    this.post({ type: 'trainLoss', step: engine.step, losses: report.losses, stepsPerSecond, tokensPerSecond });
    const h = this.history;
    if (h.train.steps.length === 0 || engine.step > h.train.steps[h.train.steps.length - 1]) {
      h.train.steps.push(engine.step);
      h.train.losses.push([...report.losses]);
      if (stepsPerSecond > 0 && Number.isFinite(stepsPerSecond)) {
        h.speed.steps.push(engine.step);
        h.speed.stepsPerSecond.push(stepsPerSecond);
        h.speed.tokensPerSecond.push(tokensPerSecond);
      }
    }
    if (report.steps > 0) this.checkRuns(engine, report.losses, report.firstNonFiniteStep);
  }

  /**
   * A run whose loss or gradient is not finite is frozen and reported (the GPU optimizer already skips a
   * step with a non-finite gradient; a diverged f32 model often keeps a finite loss while its gradient is
   * NaN). When no run is left, the study has failed.
   */
  private checkRuns(engine: StudyEngine, losses: number[], firstNonFiniteStep: (number | null)[]): void {
    losses.forEach((loss, r) => {
      if ((Number.isFinite(loss) && firstNonFiniteStep[r] === null) || this.failedRuns.has(r)) return;
      this.failedRuns.add(r);
      engine.freezeRun(r);
      const run = engine.runs[r];
      const step = firstNonFiniteStep[r] ?? engine.step;
      const name = run.objective === 'ntp' ? 'NTP' : `MEAP (mask ratio ${run.maskRatio})`;
      const message = `Run ${r} — ${name}, seed ${run.seed} — stopped at step ${step}: its training loss or gradient is not finite (NaN or ∞). ` +
        `The likely cause is a learning rate too high (optimizer.lr = ${engine.config.optimizer.lr}); lower it, ` +
        'lengthen the warm-up or clip gradients harder. Its weights are kept as they were (and its last good ' +
        'checkpoint); the other runs go on.';
      this.history.failures.push({ run: r, step, message });
      this.post({ type: 'runFailed', run: r, step, message });
    });
    if (this.failedRuns.size === engine.R) {
      this.stopLoop();
      this.post({ type: 'error', message: 'Every run has stopped with a non-finite loss: lower the learning rate and reset.' });
      this.setState('failed');
    }
  }

  private async reportEvaluation(engine: StudyEngine): Promise<void> {
    const evaluation = await engine.evaluate();
    const points: HistoryPoint[] = evaluation.map((e, r) => ({
      step: engine.step,
      trainLoss: this.evalLossSteps > 0 ? this.evalLossSum[r] / this.evalLossSteps : Number.NaN,
      ...e,
      tokensPerSec: this.lastTokensPerSecond,
    }));
    this.evalLossSum.fill(0);
    this.evalLossSteps = 0;
    const h = this.history;
    if (h.evals.steps.length === 0 || engine.step > h.evals.steps[h.evals.steps.length - 1]) {
      h.evals.steps.push(engine.step);
      h.evals.points.push(structuredClone(points));
    }
    this.post({ type: 'evaluation', step: engine.step, points });
    await this.postSnapshot(engine);
  }

  // ---- looking at the models ----

  private async probe(run: number, example: number): Promise<void> {
    const engine = this.requireEngine('probe');
    if (!engine) return;
    if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) {
      return this.post({ type: 'error', message: `Cannot probe run ${run}: the study has runs 0..${engine.R - 1}.` });
    }
    if (!(Number.isInteger(example) && example >= 0 && example < engine.evalSet.count)) {
      return this.post({ type: 'error', message: `Cannot probe example ${example}: the evaluation set has examples 0..${engine.evalSet.count - 1}.` });
    }
    this.selection = { run, example };
    await this.postSnapshot(engine);
  }

  /** The selected example through the selected run, clean and with `snapshotMaskPositions` masked. */
  private async postSnapshot(engine: StudyEngine): Promise<void> {
    const { config, evalSet } = engine;
    const { run, example } = this.selection;
    const T = config.model.context, layers = config.model.layers, heads = config.model.heads;
    const block = evalSet.tokens.subarray(example * (T + 1), (example + 1) * (T + 1));
    const segments = Array.from(evalSet.segments.subarray(example * (T + 1), example * (T + 1) + T));
    const answerPosition = evalSet.answerPositions[example];
    const maskedPositions = snapshotMaskPositions(segments, answerPosition, T, deriveSeed(config.evaluation.seed, example, 'snapshot-mask'));
    const clean = await engine.probe(block, []);
    const masked = await engine.probe(block, maskedPositions);
    const perRun = layers * heads * T * T;
    const tokens = Array.from(block.subarray(0, T));
    const snapshot: AttentionSnapshot = {
      step: engine.step, run, example, T, layers, heads,
      tokens, tokenNames: tokens.map((id) => engine.task.tokenName(id)), segments,
      maskedPositions, answerPosition,
      clean: clean.probs.slice(run * perRun, (run + 1) * perRun),
      masked: masked.probs.slice(run * perRun, (run + 1) * perRun),
    };
    this.post({ type: 'attention', snapshot }, [snapshot.clean.buffer, snapshot.masked.buffer]);
  }

  /**
   * Greedy continuation of `prompt` by every run (each run continues its own text), up to `maxTokens`
   * tokens and at most to a total of T + 1 tokens (the last input position T − 1 predicts token T), and
   * the top next-token candidates right after the prompt.
   */
  private async generate(requestId: number, prompt: number[], maxTokens: number): Promise<void> {
    const engine = this.requireEngine('generate');
    if (!engine) return;
    const T = engine.config.model.context, V = engine.config.model.vocabSize;
    const problem = !Array.isArray(prompt) || prompt.length === 0 ? 'the prompt is empty'
      : prompt.length > T ? `the prompt has ${prompt.length} tokens, more than the context T = ${T}`
        : prompt.some((id) => !(Number.isInteger(id) && id >= 0 && id < V)) ? `every token must be an id in 0..${V - 1}`
          : !(Number.isInteger(maxTokens) && maxTokens >= 0) ? `maxTokens must be an integer ≥ 0, got ${maxTokens}` : null;
    if (problem) return this.post({ type: 'error', message: `Cannot generate: ${problem}.` });
    const sequences = engine.runs.map(() => [...prompt]);
    let top: GenerationResult['runs'][number]['top'][] | undefined;
    for (;;) {
      const length = sequences[0].length;
      const more = length - prompt.length < maxTokens && length <= T;
      if (top && !more) break;
      const { logits } = await engine.probe(sequences, [], [length - 1]);
      const row = (r: number) => logits.subarray(r * V, (r + 1) * V);
      top ??= engine.runs.map((_, r) => topCandidates(row(r), TOP_CANDIDATES));
      if (!more) break;
      sequences.forEach((sequence, r) => sequence.push(argmax(row(r))));
    }
    const result: GenerationResult = {
      requestId,
      runs: sequences.map((sequence, r) => ({ continuation: sequence.slice(prompt.length), top: top![r] })),
    };
    this.post({ type: 'generation', result });
  }

  // ---- checkpoints ----

  private async checkpointNow(reason: 'manual' | 'hidden'): Promise<void> {
    const engine = this.engine;
    if (!engine || engine.step === 0 || (reason === 'hidden' && engine.step === this.lastSavedStep)) {
      if (reason === 'manual') this.post({ type: 'checkpointNotSaved', reason, message: 'Nothing to save yet: the study has not taken a step.' });
      return;
    }
    if (this.state === 'failed') {
      if (reason === 'manual') this.post({ type: 'checkpointNotSaved', reason, message: `Every run has stopped; the last good checkpoint (step ${this.lastSavedStep}) is kept.` });
      return;
    }
    await this.saveCheckpoint(reason);
  }

  private checkpointSettings(everySteps: number, maxIntervalMs: number | undefined): void {
    if (!(Number.isInteger(everySteps) && everySteps >= 1 && everySteps <= 1e9)) {
      return this.post({ type: 'error', message: `The checkpoint interval must be a whole number of steps ≥ 1, got ${JSON.stringify(everySteps)}.` });
    }
    if (maxIntervalMs !== undefined && !(Number.isFinite(maxIntervalMs) && maxIntervalMs >= 1000)) {
      return this.post({ type: 'error', message: `The longest time between checkpoints must be ≥ 1000 ms, got ${JSON.stringify(maxIntervalMs)}.` });
    }
    this.checkpointEvery = everySteps;
    if (maxIntervalMs !== undefined) this.checkpointMaxIntervalMs = maxIntervalMs;
  }

  /**
   * Saves the whole study (every run's weights, AdamW moments, step, generator states, frozen runs, the
   * metric history and the loss accounting) as the last good checkpoint and writes it to the store.
   *
   * Only good states are saved. The interval's losses are reported first, so a run whose loss or gradient
   * went non-finite is frozen (runFailed) before its state is read. A frozen run stops changing: the GPU
   * optimizer skips every step with a non-finite gradient norm, so its weights are those of its last
   * good step. Should a run's arrays hold a non-finite value anyway (memory corruption, a bug), its part
   * of the checkpoint is taken from the previous checkpoint (marked frozen), and with no previous
   * checkpoint nothing is saved: a poisoned state never replaces a good one. When every run has stopped
   * the study is 'failed' and nothing is saved any more.
   */
  private async saveCheckpoint(reason: CheckpointReason): Promise<void> {
    const engine = this.engine, config = this.config;
    if (!engine || !config) return;
    if (this.stepsSinceReport > 0) {
      await this.reportTrainLoss(engine);
      if (this.state === 'failed') return;
    }
    const state = await engine.saveState();
    const R = engine.R, P = state.params.length / R;
    const previous = this.lastCheckpoint?.checkpoint.state;
    for (let r = 0; r < R; r++) {
      if (runIsFinite(state, r, P)) continue;
      if (!previous || !runIsFinite(previous, r, P)) {
        this.post({ type: 'checkpointNotSaved', reason, message: `No checkpoint at step ${state.step}: run ${r}'s weights or optimizer moments are not finite ` +
          `and there is no good copy of them to save instead. ${previous ? `The checkpoint of step ${previous.step} is kept.` : ''}`.trim() });
        return;
      }
      for (const name of ['params', 'm', 'v'] as const) {
        (state[name] as Float64Array).set((previous[name] as Float64Array).subarray(r * P, (r + 1) * P), r * P);
      }
      state.frozen[r] = true;
    }
    const extra: SessionExtra = {
      format: 'meap-session', version: 1, presetName: this.presetName, history: historyUpTo(this.history, state.step),
      accounting: { evalLossSum: Array.from(this.evalLossSum), evalLossSteps: this.evalLossSteps, lastTokensPerSecond: this.lastTokensPerSecond },
    };
    const checkpoint: StudyCheckpoint = { state, extra };
    const data = encodeStudyCheckpoint(checkpoint);
    this.lastCheckpoint = { checkpoint, extra };
    this.lastSavedStep = state.step;
    this.msSinceSave = 0;
    const summary: CheckpointSummary = {
      key: checkpointKey(engine.kind, config), engine: engine.kind, config: structuredClone(config), presetName: this.presetName,
      step: state.step, savedAt: Date.now(), bytes: data.length, reason,
    };
    const store = this.store;
    this.storeWrites = this.storeWrites.then(async () => {
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
        problem = `It could not be written to the browser's storage (${describe(error)}); it is kept in memory, ` +
          'so a lost GPU device still recovers from it, but a reload cannot resume it.';
      }
      this.post({ type: 'checkpointSaved', summary, stored: problem === null, problem });
    });
  }

  private async listCheckpoints(): Promise<void> {
    await this.storeWrites;
    let list: CheckpointSummary[] = [];
    let problem: string | null = null;
    try {
      list = await this.store.list();
    } catch (error) {
      problem = `Saved checkpoints cannot be read in this browser (${describe(error)}).`;
    }
    this.post({ type: 'checkpoints', list, store: this.store.kind, problem, everySteps: this.checkpointEvery, maxIntervalMs: this.checkpointMaxIntervalMs });
  }

  private async deleteCheckpoint(key: string): Promise<void> {
    await this.storeWrites;
    try {
      await this.store.delete(String(key));
    } catch (error) {
      this.post({ type: 'error', message: `The checkpoint could not be deleted (${describe(error)}).` });
    }
    await this.listCheckpoints();
  }

  /**
   * Rebuilds the study of a stored checkpoint and restores it (paused at its step). Everything is checked
   * before the current study is touched: a checkpoint that is gone, corrupt, of the other engine or too
   * large for the CPU fallback is refused with a message and changes nothing.
   */
  private async resume(key: string): Promise<void> {
    const refuse = (reason: string) => {
      this.post({ type: 'error', message: `Cannot resume: ${reason}` });
      this.postState();
    };
    await this.storeWrites;
    let record;
    try {
      record = await this.store.get(String(key));
    } catch (error) {
      return refuse(`the checkpoint store could not be read (${describe(error)}).`);
    }
    if (!record) return refuse('that checkpoint is no longer stored.');
    const backend = await this.requireBackend();
    if (!backend) return;
    const engineName = (kind: string) => (kind === 'webgpu' ? 'the WebGPU engine' : 'the CPU fallback');
    if (record.engine !== backend.kind) {
      return refuse(`it was saved by ${engineName(record.engine)} and this page trains with ${engineName(backend.kind)}; a checkpoint resumes only where it was made.`);
    }
    let saved: { checkpoint: StudyCheckpoint; extra: SessionExtra };
    try {
      const checkpoint = decodeStudyCheckpoint(record.data);
      const { config, step } = checkpoint.state;
      if ((checkpoint.state.params instanceof Float64Array) !== (backend.kind === 'cpu')) throw new Error('its precision does not match the engine');
      if (backend.kind === 'cpu') assertCpuSized(config);
      saved = { checkpoint, extra: readSessionExtra(checkpoint.extra, config.arms.length * config.seedsPerArm, step) };
    } catch (error) {
      return refuse(describe(error));
    }
    await this.build(saved.checkpoint.state.config, { saved, reason: 'resume', reachedStep: saved.checkpoint.state.step });
  }

  // ---- model files ----

  /** One run's model.safetensors + config.json (and the ONNX model with a probe of our forward to check it). */
  private async exportModel(requestId: number, run: number, onnx: boolean): Promise<void> {
    const fail = (error: string) => this.post({ type: 'modelFiles', requestId, files: null, error });
    const engine = this.engine;
    if (!engine) return fail('Build a study first.');
    if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) return fail(`There is no run ${run}: the study has runs 0..${engine.R - 1}.`);
    const state = await engine.saveState();
    const P = state.params.length / engine.R;
    const params = Float32Array.from(state.params.subarray(run * P, (run + 1) * P));
    const { config } = engine;
    let safetensors: Uint8Array;
    try {
      safetensors = writeSafetensors(config.model, params, {
        study: config, metadata: { meap_run: JSON.stringify({ run, ...engine.runs[run], step: state.step }) },
      });
    } catch (error) {
      return fail(`Run ${run} cannot be saved: ${describe(error)}.`);
    }
    const files: ModelFiles = { run, step: state.step, engine: engine.kind, safetensors, configJson: hfConfigJson(config.model), onnx: null, probe: null };
    if (onnx) {
      files.onnx = exportOnnx(config.model, params, { metadata: { meap_run: JSON.stringify({ run, ...engine.runs[run], step: state.step }) } });
      // Our forward on evaluation example 0: logits rows spread over the context (at most `batch` of them).
      const T = config.model.context, V = config.model.vocabSize;
      const block = engine.evalSet.tokens.subarray(0, T + 1);
      const count = Math.min(config.batch, T);
      const rows = Array.from({ length: count }, (_, k) => (count === 1 ? T - 1 : Math.round((k * (T - 1)) / (count - 1))));
      const { logits } = await engine.probe(block, [], rows);
      files.probe = { tokens: Array.from(block.subarray(0, T)), rows, vocab: V, logits: logits.slice(run * count * V, (run + 1) * count * V) };
    }
    const transfer: Transferable[] = [];
    for (const bytes of [files.safetensors, files.onnx, files.probe?.logits]) {
      if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) transfer.push(bytes.buffer as ArrayBuffer);
    }
    this.post({ type: 'modelFiles', requestId, files, error: null }, transfer);
  }

  /**
   * Replaces run `run`'s weights by an uploaded model of the study's exact shape (its AdamW moments are
   * zeroed and a stopped run is revived); the step and every other run stay as they are. Refused with a
   * message, changing nothing, when the shape or the values do not fit.
   */
  private async loadModel(requestId: number, run: number, model: ModelConfig, params: Float32Array): Promise<void> {
    const engine = this.engine;
    const fail = (error: string) => this.post({ type: 'modelLoaded', requestId, run, step: engine?.step ?? 0, error });
    if (!engine) return fail('Build a study first.');
    if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) return fail(`There is no run ${run}: the study has runs 0..${engine.R - 1}.`);
    if (!sameModelConfig(model, engine.config.model)) {
      return fail(`The model does not fit this study: ${describeConfigDifference(model, engine.config.model, 'the file', 'the study')}.`);
    }
    if (!(params instanceof Float32Array)) return fail('The weights did not arrive as float32 values.');
    if (this.stepsSinceReport > 0) await this.reportTrainLoss(engine);
    const state = await engine.saveState();
    const P = state.params.length / engine.R;
    if (params.length !== P) return fail(`The file holds ${params.length} values; a model of this study has ${P}.`);
    for (let i = 0; i < P; i++) if (!Number.isFinite(params[i])) return fail(`The file holds a non-finite value at index ${i}.`);
    (state.params as Float64Array).set(params, run * P);
    state.m.fill(0, run * P, (run + 1) * P);
    state.v.fill(0, run * P, (run + 1) * P);
    state.frozen[run] = false;
    engine.restoreState(state);
    this.failedRuns.delete(run);
    this.post({ type: 'modelLoaded', requestId, run, step: engine.step, error: null });
  }

  private async selfTest(): Promise<void> {
    const backend = await this.requireBackend();
    if (!backend) return;
    if (backend.kind !== 'webgpu') {
      return this.post({ type: 'error', message: 'The kernel self-test needs WebGPU; this session trains on the CPU fallback, which runs no kernels.' });
    }
    const start = performance.now();
    const results = await (this.options.runSelfTest ?? runSelfTest)(backend.ctx, (check) => this.post({ type: 'check', check }));
    const failed = results.filter((r) => !r.pass).length;
    this.post({ type: 'selftestDone', passed: results.length - failed, failed, milliseconds: performance.now() - start });
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

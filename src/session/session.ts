/**
 * The training session behind the page: it turns ToTrainer commands into work on a StudyEngine (the GPU
 * `Study`, or the `CpuStudy` fallback) and reports FromTrainer messages through an injected `post`. It
 * knows nothing about Workers, so the same code runs in the page's Worker (src/session/worker.ts) and in
 * Node tests. This file holds the command dispatcher, the study's lifecycle (build, reset, resume) and
 * device-loss recovery; the rest is in its parts:
 * - device.ts: the backend (GPU context or CPU fallback) and noticing a lost device;
 * - loop.ts: the training loop, one step per slice on the session's one queue (its timing);
 * - reports.ts: 'trainLoss', 'evaluation', 'runFailed' and the metric history they make;
 * - checkpointKeeper.ts: autosave, the last good checkpoint, the store and reading a checkpoint
 *   to resume (a poisoned run state never replaces a good checkpoint);
 * - probes.ts: the attention snapshot, the report's attention analyses and generation;
 * - modelFiles.ts: model export, reading an upload and loading it into a run;
 * - taskView.ts: what the page shows of the task (token names, segments, examples), sent in 'built';
 * - finetune.ts: 'finetune' (stage 2 built from the pretrained runs), the stage shown, the pretrained base.
 *
 * Device loss: when the GPU device is lost the session says so ('deviceLost'), acquires a new context,
 * rebuilds the study from the last checkpoint ('restored': at most one checkpoint interval is taken
 * again) and continues if it was training (test/deviceLoss.test.ts, with a real device.destroy()).
 */
import type { GpuContext } from '../gpu/context';
import { runSelfTest } from '../selftest/suite';
import { assertCpuSized } from '../engine/cpuStudy';
import { validateStudyConfig } from '../config/validate';
import type { StudyEngine } from '../engine/studyEngine';
import type { StudyConfig } from '../config/presets';
import type { FromTrainer, ToTrainer, TrainingState } from './protocol';
import type { StudyCheckpoint } from '../engine/checkpoint';
import { memoryCheckpointStore, type CheckpointReason } from './checkpointStore';
import { checkUserText } from './userText';
import { CheckpointKeeper, restoredMessage, type Restore, type SavedStudy } from './checkpointKeeper';
import { TrainingReports } from './reports';
import { TrainingLoop } from './loop';
import { answerAnalysis, answerBatch, answerGeneration, answerProbe } from './probes';
import { exportModel, loadModel, readModel } from './modelFiles';
import { refusedWhileLost, SessionDevice, selfTestBackend } from './device';
import { taskView } from './taskView';
import { errorMessage } from '../util/errorMessage';
import { probeSetFor } from '../engine/modelAnalysis';
import type { TextProbeSet } from '../data/textProbe';
import { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MAX_INTERVAL_MS } from './checkpointKeys';
import { createEngine, type SessionOptions } from './sessionOptions';
import { applyKernelChoice, timeTrainingStep } from './pageSchedule';
import type { AutotuneResult } from '../tuning/autotune';
import { configureRefusal, enterFinetune, SessionStages } from './finetune';

export { yieldToEventLoop } from './loop';
export { snapshotMaskPositions, topCandidates, SNAPSHOT_MASK_RATIO, TOP_CANDIDATES, MAX_ANALYSIS_EXAMPLES } from './probes';

export type { SessionOptions } from './sessionOptions';

export { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_MAX_INTERVAL_MS };
/** More device losses than this within a minute and the session gives up (a device that keeps dying). */
export const MAX_DEVICE_RECOVERIES_PER_MINUTE = 3;

export class TrainingSession {
  private readonly device: SessionDevice;
  private engine: StudyEngine | undefined;
  private config: StudyConfig | undefined;
  private state: TrainingState = 'idle';
  /** Every command and loop slice runs on this chain, one at a time. */
  private tail: Promise<void> = Promise.resolve();
  /** The page's name for the study's config (stored with its checkpoints). */
  private presetName = '';
  /** The page's schedule (src/session/pageSchedule.ts), asked for by 'configure'. */
  private pageSchedule = false;
  private readonly reports: TrainingReports;
  private readonly checkpoints: CheckpointKeeper;
  private readonly loop: TrainingLoop;
  /** When the last device losses were recovered (performance.now()), to give up on a device that keeps dying. */
  private recoveryTimes: number[] = [];
  /** The stage shown, the study's own config and the pretrained base of the fine-tuning stage (finetune.ts). */
  private readonly stages = new SessionStages();

  constructor(private readonly options: SessionOptions) {
    const post = (message: FromTrainer) => this.post(message);
    this.device = new SessionDevice({
      createContext: () => options.createContext(),
      post,
      setState: (state) => this.setState(state),
      onLost: (lost) => {
        this.loop.stop();
        const step = this.engine?.step ?? 0;
        const saved = this.checkpoints.last ? `the checkpoint of step ${this.checkpoints.lastSavedStep}` : 'step 0 (no checkpoint was saved yet)';
        this.post({ type: 'deviceLost', step, message:
          `${lost.message} The playground is acquiring a new GPU device and rebuilding the runs from ${saved}.` });
        void this.enqueue(() => this.recoverFromDeviceLoss(step));
      },
      onMeasuredKernels: options.tuneKernelsInBackground
        ? (ctx, result) => void this.enqueue(() => this.applyMeasuredKernels(ctx, result)) : undefined,
    });
    this.reports = new TrainingReports({
      post,
      everyRunFailed: () => {
        this.loop.stop();
        this.post({ type: 'error', message: 'Every run has stopped with a non-finite loss: lower the learning rate and reset.' });
        this.setState('failed');
      },
    });
    this.checkpoints = new CheckpointKeeper({
      store: options.checkpointStore ?? memoryCheckpointStore(),
      every: options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
      maxIntervalMs: options.checkpointMaxIntervalMs ?? DEFAULT_CHECKPOINT_MAX_INTERVAL_MS,
      post,
    });
    this.loop = new TrainingLoop({
      engine: () => this.engine,
      state: () => this.state,
      setState: (state) => this.setState(state),
      postState: () => this.postState(),
      post,
      enqueue: (task) => this.enqueue(task),
      requireEngine: (action) => this.requireEngine(action),
      lostDevice: () => this.device.lost(),
      saveCheckpoint: (reason) => this.saveCheckpoint(reason),
      pageSchedule: () => this.pageSchedule,
    }, this.reports, this.checkpoints, options.reportEveryMs ?? 200);
  }

  /** Handles one command. The promise resolves once it is processed (for 'start': once training began); it never rejects. */
  handle(message: ToTrainer): Promise<void> {
    return this.enqueue(() => this.process(message));
  }

  /** Stops training and frees the study (the GPU context stays: it belongs to whoever created it). */
  dispose(): Promise<void> {
    return this.enqueue(async () => {
      this.device.disposed = true; // a device lost from now on is not recovered
      this.loop.stop();
      this.disposeEngine();
      this.config = undefined;
      await this.checkpoints.settled();
    });
  }

  /** The last good checkpoint of the current study (for tests and tools). */
  get lastGoodCheckpoint(): StudyCheckpoint | undefined {
    return this.checkpoints.last?.checkpoint;
  }

  /** The engine training now (for tests and tools). */
  get currentEngine(): StudyEngine | undefined {
    return this.engine;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(task).catch((error: unknown) => this.post({ type: 'error', message: errorMessage(error) }));
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
    this.post({ type: 'state', state: this.state, step: this.engine?.step ?? 0, ...(this.stages.stage === 'finetune' ? { stage: 'finetune' as const } : {}) });
  }

  private async process(message: ToTrainer): Promise<void> {
    if (this.device.deviceLost && refusedWhileLost(message, (m) => this.post(m))) return;
    switch (message.type) {
      case 'init': return this.device.init(message.allowCpuFallback);
      case 'configure':
        this.pageSchedule = message.pageSchedule === true;
        return this.configure(message.config, message.presetName);
      case 'start': return this.loop.start();
      case 'pause':
        if (this.state === 'running') {
          this.loop.stop();
          this.setState('paused');
        } else {
          this.postState();
        }
        return;
      case 'step': return this.loop.singleStep();
      case 'reset':
        if (!this.config) return this.post({ type: 'error', message: 'Nothing to reset: configure a study first.' });
        return this.build(this.stages.resetConfig(this.config));
      case 'finetune': return enterFinetune({
        config: this.config, engine: this.engine, state: this.state, stages: this.stages, stopLoop: () => this.loop.stop(),
        build: (config) => this.build(config), check: (config) => this.device.backend?.kind === 'cpu' && assertCpuSized(config),
        saveUnsaved: () => (this.engine && this.engine.step > this.checkpoints.lastSavedStep ? this.saveCheckpoint('auto') : Promise.resolve()),
        refuse: (message) => { this.post({ type: 'error', message }); this.postState(); },
      }, message.study);
      case 'probe': {
        const engine = this.requireEngine('probe');
        return engine && answerProbe(engine, (m, transfer) => this.post(m, transfer), message.run, message.example);
      }
      case 'batch': return answerBatch(this.engine, (m, transfer) => this.post(m, transfer), message.requestId);
      case 'analyseAttention': return answerAnalysis(this.engine, this.reports.probeSet, (m) => this.post(m), message.requestId, message.examples);
      case 'generate': {
        const engine = this.requireEngine('generate');
        return engine && answerGeneration(engine, (m) => this.post(m), message.requestId, message.prompt, message.maxTokens);
      }
      case 'selftest': {
        const backend = await this.device.require();
        return backend && selfTestBackend(backend, (m) => this.post(m), this.options.runSelfTest ?? runSelfTest);
      }
      case 'checkpoint': return this.checkpointNow(message.reason === 'hidden' ? 'hidden' : 'manual');
      case 'checkpointSettings': return this.checkpoints.settings(message.everySteps, message.maxIntervalMs);
      case 'listCheckpoints': return this.checkpoints.list();
      case 'resume': return this.resume(message.key);
      case 'deleteCheckpoint': return this.checkpoints.delete(message.key);
      case 'exportModel': return exportModel(this.engine, (m, transfer) => this.post(m, transfer), message.requestId, message.run, message.onnx);
      case 'readModel': return readModel(this.engine, (m) => this.post(m), message.requestId, message.upload);
      case 'loadModel': return loadModel(this.engine, {
        post: (m) => this.post(m),
        reportPending: (engine) => (this.reports.stepsSinceReport > 0 ? this.reports.reportTrainLoss(engine) : undefined),
        revive: (run) => this.reports.uploadedInto(run, this.engine?.step ?? 0),
      }, message.requestId, message.run, message.upload);
      case 'checkText': return this.post(await checkUserText(message.file, message.name, message.alphabet, message.context, message.requestId));
      case 'simulateDeviceLoss': return this.device.simulateLoss();
      default:
        return this.post({ type: 'error', message: `Unknown command ${JSON.stringify((message as { type?: unknown }).type)}` });
    }
  }

  // ---- engine ----

  /**
   * After a device loss: a new context, the study rebuilt from the last checkpoint (or from step 0 when
   * none was saved yet: then fewer steps than one checkpoint interval are lost), training continued if it
   * was running. Runs on the queue, after whatever was queued before the loss.
   */
  private async recoverFromDeviceLoss(step: number): Promise<void> {
    const resume = this.state === 'running';
    this.loop.stop();
    const now = performance.now();
    this.recoveryTimes = [...this.recoveryTimes.filter((t) => now - t < 60_000), now];
    const giveUp = (message: string) => {
      this.device.deviceLost = false;
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
      return giveUp(`The GPU device was lost and no new one could be acquired (${errorMessage(error)}). Reload the page; the last checkpoint is kept and will be offered.`);
    }
    this.device.deviceLost = false;
    await this.device.adopt(ctx);
    this.device.report();
    const config = this.config;
    if (!config) {
      this.disposeEngine();
      return this.setState('idle');
    }
    await this.build(config, { saved: this.checkpoints.last, reason: 'deviceLost', reachedStep: step });
    if (resume && (this.state === 'paused' || this.state === 'idle')) await this.loop.start();
  }

  private async configure(config: StudyConfig, presetName?: string): Promise<void> {
    const backend = await this.device.require();
    if (!backend) return;
    try {
      validateStudyConfig(config);
      const refusal = configureRefusal(config);
      if (refusal) throw new Error(refusal);
      if (backend.kind === 'cpu') assertCpuSized(config);
    } catch (error) {
      // An invalid config leaves the current study (if any) as it was.
      this.post({ type: 'error', message: errorMessage(error) });
      this.postState();
      return;
    }
    this.presetName = typeof presetName === 'string' ? presetName.slice(0, 100) : '';
    await this.build(structuredClone(config));
  }

  private async build(config: StudyConfig, restore?: Restore): Promise<void> {
    const backend = await this.device.require();
    if (!backend) return;
    this.device.disposed = false;
    this.loop.stop();
    this.disposeEngine();
    this.config = config;
    this.setState('building');
    let probeSet: TextProbeSet | null;
    try {
      probeSet = probeSetFor(config);
      const base = this.stages.prepare(config, restore?.saved);
      this.engine = await createEngine(this.options, backend.kind === 'webgpu' ? backend.ctx : null, config, base);
    } catch (error) {
      this.post({ type: 'error', message: errorMessage(error) });
      this.setState('failed');
      return;
    }
    const engine = this.engine;
    this.reports.startStudy(engine.R, probeSet);
    this.checkpoints.forget();
    if (restore?.saved) {
      try {
        this.applyCheckpoint(engine, restore.saved);
      } catch (error) {
        // Nothing of the checkpoint is kept: the same study from step 0 (the engine is rebuilt clean).
        return this.build(config, { ...restore, saved: undefined, problem: errorMessage(error) });
      }
    }
    this.post({
      type: 'built', runs: engine.runs, parameterCount: engine.parameterCount, memoryBytes: engine.memoryBytes, config, task: taskView(engine),
      ...this.stages.built(config),
    });
    if (this.pageSchedule && engine.step === 0) this.post({ type: 'stepTime', msPerStep: await timeTrainingStep(engine) });
    if (!restore) return this.setState('idle');
    const step = engine.step;
    const { message, lostSteps } = restoredMessage(restore, step);
    this.post({ type: 'restored', reason: restore.reason, step, history: structuredClone(this.reports.history), lostSteps, message });
    this.setState(step >= config.steps ? 'done' : this.reports.failedRuns.size === engine.R ? 'failed' : step === 0 ? 'idle' : 'paused');
  }

  /** Puts a checkpoint's state into a freshly built engine and the session's history and accounting. */
  private applyCheckpoint(engine: StudyEngine, saved: SavedStudy): void {
    const { checkpoint, extra } = saved;
    engine.restoreState(checkpoint.state);
    this.reports.restore(extra, checkpoint.state.frozen);
    if (extra.presetName) this.presetName = extra.presetName;
    this.checkpoints.adopt(saved);
  }

  /** The background measurement's choice, applied between steps (this runs on the queue): see pageSchedule.ts. */
  private async applyMeasuredKernels(ctx: GpuContext, result: AutotuneResult): Promise<void> {
    if (this.device.backend?.kind !== 'webgpu' || this.device.backend.ctx !== ctx) return;
    const config = this.engine?.config;
    this.loop.forgetInFlight();
    const create = () => createEngine(this.options, ctx, config!, this.stages.rebuildWeights(config!));
    const applied = await applyKernelChoice(ctx, result, this.engine, this.reports, create, (engine) => { this.engine = engine; });
    this.device.kernels = applied.kernels;
    this.post({ type: 'kernels', ...applied });
  }


  private disposeEngine(): void {
    const engine = this.engine;
    this.engine = undefined;
    this.loop.forgetInFlight();
    engine?.dispose();
  }

  private requireEngine(action: string): StudyEngine | undefined {
    if (!this.engine) this.post({ type: 'error', message: `Cannot ${action}: configure a study first.` });
    return this.engine;
  }

  // ---- checkpoints ----

  private async checkpointNow(reason: 'manual' | 'hidden'): Promise<void> {
    const engine = this.engine;
    if (!engine || engine.step === 0 || (reason === 'hidden' && engine.step === this.checkpoints.lastSavedStep)) {
      if (reason === 'manual') this.post({ type: 'checkpointNotSaved', reason, message: 'Nothing to save yet: the study has not taken a step.' });
      return;
    }
    if (this.state === 'failed') {
      if (reason === 'manual') this.post({ type: 'checkpointNotSaved', reason, message: `Every run has stopped; the last good checkpoint (step ${this.checkpoints.lastSavedStep}) is kept.` });
      return;
    }
    await this.saveCheckpoint(reason);
  }

  /**
   * The interval's losses are reported first, so a run whose loss or gradient went non-finite is frozen
   * (runFailed) before its state is read; a study that has failed saves nothing (CheckpointKeeper.save).
   */
  private async saveCheckpoint(reason: CheckpointReason): Promise<void> {
    const engine = this.engine, config = this.config;
    if (!engine || !config) return;
    if (this.reports.stepsSinceReport > 0) {
      await this.reports.reportTrainLoss(engine);
      if (this.state === 'failed') return;
    }
    await this.checkpoints.save(engine, config, reason, (step) => this.stages.extra(this.reports.extra(this.presetName, step)));
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
    const found = await this.checkpoints.fetch(key);
    if ('refusal' in found) return refuse(found.refusal);
    const backend = await this.device.require();
    if (!backend) return;
    const opened = this.checkpoints.open(found.record, backend.kind);
    if ('refusal' in opened) return refuse(opened.refusal);
    const { saved } = opened;
    await this.stages.recoverBase(saved, backend.kind, this.checkpoints);
    await this.build(saved.checkpoint.state.config, { saved, reason: 'resume', reachedStep: saved.checkpoint.state.step });
  }

}

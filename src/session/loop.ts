/**
 * The training session's training loop (for src/session/session.ts): 'start', 'step' and the slices that
 * take one step each, with the reports and autosaves that are due after a step.
 *
 * Timing: every command and every slice of the training loop runs on one queue, one after another, so a
 * command never sees a half-taken step. The loop takes ONE step per slice and then yields to the event
 * loop (setImmediate in Node, a MessageChannel in a Worker: no 4 ms timer clamping) before queueing the
 * next slice, so a 'pause', 'probe' or 'generate' that arrived meanwhile runs before the next step. The
 * GPU engine only submits a step; the loop keeps at most two steps in flight (it waits for the previous
 * step before returning), which keeps the GPU busy without letting the queue run away from the UI.
 */
import type { StudyEngine } from '../engine/studyEngine';
import { isEvaluationStep } from '../engine/trainingLoop';
import { isEarlyEvaluationStep } from './pageSchedule';
import type { CheckpointReason } from './checkpointStore';
import type { FromTrainer, TrainingState } from './protocol';
import type { CheckpointKeeper } from './checkpointKeeper';
import type { TrainingReports } from './reports';

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

/** What the loop needs of the session. */
export interface LoopHost {
  engine(): StudyEngine | undefined;
  state(): TrainingState;
  setState(state: TrainingState): void;
  postState(): void;
  post(message: FromTrainer): void;
  /** Runs `task` on the session's queue. */
  enqueue(task: () => Promise<void>): Promise<void>;
  /** The engine, or undefined with an error posted ("Cannot <action>: configure a study first."). */
  requireEngine(action: string): StudyEngine | undefined;
  /** Whether a step failed because the GPU device is lost (then the recovery takes over). */
  lostDevice(): Promise<boolean>;
  /** Saves a checkpoint (the pending losses are reported first). */
  saveCheckpoint(reason: CheckpointReason): Promise<void>;
  /** Whether the page's schedule is on (src/session/pageSchedule.ts: evaluations at step 0 and early steps). */
  pageSchedule(): boolean;
}

export class TrainingLoop {
  /** Bumped to stop the loop: a slice scheduled under an older token does nothing. */
  private token = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly host: LoopHost,
    private readonly reports: TrainingReports,
    private readonly checkpoints: CheckpointKeeper,
    /** Training losses are reported at least this often while training. */
    private readonly reportEveryMs: number,
  ) {}

  async start(): Promise<void> {
    const host = this.host;
    const engine = host.requireEngine('start training');
    if (!engine) return;
    if (host.state() === 'running') return;
    if (host.state() === 'failed') {
      host.post({ type: 'error', message: 'Every run of this study has stopped; reset or configure a new study.' });
      return;
    }
    if (engine.step >= engine.config.steps) return host.setState('done');
    this.reports.lastReportAt = performance.now();
    host.setState('running');
    const token = ++this.token;
    this.scheduleSlice(token);
  }

  stop(): void {
    this.token++;
  }

  /** The engine is gone: no step of it is waited for any more. */
  forgetInFlight(): void {
    this.inFlight = undefined;
  }

  async singleStep(): Promise<void> {
    const host = this.host;
    const engine = host.requireEngine('step');
    if (!engine || host.state() === 'running') return;
    if (host.state() === 'failed' || engine.step >= engine.config.steps) return host.postState();
    this.reports.lastReportAt = performance.now();
    await this.advance(true);
    if (host.state() === 'idle' || host.state() === 'paused') host.postState();
  }

  private scheduleSlice(token: number): void {
    void yieldToEventLoop().then(() => this.host.enqueue(() => this.slice(token)));
  }

  private async slice(token: number): Promise<void> {
    const host = this.host;
    if (token !== this.token || host.state() !== 'running' || !host.engine()) return;
    try {
      await this.advance(false);
    } catch (error) {
      this.stop();
      if (await host.lostDevice()) return; // the recovery (queued by the loss) takes over
      host.post({ type: 'error', message: `Training stopped: ${error instanceof Error ? error.message : String(error)}` });
      if (host.engine()) host.setState('paused');
      return;
    }
    if (token === this.token && host.state() === 'running') this.scheduleSlice(token);
  }

  /** One training step, then the reports that are due (all of them when `reportNow`). */
  private async advance(reportNow: boolean): Promise<void> {
    const host = this.host, reports = this.reports;
    const engine = host.engine()!;
    const { config } = engine;
    const early = host.pageSchedule();
    // The page's evaluation at step 0: the untrained models' point every chart starts from.
    if (early && engine.step === 0 && !reports.evaluatedAt(0)) await reports.reportEvaluation(engine);
    const started = await reports.clock.step(engine, () => {
      const previous = this.inFlight;
      this.inFlight = engine.flush();
      // At most two steps in flight: this one runs on the GPU while the next one is being encoded.
      return reportNow ? this.inFlight : previous;
    });
    const step = engine.step;
    const evaluationDue = isEvaluationStep(config, step) || (early && isEarlyEvaluationStep(config, step));
    if (reportNow || evaluationDue || reports.clock.steps >= config.evaluation.every
      || performance.now() - reports.lastReportAt >= this.reportEveryMs) {
      await reports.reportTrainLoss(engine);
    }
    if (host.state() === 'failed') return;
    // The page asks for its attention snapshots itself after each evaluation ('probe'), for the runs it shows.
    if (evaluationDue) await reports.reportEvaluation(engine);
    this.checkpoints.msSinceSave += performance.now() - started;
    if (step >= config.steps || this.checkpoints.due(step)) {
      await host.saveCheckpoint(step >= config.steps ? 'done' : 'auto');
    }
    if (step >= config.steps) {
      this.stop();
      host.setState('done');
    }
  }
}

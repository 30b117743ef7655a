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
 */
import type { GpuContext } from '../gpu/context';
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
import type { AttentionSnapshot, FromTrainer, GenerationResult, ToTrainer, TrainingState } from './protocol';

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
}

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

  constructor(private readonly options: SessionOptions) {
    this.reportEveryMs = options.reportEveryMs ?? 200;
  }

  /** Handles one command. The promise resolves once it is processed (for 'start': once training began); it never rejects. */
  handle(message: ToTrainer): Promise<void> {
    return this.enqueue(() => this.process(message));
  }

  /** Stops training and frees the study (the GPU context stays: it belongs to whoever created it). */
  dispose(): Promise<void> {
    return this.enqueue(async () => {
      this.stopLoop();
      this.disposeEngine();
      this.config = undefined;
    });
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
    switch (message.type) {
      case 'init': return this.init(message.allowCpuFallback);
      case 'configure': return this.configure(message.config);
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
      this.post({ type: 'engine', engine: 'webgpu', adapter: backend.ctx.adapter, notice: null });
    } else {
      this.post({ type: 'engine', engine: 'cpu', adapter: null, notice: this.cpuNotice });
    }
  }

  private cpuNotice: string | null = null;

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
    this.backend = { kind: 'webgpu', ctx };
    ctx.lost.then((lost) => {
      if (this.backend?.kind !== 'webgpu' || this.backend.ctx !== ctx) return;
      this.backend = undefined;
      this.stopLoop();
      this.engine = undefined; // its buffers went with the device
      this.post({ type: 'error', message: `${lost.message} Reload the page (or send 'init' again) to start over.` });
      this.setState('failed');
    });
  }

  /** The backend, acquired (and reported) now if no 'init' came first; undefined (error posted) when there is none. */
  private async requireBackend(): Promise<Backend | undefined> {
    if (!this.backend) {
      await this.acquireBackend();
      this.reportBackend();
    }
    return this.backend;
  }

  private async configure(config: StudyConfig): Promise<void> {
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
    await this.build(structuredClone(config));
  }

  private async build(config: StudyConfig): Promise<void> {
    const backend = await this.requireBackend();
    if (!backend) return;
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
    if (this.selection.run >= engine.R || this.selection.example >= engine.evalSet.count) this.selection = { run: 0, example: 0 };
    this.post({ type: 'built', runs: engine.runs, parameterCount: engine.parameterCount, memoryBytes: engine.memoryBytes, config });
    this.setState('idle');
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
      this.post({ type: 'error', message: `Training stopped: ${describe(error)}` });
      if (this.engine) this.setState('paused');
      return;
    }
    if (token === this.loopToken && this.state === 'running') this.scheduleSlice(token);
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
      this.post({ type: 'runFailed', run: r, step, message:
        `Run ${r} — ${name}, seed ${run.seed} — stopped at step ${step}: its training loss or gradient is not finite (NaN or ∞). ` +
        `The likely cause is a learning rate too high (optimizer.lr = ${engine.config.optimizer.lr}); lower it, ` +
        'lengthen the warm-up or clip gradients harder. Its weights are kept as they were; the other runs go on.' });
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

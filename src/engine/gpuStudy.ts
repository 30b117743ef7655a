/**
 * A study trains every (arm, seed) run of a StudyConfig together through the kernels' run dimension (the
 * runs, their seeds, batches, masks and schedule are the RunPlan's). Same config → identical numbers.
 */
import type { GpuContext } from '../gpu/context';
import { readBuffer } from '../gpu/arena';
import { encodeDispatches } from '../gpu/dispatch';
import { GpuModel } from '../model/gpuModel';
import { parameterCount } from '../model/layout';
import type { EvalSet, Task } from '../data/task';
import type { StudyState } from './checkpoint';
import type { StudyConfig } from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { batchCopy, l2Norm, probeSequences, type IntervalReport, type ProbeResult, type StudyEngine, type TrainingBatch } from './studyEngine';
import { answerLength, EvaluationTally, maxAnswerLength } from './evaluationTally';
import { RunPlan } from './runPlan';
import type { RunEvaluation, RunInfo } from './types';
import { lossScales } from '../kernels/crossEntropy';

export class Study implements StudyEngine {
  readonly kind = 'webgpu' as const;
  readonly runs: RunInfo[];
  readonly R: number;
  readonly task: Task;
  readonly evalSet: EvalSet;
  private readonly tokens: Uint32Array;
  /** The step whose batch `tokens` and `mask` hold (0: none since the build or a restore). */
  private batchStep = 0;
  private readonly mask: Uint32Array;
  /** Loss weights [R, rows, T] and their per-run scales [R] (fine-tuning stages only). */
  private readonly weights: Float32Array | null;
  private readonly lossScale: Float32Array;
  /** Sequences per run in the model: the batch, or twice it in a fine-tuning stage with masked copies. */
  private readonly rows: number;
  private readonly evalTokens: Uint32Array;
  private readonly zeroMask: Uint32Array;
  private readonly staging: GPUBuffer;
  /** Attention probabilities of one probe example, every run and layer: [R, L, H, T, T]. */
  private readonly probeStaging: GPUBuffer;
  /** Each step's per-run mean loss, appended on the GPU ([every, R]) and read at evaluation time. */
  private readonly lossLog: GPUBuffer;
  /** Each step's per-run gradient (norm, clip scale) from the optimizer, logged alongside ([every, R, 2]). */
  private readonly normLog: GPUBuffer;
  private lossLogFilled = 0;
  /** Step whose loss sits in the log's first row. */
  private lossLogFirstStep = 1;
  /** Bytes of the study's own readback buffers (the model's are in model.bytes). */
  private readonly stagingBytes: number;

  private constructor(readonly ctx: GpuContext, readonly config: StudyConfig, readonly model: GpuModel, private readonly plan: RunPlan) {
    this.runs = plan.runs;
    this.R = plan.R;
    this.task = plan.task;
    this.evalSet = plan.evalSet;
    this.rows = plan.rows;
    const B = this.rows, T = config.model.context;
    this.tokens = new Uint32Array(this.R * B * (T + 1));
    this.mask = new Uint32Array(this.R * B * T);
    this.weights = plan.finetune ? new Float32Array(this.R * B * T) : null;
    this.lossScale = new Float32Array(this.R);
    this.evalTokens = new Uint32Array(this.R * B * (T + 1));
    this.zeroMask = new Uint32Array(this.R * B * T);
    const V = config.model.vocabSize;
    // Evaluation readback: every run's row losses [R, B·T] and the logits rows of the answers [R, B, answer length, V].
    this.staging = ctx.arena.buffer('study.evalStaging', 4 * (this.R * B * T + this.R * B * maxAnswerLength(plan.evalSet) * V),
      0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */);
    this.lossLog = ctx.arena.buffer('study.lossLog', 4 * this.R * config.evaluation.every);
    this.normLog = ctx.arena.buffer('study.normLog', 8 * this.R * config.evaluation.every);
    const { layers, heads } = config.model;
    this.probeStaging = ctx.arena.buffer('study.probeStaging', 4 * this.R * layers * heads * T * T,
      0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */);
    this.stagingBytes = this.staging.size + this.lossLog.size + this.normLog.size + this.probeStaging.size;
  }

  /**
   * Builds the study's model and writes every run's initial weights. A fine-tuning stage (config.stage =
   * 'finetune') starts from `base(baseArm, seed)`, the pretrained weights of that arm and seed.
   */
  static async create(ctx: GpuContext, config: StudyConfig, base?: (baseArm: number, seed: number) => Float32Array): Promise<Study> {
    validateStudyConfig(config);
    const plan = new RunPlan(config);
    const model = await GpuModel.build(ctx, config.model, {
      R: plan.R, B: plan.rows, maxGradNorm: config.optimizer.maxGradNorm, lossWeights: plan.finetune,
    });
    plan.initialParameters(model.layout, base).forEach((params, r) => model.writeRunParameters(r, params));
    return new Study(ctx, config, model, plan);
  }

  /** Steps taken so far. */
  get step(): number {
    return this.plan.step;
  }

  get parameterCount(): number {
    return parameterCount(this.model.layout);
  }

  get memoryBytes(): number {
    return this.model.bytes + this.stagingBytes;
  }

  /** Stops run r's optimizer from the next step on (AdamW skips runs whose hyper `active` is 0). */
  freezeRun(r: number): void {
    this.plan.freezeRun(r);
  }

  isFrozen(r: number): boolean {
    return this.plan.isFrozen(r);
  }

  /** Resolves when every step submitted so far has finished on the GPU. */
  flush(): Promise<void> {
    return this.ctx.device.queue.onSubmittedWorkDone();
  }

  /** Encodes and submits one training step for every run (no readback). */
  trainStep(): void {
    this.plan.nextStep(this.tokens, this.mask, this.weights ?? undefined);
    this.batchStep = this.step;
    this.model.writeBatch(this.tokens, this.mask);
    if (this.weights) this.model.writeLossWeights(this.weights, lossScales(this.weights, this.R, this.rows * this.config.model.context, this.lossScale));
    this.model.writeHyper(this.plan.hyper);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'train-step' });
    this.model.encodeTrainingStep(encoder);
    if (this.lossLogFilled === 0) this.lossLogFirstStep = this.step;
    if (this.lossLogFilled < this.config.evaluation.every) {
      encoder.copyBufferToBuffer(this.model.lossMeanBuffer, 0, this.lossLog, 4 * this.R * this.lossLogFilled, 4 * this.R);
      encoder.copyBufferToBuffer(this.model.gradStatsBuffer, 0, this.normLog, 8 * this.R * this.lossLogFilled, 8 * this.R);
      this.lossLogFilled++;
    }
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  /**
   * Mean training loss of each run over the steps since the previous call (at most evaluation.every steps are
   * logged; NaN for a run whose loss was not finite or that is frozen), then starts a new interval; with the
   * number of steps covered and, per run, the first step whose loss or gradient
   * norm was not finite (the optimizer skipped that step); frozen runs read NaN and null.
   */
  async intervalReport(): Promise<IntervalReport> {
    const filled = this.lossLogFilled;
    if (filled === 0) {
      return { losses: this.runs.map(() => Number.NaN), steps: 0, firstNonFiniteStep: this.runs.map(() => null),
        gradNorms: this.runs.map(() => Number.NaN), learningRate: this.plan.learningRateAt(this.step) };
    }
    const [lossData, normData] = await Promise.all([
      readBuffer(this.ctx.device, this.lossLog, 4 * this.R * filled), readBuffer(this.ctx.device, this.normLog, 8 * this.R * filled)]);
    const data = new Float32Array(lossData);
    const norms = new Float32Array(normData);
    this.lossLogFilled = 0;
    return this.plan.intervalReport(this.lossLogFirstStep, filled, (step, r) => data[step * this.R + r],
      (step, r) => Number.isFinite(data[step * this.R + r]) && Number.isFinite(norms[(step * this.R + r) * 2]),
      (step, r) => norms[(step * this.R + r) * 2]);
  }

  /** Each run's parameter L2 norm (one readback of the weights: evaluations only). */
  async weightNorms(): Promise<number[]> {
    const params = await this.model.readParams();
    const P = this.model.layout.P; // the per-run stride (its padding holds zeros)
    return this.runs.map((_, r) => l2Norm(params.subarray(r * P, (r + 1) * P)));
  }

  /** Mean training loss of each run at the last step (waits for the GPU: call it only when reporting). */
  async lastLosses(): Promise<Float32Array> {
    return this.model.readLossMean();
  }

  /** Clean validation loss and greedy retrieval accuracy of every run on the fixed evaluation set. */
  async evaluate(): Promise<RunEvaluation[]> {
    const { config, R, evalSet } = this;
    const B = this.rows, T = config.model.context, V = config.model.vocabSize, N = B * T;
    const block = B * (T + 1);
    const tally = new EvaluationTally(evalSet, R);
    const maxLen = maxAnswerLength(evalSet);
    for (let start = 0; start < evalSet.count; start += B) {
      const used = Math.min(B, evalSet.count - start);
      // Rows past the end of the set repeat its last example; they are not scored.
      for (let b = 0; b < B; b++) {
        const example = Math.min(start + b, evalSet.count - 1);
        const source = evalSet.tokens.subarray(example * (T + 1), (example + 1) * (T + 1));
        for (let r = 0; r < R; r++) this.evalTokens.set(source, r * block + b * (T + 1));
      }
      this.model.writeBatch(this.evalTokens, this.zeroMask);
      const encoder = this.ctx.device.createCommandEncoder({ label: 'evaluate' });
      encodeDispatches(this.ctx, encoder, this.model.evaluate, 'evaluate');
      encoder.copyBufferToBuffer(this.model.rowLossBuffer, 0, this.staging, 0, 4 * R * N);
      for (let r = 0; r < R; r++) {
        for (let b = 0; b < used; b++) {
          const row = r * N + b * T + evalSet.answerPositions[start + b];
          const rows = answerLength(evalSet, start + b);
          encoder.copyBufferToBuffer(this.model.logitsBuffer, 4 * row * V, this.staging, 4 * (R * N + (r * B + b) * maxLen * V), 4 * rows * V);
        }
      }
      this.ctx.device.queue.submit([encoder.finish()]);
      await this.staging.mapAsync(0x0001);
      const data = new Float32Array(this.staging.getMappedRange().slice(0));
      this.staging.unmap();
      tally.examples(start, used);
      for (let r = 0; r < R; r++) {
        for (let i = 0; i < used * T; i++) tally.loss(r, data[r * N + i]);
        for (let b = 0; b < used; b++) {
          const at = R * N + (r * B + b) * maxLen * V;
          const rowOf = r * N + b * T + evalSet.answerPositions[start + b];
          tally.scoreAnswer(r, start + b, (i) => data.subarray(at + i * V, at + (i + 1) * V), (i) => data[rowOf + i]);
        }
      }
    }
    return tally.results(T);
  }

  /**
   * Runs the evaluation forward with `tokens` (T + 1 ids, or fewer: the rest is padding) as every run's
   * first sequence and `mask` (input positions to replace by [MASK]) and returns, for every run and layer,
   * that sequence's attention probabilities [R, L, H, T, T] and its logits rows at `logitRows` [R, rows, V].
   * The same inputs for every run, so NTP and MEAP models are compared on the same example — or one
   * sequence per run (`tokens` an array of R sequences), as greedy generation needs.
   */
  async probe(tokens: ArrayLike<number> | readonly ArrayLike<number>[], mask: readonly number[], logitRows: readonly number[] = []): Promise<ProbeResult> {
    const { config, R } = this;
    const B = this.rows, T = config.model.context, V = config.model.vocabSize, H = config.model.heads, L = config.model.layers;
    const block = B * (T + 1);
    const sequences = probeSequences(config, R, tokens, mask, logitRows);
    this.evalTokens.fill(0);
    this.zeroMask.fill(0);
    for (let r = 0; r < R; r++) {
      const sequence = sequences[r];
      for (let i = 0; i < sequence.length; i++) this.evalTokens[r * block + i] = sequence[i];
      for (const t of mask) this.zeroMask[r * B * T + t] = 1;
    }
    this.model.writeBatch(this.evalTokens, this.zeroMask);
    this.zeroMask.fill(0);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'probe' });
    encodeDispatches(this.ctx, encoder, this.model.evaluate, 'probe');
    const perRun = H * T * T;
    for (let r = 0; r < R; r++) {
      for (let l = 0; l < L; l++) {
        // Sequence 0 of run r in probs.l [R, B, H, T, T].
        encoder.copyBufferToBuffer(this.model.attentionProbsBuffer(l), 4 * r * B * perRun, this.probeStaging, 4 * (r * L + l) * perRun, 4 * perRun);
      }
    }
    const N = B * T;
    for (let r = 0; r < R; r++) {
      logitRows.forEach((row, k) => {
        encoder.copyBufferToBuffer(this.model.logitsBuffer, 4 * (r * N + row) * V, this.staging, 4 * (r * logitRows.length + k) * V, 4 * V);
      });
    }
    this.ctx.device.queue.submit([encoder.finish()]);
    await Promise.all([this.probeStaging.mapAsync(0x0001), this.staging.mapAsync(0x0001)]);
    const probs = new Float32Array(this.probeStaging.getMappedRange().slice(0));
    const logits = new Float32Array(this.staging.getMappedRange(0, 4 * R * logitRows.length * V).slice(0));
    this.probeStaging.unmap();
    this.staging.unmap();
    return { probs, logits };
  }

  lastBatch(): TrainingBatch | null {
    return batchCopy(this.step, this.batchStep, this.rows, this.config.model.context, this.tokens, this.mask);
  }

  /** The full training state (waits for the GPU); see src/engine/checkpoint.ts. */
  async saveState(): Promise<StudyState> {
    return this.plan.saveState(await this.model.readOptimizerState());
  }

  /** Continues from a saved state of the same config: the next step is bit-identical to an uninterrupted run. */
  restoreState(state: StudyState): void {
    this.batchStep = 0;
    this.plan.restoreState(state, 'float32', this.R * this.model.layout.P);
    this.model.writeOptimizerState(state as { params: Float32Array; m: Float32Array; v: Float32Array });
    this.lossLogFilled = 0;
  }

  dispose(): void {
    this.model.dispose();
    this.ctx.arena.destroy(this.staging);
    this.ctx.arena.destroy(this.lossLog);
    this.ctx.arena.destroy(this.normLog);
    this.ctx.arena.destroy(this.probeStaging);
  }
}


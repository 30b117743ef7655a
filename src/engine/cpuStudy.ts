/**
 * The no-WebGPU fallback: the same study as `Study` (same runs, seeds, initial weights, batches and mask
 * streams, same learning-rate schedule, clipping and AdamW), computed by the float64 CPU reference model
 * one run at a time. Its numbers track the GPU's (the GPU computes in f32); it is slow, so it only takes
 * studies no larger than the tiny preset.
 */
import { decayMask, parameterCount, parameterLayout, type ParameterLayout } from '../model/layout';
import { ADAMW_HYPER_STRIDE } from '../kernels/adamw';
import { adamwReference, type AdamWState } from '../reference/adamw';
import { gradNormReference } from '../reference/gradNorm';
import { referenceBackward, referenceForward } from '../reference/model';
import type { EvalSet, Task } from '../data/task';
import { PRESETS, type StudyConfig } from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { batchCopy, l2Norm, probeSequences, type IntervalReport, type ProbeResult, type StudyEngine, type TrainingBatch } from './studyEngine';
import type { StudyState } from './checkpoint';
import { EvaluationTally } from './evaluationTally';
import { RunPlan } from './runPlan';
import { runCount, sequencesPerStep } from '../config/finetuneStage';
import type { RunEvaluation, RunInfo } from './types';

/** Rough multiply-adds per step of a study: every run's tokens through the weights and the attention. */
export function studyStepWork(config: StudyConfig): number {
  const m = config.model;
  const R = runCount(config);
  const tokens = R * sequencesPerStep(config) * m.context;
  return tokens * (parameterCount(parameterLayout(m)) + m.layers * m.context * m.dModel);
}

/** Throws (with what to do) when a study is too large for the CPU fallback, i.e. larger than the tiny preset. */
export function assertCpuSized(config: StudyConfig): void {
  const limit = studyStepWork(PRESETS.tiny);
  const work = studyStepWork(config);
  if (work > limit) {
    const R = runCount(config);
    throw new RangeError(`This study (${R} runs × batch ${sequencesPerStep(config)} × context ${config.model.context}, ` +
      `${parameterCount(parameterLayout(config.model)).toLocaleString('en-US')} parameters per model) is ${(work / limit).toFixed(1)}× ` +
      'the work per step of the tiny preset, so it needs WebGPU; the CPU fallback trains the tiny preset ' +
      '(or anything no larger: fewer runs, a smaller batch, context or model).');
  }
}

export class CpuStudy implements StudyEngine {
  readonly kind = 'cpu' as const;
  readonly runs: RunInfo[];
  readonly R: number;
  readonly task: Task;
  readonly evalSet: EvalSet;
  readonly layout: ParameterLayout;
  private readonly plan: RunPlan;
  private readonly state: AdamWState[];
  private readonly decay: Float32Array;
  private readonly tokens: Uint32Array;
  /** The step whose batch `tokens` and `mask` hold (0: none since the build or a restore). */
  private batchStep = 0;
  private readonly mask: Uint32Array;
  /** Loss weights [R, rows, T] (fine-tuning stages only) and sequences per run in a step. */
  private readonly weights: Float32Array | null;
  private readonly rows: number;
  /** Per-run loss of each step since the last interval report. */
  private stepLosses: number[][] = [];
  /** Per-run: whether each step's loss and gradient norm were finite, since the last interval report. */
  private stepFinite: boolean[][] = [];
  /** Each step's gradient norms (before clipping), per run: read with the losses. */
  private stepGradNorms: number[][] = [];
  private intervalFirstStep = 1;

  private constructor(readonly config: StudyConfig, base?: (baseArm: number, seed: number) => Float32Array) {
    this.plan = new RunPlan(config);
    this.runs = this.plan.runs;
    this.R = this.plan.R;
    this.task = this.plan.task;
    this.evalSet = this.plan.evalSet;
    this.layout = parameterLayout(config.model);
    this.decay = decayMask(this.layout);
    const P = this.layout.P;
    this.state = this.plan.initialParameters(this.layout, base).map((params) => ({ params: Float64Array.from(params), m: new Float64Array(P), v: new Float64Array(P) }));
    this.rows = this.plan.rows;
    const B = this.rows, T = config.model.context;
    this.tokens = new Uint32Array(this.R * B * (T + 1));
    this.mask = new Uint32Array(this.R * B * T);
    this.weights = this.plan.finetune ? new Float32Array(this.R * B * T) : null;
  }

  /** Validates the config (as Study does) and refuses studies larger than the tiny preset. */
  static create(config: StudyConfig, base?: (baseArm: number, seed: number) => Float32Array): CpuStudy {
    validateStudyConfig(config);
    assertCpuSized(config);
    return new CpuStudy(structuredClone(config), base);
  }

  get parameterCount(): number {
    return parameterCount(this.layout);
  }

  /** Parameters and both AdamW moments of every run, in float64. */
  get memoryBytes(): number {
    return this.R * this.layout.P * 3 * 8;
  }

  /** Parameters of run r (float64, the engine's own array: do not modify). */
  runParameters(r: number): Float64Array {
    return this.state[r].params;
  }

  /** Steps taken so far. */
  get step(): number {
    return this.plan.step;
  }

  freezeRun(r: number): void {
    this.plan.freezeRun(r);
  }

  isFrozen(r: number): boolean {
    return this.plan.isFrozen(r);
  }

  lastBatch(): TrainingBatch | null {
    return batchCopy(this.step, this.batchStep, this.rows, this.config.model.context, this.tokens, this.mask);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  trainStep(): void {
    const { config, R } = this;
    const B = this.rows, T = config.model.context;
    const o = config.optimizer;
    this.plan.nextStep(this.tokens, this.mask, this.weights ?? undefined);
    this.batchStep = this.step;
    if (this.stepLosses.length === 0) this.intervalFirstStep = this.step;
    const losses: number[] = [];
    const finite: boolean[] = [];
    const gradNorms: number[] = [];
    for (let r = 0; r < R; r++) {
      if (this.isFrozen(r)) {
        losses.push(Number.NaN);
        finite.push(true);
        gradNorms.push(Number.NaN);
        continue;
      }
      const batch = { B, tokens: this.tokens.subarray(r * B * (T + 1), (r + 1) * B * (T + 1)), mask: this.mask.subarray(r * B * T, (r + 1) * B * T),
        weights: this.weights?.subarray(r * B * T, (r + 1) * B * T) };
      const state = this.state[r];
      const forward = referenceForward(config.model, this.layout, state.params, batch);
      const grads = referenceBackward(config.model, this.layout, state.params, batch, forward);
      const stats = gradNormReference(grads, 1, this.layout.P, o.maxGradNorm);
      this.state[r] = adamwReference({ ...state, grads, decay: this.decay,
        hyper: this.plan.hyper.subarray(r * ADAMW_HYPER_STRIDE, (r + 1) * ADAMW_HYPER_STRIDE), stats, R: 1, P: this.layout.P });
      losses.push(forward.loss);
      finite.push(Number.isFinite(forward.loss) && Number.isFinite(stats[0]));
      gradNorms.push(stats[0]);
    }
    this.stepLosses.push(losses);
    this.stepFinite.push(finite);
    this.stepGradNorms.push(gradNorms);
  }

  async intervalReport(): Promise<IntervalReport> {
    const logged = this.stepLosses;
    const finite = this.stepFinite;
    const gradNorms = this.stepGradNorms;
    this.stepLosses = [];
    this.stepFinite = [];
    this.stepGradNorms = [];
    return this.plan.intervalReport(this.intervalFirstStep, logged.length, (s, r) => logged[s][r], (s, r) => finite[s][r],
      (s, r) => gradNorms[s][r]);
  }

  /** Each run's parameter L2 norm. */
  async weightNorms(): Promise<number[]> {
    return this.state.map((s) => l2Norm(s.params));
  }

  async evaluate(): Promise<RunEvaluation[]> {
    const { config, R, evalSet } = this;
    const B = this.rows, T = config.model.context, V = config.model.vocabSize;
    const tally = new EvaluationTally(evalSet, R);
    for (let start = 0; start < evalSet.count; start += B) {
      const used = Math.min(B, evalSet.count - start);
      const batch = {
        B: used, tokens: evalSet.tokens.subarray(start * (T + 1), (start + used) * (T + 1)), mask: new Uint32Array(used * T),
      };
      tally.examples(start, used);
      for (let r = 0; r < R; r++) {
        const forward = referenceForward(config.model, this.layout, this.state[r].params, batch);
        tally.loss(r, forward.loss * used * T);
        const { rowLoss } = forward;
        for (let b = 0; b < used; b++) {
          const row = b * T + evalSet.answerPositions[start + b];
          tally.scoreAnswer(r, start + b, (i) => forward.logits.subarray((row + i) * V, (row + i + 1) * V), (i) => rowLoss[row + i]);
        }
      }
    }
    return tally.results(T);
  }

  async probe(tokens: ArrayLike<number> | readonly ArrayLike<number>[], mask: readonly number[], logitRows: readonly number[] = []): Promise<ProbeResult> {
    const { config, R } = this;
    const T = config.model.context, V = config.model.vocabSize, H = config.model.heads, L = config.model.layers;
    const sequences = probeSequences(config, R, tokens, mask, logitRows);
    const maskRow = new Uint32Array(T);
    for (const t of mask) maskRow[t] = 1;
    const perLayer = H * T * T;
    const probs = new Float32Array(R * L * perLayer);
    const logits = new Float32Array(R * logitRows.length * V);
    for (let r = 0; r < R; r++) {
      // Padded with 0 to T + 1 tokens like the GPU probe (causal attention: padding never reaches earlier rows).
      const block = new Uint32Array(T + 1);
      for (let i = 0; i < sequences[r].length; i++) block[i] = sequences[r][i];
      const forward = referenceForward(config.model, this.layout, this.state[r].params, { B: 1, tokens: block, mask: maskRow });
      for (let l = 0; l < L; l++) probs.set(forward.probs[l], (r * L + l) * perLayer);
      logitRows.forEach((row, k) => logits.set(forward.logits.subarray(row * V, (row + 1) * V), (r * logitRows.length + k) * V));
    }
    return { probs, logits };
  }

  /** The full training state in float64 (the CPU engine's precision); see src/engine/checkpoint.ts. */
  async saveState(): Promise<StudyState> {
    const P = this.layout.P;
    const gather = (key: 'params' | 'm' | 'v') => {
      const out = new Float64Array(this.R * P);
      this.state.forEach((s, r) => out.set(s[key], r * P));
      return out;
    };
    return this.plan.saveState({ params: gather('params'), m: gather('m'), v: gather('v') });
  }

  restoreState(state: StudyState): void {
    this.batchStep = 0;
    const P = this.layout.P;
    this.plan.restoreState(state, 'float64', this.R * P);
    for (let r = 0; r < this.R; r++) {
      this.state[r] = {
        params: Float64Array.from(state.params.subarray(r * P, (r + 1) * P)),
        m: Float64Array.from(state.m.subarray(r * P, (r + 1) * P)),
        v: Float64Array.from(state.v.subarray(r * P, (r + 1) * P)),
      };
    }
    this.stepLosses = [];
    this.stepFinite = [];
    this.stepGradNorms = [];
  }

  dispose(): void {
    this.stepLosses = [];
    this.stepFinite = [];
    this.stepGradNorms = [];
  }
}

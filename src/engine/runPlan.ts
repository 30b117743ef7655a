/**
 * What both engines train, written once: the runs of a study (run r = arm · seedsPerArm + seed), their
 * seeds, initial weights, batches, masks, learning rate and frozen flags, and the generator states a
 * checkpoint carries. For each seed every arm starts from the same initial weights and sees the same
 * batches; arms differ only in mask ratio. The GPU `Study` and the `CpuStudy` fallback differ only in where
 * the numbers are computed, so they draw from the same streams in the same order and their numbers track.
 *
 * A fine-tuning stage (config.stage = 'finetune', src/config/finetuneStage.ts) has arms × variants × seeds runs
 * (src/engine/finetuneBatch.ts): every run of a seed starts from its pretraining arm's weights of that seed
 * (given to initialParameters) and sees the same examples; variants differ in copies, masks and loss weights.
 */
import { adamwHyper, ADAMW_HYPER_STRIDE, type AdamWRunSettings } from '../kernels/adamw';
import { fillMask, type MaskPolicy } from '../data/maskPolicy';
import { createTask, type EvalSet, type Task } from '../data/task';
import { initParameters } from '../model/init';
import type { ParameterLayout } from '../model/layout';
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import type { StudyConfig } from '../config/presets';
import { learningRate } from './schedule';
import { finetuneOf, isFinetuneStage, sequencesPerStep } from '../config/finetuneStage';
import { answerSpans, fillFinetuneRows, finetuneRuns } from './finetuneBatch';
import { assertSameStudy, type StudyState } from './checkpoint';
import type { IntervalReport } from './studyEngine';
import type { RunInfo } from './types';

/** An engine's weights and AdamW moments of every run, [R, P], in its own precision. */
export interface RunArrays {
  params: Float32Array | Float64Array;
  m: Float32Array | Float64Array;
  v: Float32Array | Float64Array;
}

export class RunPlan {
  readonly runs: RunInfo[];
  readonly R: number;
  readonly task: Task;
  readonly evalSet: EvalSet;
  /** Steps taken so far (the step whose batch was drawn last). */
  step = 0;
  /** AdamW's per-run rows [R, ADAMW_HYPER_STRIDE] of the current step (learning rate, bias corrections, active). */
  readonly hyper: Float32Array<ArrayBuffer>;
  /** Sequences per run in a step: the batch, or twice it in a fine-tuning stage with masked copies. */
  readonly rows: number;
  readonly finetune: boolean;
  /** One data stream per seed (shared by that seed's arms); one mask stream per run. */
  private dataRngs: Rng[];
  private maskRngs: Rng[];
  private readonly settings: AdamWRunSettings[];

  constructor(readonly config: StudyConfig) {
    const { arms, seedsPerArm, baseSeed } = config;
    const T = config.model.context;
    this.finetune = isFinetuneStage(config);
    this.rows = sequencesPerStep(config);
    this.runs = this.finetune ? finetuneRuns(config) : arms.flatMap((maskRatio, arm) => Array.from({ length: seedsPerArm }, (_, seed) => ({
      arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
    })));
    this.R = this.runs.length;
    this.task = createTask(config.task, config.taskOptions);
    this.evalSet = this.task.evalSet(config.evaluation.count, T, config.evaluation.buckets, config.evaluation.seed);
    // Fine-tuning draws from streams of its own, so its examples are not pretraining's again.
    const stream = this.finetune ? 'finetune-' : '';
    this.dataRngs = Array.from({ length: seedsPerArm }, (_, s) => new Rng(deriveSeed(baseSeed, s, `${stream}data`)));
    this.maskRngs = this.runs.map((run) => new Rng(this.finetune
      ? deriveSeed(baseSeed, run.seed, run.baseArm ?? 0, run.maskRatio, run.finetune ?? '', 'finetune-mask')
      : deriveSeed(baseSeed, run.seed, run.arm, run.maskRatio, 'mask')));
    const o = config.optimizer;
    this.settings = this.runs.map(() => ({ lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay }));
    this.hyper = new Float32Array(this.R * ADAMW_HYPER_STRIDE);
  }

  /**
   * Each run's initial parameters: the seeded init of its seed (arms of one seed share the array); in a
   * fine-tuning stage, `base(baseArm, seed)` — the pretrained weights of that arm and seed.
   */
  initialParameters(layout: ParameterLayout, base?: (baseArm: number, seed: number) => Float32Array): Float32Array[] {
    if (this.finetune) {
      if (!base) throw new RangeError('a fine-tuning stage starts from pretrained weights: pass them to initialParameters');
      return this.runs.map((run) => {
        const params = base(run.baseArm ?? 0, run.seed);
        if (params.length !== layout.P) throw new RangeError(`base weights of arm ${run.baseArm}, seed ${run.seed} hold ${params.length} values, the model has ${layout.P}`);
        return params;
      });
    }
    const bySeed = Array.from({ length: this.config.seedsPerArm },
      (_, s) => initParameters(this.config.model, layout, deriveSeed(this.config.baseSeed, s, 'init')));
    return this.runs.map((run) => bySeed[run.seed]);
  }

  /**
   * Draws the next step into `tokens` [R, B, T + 1] and `mask` [R, B, T] (every batch first, then each
   * run's mask: the order the streams have always been read in), advances the step and sets `hyper` for it.
   */
  nextStep(tokens: Uint32Array, mask: Uint32Array, weights?: Float32Array): void {
    const { config, R } = this;
    const B = config.batch, T = config.model.context;
    const block = B * (T + 1);
    const bySeed = this.dataRngs.map((rng) => this.task.trainingBatch(rng, B, T));
    if (this.finetune) {
      if (!weights) throw new RangeError('a fine-tuning step needs a loss-weights array [R, rows, T]');
      this.fillFinetuneStep(bySeed, tokens, mask, weights);
      this.advance();
      return;
    }
    const protectedBySeed = this.protectedPositions(bySeed);
    for (let r = 0; r < R; r++) {
      const run = this.runs[r];
      tokens.set(bySeed[run.seed], r * block);
      const protectedPositions = protectedBySeed && ((b: number) => protectedBySeed[run.seed][b]);
      fillMask(mask.subarray(r * B * T, (r + 1) * B * T), B, T, { ...this.maskPolicy, ratio: run.maskRatio, protectedPositions }, this.maskRngs[r]);
    }
    this.advance();
  }

  /** The study's mask policy, without the ratio (each arm's) and the per-sequence protected positions. */
  private get maskPolicy(): Omit<MaskPolicy, 'ratio'> {
    const { config, task } = this;
    const replace = config.replace ?? 'mask';
    return {
      sharedAcrossBatch: config.sharedMask,
      protectedTail: config.protectQuery ? Math.max(1, task.queryLength) : 1,
      replace,
      replacementIds: replace === 'random' ? task.ordinaryIds : replace === 'random-filler' ? task.fillerIds : undefined,
    };
  }

  /** With `protect`: each seed's sequences' protected input positions ([seed][b]); otherwise undefined. */
  private protectedPositions(bySeed: Uint32Array[]): number[][][] | undefined {
    const segments = this.config.protect;
    if (!segments || segments.length === 0) return undefined;
    const B = this.config.batch, T = this.config.model.context;
    const find = this.task.protectedInputs;
    if (!find) throw new RangeError(`protect needs a retrieval task; the ${this.config.task} task has no needle or query`);
    return bySeed.map((tokens) => Array.from({ length: B }, (_, b) => find(tokens.subarray(b * (T + 1), (b + 1) * (T + 1)), T, segments)));
  }

  /** Every run's rows of a fine-tuning step from its seed's examples (src/engine/finetuneBatch.ts). */
  private fillFinetuneStep(bySeed: Uint32Array[], tokens: Uint32Array, mask: Uint32Array, weights: Float32Array): void {
    const { config, rows } = this;
    const B = config.batch, T = config.model.context;
    const f = finetuneOf(config);
    const spans = bySeed.map((examples) => answerSpans(this.task, examples, B, T));
    this.runs.forEach((run, r) => {
      const out = {
        tokens: tokens.subarray(r * rows * (T + 1), (r + 1) * rows * (T + 1)),
        mask: mask.subarray(r * rows * T, (r + 1) * rows * T),
        weights: weights.subarray(r * rows * T, (r + 1) * rows * T),
      };
      fillFinetuneRows(out, bySeed[run.seed], spans[run.seed], run.finetune ?? 'sft', f, B, rows, T, this.maskRngs[r]);
    });
  }

  /** Advances the step and sets `hyper` for it. */
  private advance(): void {
    this.step++;
    const lr = this.learningRateAt(this.step);
    for (const s of this.settings) s.lr = lr;
    // Both engines use these f32-rounded rows (the GPU reads them), so the two track each other.
    adamwHyper(this.settings, this.step, this.hyper);
  }

  /** Stops run r's optimizer from the next step on (its hyper row's `active` becomes 0). */
  freezeRun(r: number): void {
    if (!(Number.isInteger(r) && r >= 0 && r < this.R)) throw new RangeError(`run ${r} is outside 0..${this.R - 1}`);
    this.settings[r].active = false;
  }

  isFrozen(r: number): boolean {
    return this.settings[r]?.active === false;
  }

  /**
   * The interval's report from its per-step losses: `loss(s, r)` and `finite(s, r)` (loss and gradient
   * norm finite) of its `steps` steps, the first being `firstStep`. Frozen runs read NaN and null.
   */
  intervalReport(firstStep: number, steps: number, loss: (s: number, r: number) => number,
    finite: (s: number, r: number) => boolean, gradNorm: (s: number, r: number) => number = () => Number.NaN): IntervalReport {
    const firstNonFiniteStep = this.runs.map((_, r) => {
      if (this.isFrozen(r)) return null;
      for (let s = 0; s < steps; s++) if (!finite(s, r)) return firstStep + s;
      return null;
    });
    const losses = this.runs.map((_, r) => {
      if (steps === 0 || this.isFrozen(r)) return Number.NaN;
      let sum = 0;
      for (let s = 0; s < steps; s++) sum += loss(s, r);
      return sum / steps;
    });
    const gradNorms = this.runs.map((_, r) => {
      if (this.isFrozen(r)) return Number.NaN;
      let sum = 0, n = 0;
      for (let s = 0; s < steps; s++) {
        const norm = gradNorm(s, r);
        if (Number.isFinite(norm)) { sum += norm; n++; }
      }
      return n > 0 ? sum / n : Number.NaN;
    });
    return { losses, steps, firstNonFiniteStep, gradNorms, learningRate: this.learningRateAt(this.step) };
  }

  /** The schedule's learning rate at `step` (what nextStep sets for that step). */
  learningRateAt(step: number): number {
    const o = this.config.optimizer;
    return learningRate({ peak: o.lr, warmupSteps: o.warmupSteps, totalSteps: o.scheduleSteps ?? this.config.steps, minRatio: o.minLrRatio }, step);
  }

  /** The full training state around the engine's arrays (see src/engine/checkpoint.ts). */
  saveState(arrays: RunArrays): StudyState {
    return {
      config: structuredClone(this.config), step: this.step,
      dataRngStates: this.dataRngs.map((rng) => rng.seedState), maskRngStates: this.maskRngs.map((rng) => rng.seedState),
      frozen: this.runs.map((_, r) => this.isFrozen(r)), ...arrays,
    };
  }

  /**
   * Takes a saved state's step, generators and frozen runs after checking that it belongs to this study and
   * holds `values` numbers per array in the engine's precision; the engine then takes its arrays.
   */
  restoreState(state: StudyState, precision: 'float32' | 'float64', values: number): void {
    assertSameStudy(this.config, state, precision, values);
    this.dataRngs = state.dataRngStates.map((s) => new Rng(s));
    this.maskRngs = state.maskRngStates.map((s) => new Rng(s));
    state.frozen.forEach((frozen, r) => { this.settings[r].active = !frozen; });
    this.step = state.step;
  }
}

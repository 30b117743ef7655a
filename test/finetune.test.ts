import { describe, expect, it } from 'vitest';
import { preset, type StudyConfig } from '../src/config/presets';
import { answerMaskCount, finetuneStageConfig, pretrainStageConfig, runCount, sequencesPerStep } from '../src/config/finetuneStage';
import { validateStudyConfig } from '../src/config/validate';
import { createTask } from '../src/data/task';
import { answerSpans, fillFinetuneRows, finetuneRuns } from '../src/engine/finetuneBatch';
import { Study } from '../src/engine/gpuStudy';
import { CpuStudy } from '../src/engine/cpuStudy';
import { RunPlan } from '../src/engine/runPlan';
import { Rng } from '../src/util/random';
import { testContext } from './gpuContext';

/** A qa study small enough for the CPU reference engine too: 2 documents, answers of 2–4 tokens, T = 24. */
function smallQa(overrides: Partial<StudyConfig> = {}): StudyConfig {
  const base = preset('qa-tiny');
  return {
    ...base,
    taskOptions: { fillerWords: 16, keys: 8, values: 8, documents: 2, answerMin: 2, answerMax: 4 },
    model: { ...base.model, context: 24 },
    batch: 3,
    steps: 4,
    seedsPerArm: 1,
    evaluation: { every: 2, count: 6, buckets: 2, seed: 7 },
    finetune: { variants: ['sft', 'meap-sft'], steps: 3, lr: 1e-3, warmupSteps: 1, maskFraction: 0.5, minAnswer: 2 },
    ...overrides,
  } as StudyConfig;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((bits, i) => bits === y[i]);
}

describe('fine-tuning stage: configs and runs', () => {
  it('the presets validate, and so do their stages', () => {
    for (const name of ['qa-tiny', 'qa-s']) {
      const config = preset(name);
      validateStudyConfig(config);
      validateStudyConfig(pretrainStageConfig(config));
      const stage = finetuneStageConfig(config);
      validateStudyConfig(stage);
      expect(stage.steps).toBe(config.finetune!.steps);
      expect(stage.optimizer.lr).toBe(config.finetune!.lr);
      expect(pretrainStageConfig(config).finetune).toBeUndefined();
    }
  });

  it('bad fine-tuning settings are refused naming the field', () => {
    const config = smallQa();
    const bad = (finetune: object) => () => validateStudyConfig({ ...config, finetune } as StudyConfig);
    expect(bad({ ...config.finetune, variants: ['sft', 'sft'] })).toThrow(/finetune\.variants.*twice/);
    expect(bad({ ...config.finetune, variants: ['lora'] })).toThrow(/finetune\.variants/);
    expect(bad({ ...config.finetune, maskFraction: 1 })).toThrow(/finetune\.maskFraction/);
    expect(bad({ ...config.finetune, minAnswer: 0 })).toThrow(/finetune\.minAnswer/);
    expect(() => validateStudyConfig({ ...preset('tiny'), finetune: config.finetune } as StudyConfig)).toThrow(/finetune/);
    expect(() => validateStudyConfig({ ...config, finetune: undefined, stage: 'finetune' } as StudyConfig)).toThrow(/stage/);
  });

  it('runs: arms × variants × seeds, every run of a seed from its arm\'s base; rows double only with copies', () => {
    const config = finetuneStageConfig(smallQa({ arms: [0, 0.15], seedsPerArm: 2 }));
    const runs = finetuneRuns(config);
    expect(runCount(config)).toBe(8);
    expect(runs.map((r) => [r.baseArm, r.finetune, r.seed, r.arm])).toEqual([
      [0, 'sft', 0, 0], [0, 'sft', 1, 0], [0, 'meap-sft', 0, 1], [0, 'meap-sft', 1, 1],
      [1, 'sft', 0, 2], [1, 'sft', 1, 2], [1, 'meap-sft', 0, 3], [1, 'meap-sft', 1, 3],
    ]);
    expect(sequencesPerStep(config)).toBe(2 * config.batch);
    expect(sequencesPerStep({ ...config, finetune: { ...config.finetune!, maskFraction: 0 } })).toBe(config.batch);
    expect(sequencesPerStep({ ...config, finetune: { ...config.finetune!, variants: ['sft'] } })).toBe(config.batch);
  });

  it('answerMaskCount: max(1, ⌊f·L⌋), none below minAnswer or at f = 0', () => {
    expect(answerMaskCount({ maskFraction: 0.1, minAnswer: 3 }, 2)).toBe(0);
    expect(answerMaskCount({ maskFraction: 0.1, minAnswer: 3 }, 3)).toBe(1);
    expect(answerMaskCount({ maskFraction: 0.1, minAnswer: 3 }, 25)).toBe(2);
    expect(answerMaskCount({ maskFraction: 0, minAnswer: 1 }, 8)).toBe(0);
    expect(answerMaskCount({ maskFraction: 0.9, minAnswer: 1 }, 2)).toBe(1);
  });
});

describe('fine-tuning rows: answers, copies, masks and loss weights', () => {
  const config = smallQa();
  const f = config.finetune!;
  const T = config.model.context, B = 3;
  const task = createTask(config.task, config.taskOptions);
  const examples = task.trainingBatch(new Rng(5), B, T);
  const spans = answerSpans(task, examples, B, T);
  const fill = (variant: 'sft' | 'meap-sft' | 'meap-sft-all', rows: number, seed = 9) => {
    const out = { tokens: new Uint32Array(rows * (T + 1)), mask: new Uint32Array(rows * T), weights: new Float32Array(rows * T) };
    fillFinetuneRows(out, examples, spans, variant, f, B, rows, T, new Rng(seed));
    return out;
  };
  const answerRows = (b: number) => Array.from({ length: spans[b].length }, (_, i) => spans[b].start - 1 + i);
  const weightedRows = (weights: Float32Array, row: number) => Array.from({ length: T }, (_, t) => t).filter((t) => weights[row * T + t] === 1);

  it('clean rows: loss on the answer rows only (start − 1 … T − 1), no mask', () => {
    for (const variant of ['sft', 'meap-sft', 'meap-sft-all'] as const) {
      const out = fill(variant, 2 * B);
      for (let b = 0; b < B; b++) {
        expect(spans[b].start + spans[b].length - 1).toBe(T);
        expect(weightedRows(out.weights, b)).toEqual(answerRows(b));
        expect(Array.from(out.tokens.subarray(b * (T + 1), (b + 1) * (T + 1)))).toEqual(Array.from(examples.subarray(b * (T + 1), (b + 1) * (T + 1))));
        expect(out.mask.subarray(b * T, (b + 1) * T).every((m) => m === 0)).toBe(true);
      }
    }
  });

  it('sft copies carry no loss and no mask', () => {
    const out = fill('sft', 2 * B);
    expect(out.weights.subarray(B * T).every((w) => w === 0)).toBe(true);
    expect(out.mask.every((m) => m === 0)).toBe(true);
  });

  it('meap-sft copies: k answer positions masked (inputs before T), loss exactly on the rows predicting them', () => {
    const out = fill('meap-sft', 2 * B);
    let masked = 0;
    for (let b = 0; b < B; b++) {
      const copy = B + b;
      const rows = weightedRows(out.weights, copy);
      const k = answerMaskCount(f, spans[b].length);
      expect(rows.length).toBe(k);
      for (const row of rows) {
        expect(answerRows(b)).toContain(row);
        const j = row + 1; // the hidden answer position
        if (j < T) expect(out.mask[copy * T + j]).toBe(1);
      }
      const maskedInputs = Array.from({ length: T }, (_, t) => t).filter((t) => out.mask[copy * T + t] === 1);
      expect(maskedInputs.every((t) => rows.includes(t - 1))).toBe(true);
      masked += maskedInputs.length;
    }
    expect(masked).toBeGreaterThan(0);
  });

  it('meap-sft-all copies: the same masks, loss on every answer row', () => {
    const some = fill('meap-sft', 2 * B), all = fill('meap-sft-all', 2 * B);
    expect(Array.from(all.mask)).toEqual(Array.from(some.mask));
    for (let b = 0; b < B; b++) expect(weightedRows(all.weights, B + b)).toEqual(answerRows(b));
  });

  it('a task without answer spans is refused with the reason', () => {
    const needle = createTask('needle', { fillerWords: 16, keys: 8, values: 8 });
    expect(() => answerSpans(needle, needle.trainingBatch(new Rng(1), 1, 16), 1, 16)).toThrow(/qa task/);
  });
});

describe('fine-tuning on WebGPU', () => {
  async function pretrained(config: StudyConfig): Promise<{ base: (arm: number, seed: number) => Float32Array; P: number }> {
    const ctx = await testContext();
    const study = await Study.create(ctx, pretrainStageConfig(config));
    for (let s = 0; s < config.steps; s++) study.trainStep();
    const params = await study.model.readParams();
    const P = study.model.layout.P;
    study.dispose();
    return { base: (arm, seed) => params.slice((arm * config.seedsPerArm + seed) * P, (arm * config.seedsPerArm + seed + 1) * P), P };
  }

  async function finetuned(config: StudyConfig, base: (arm: number, seed: number) => Float32Array) {
    const ctx = await testContext();
    const study = await Study.create(ctx, finetuneStageConfig(config), base);
    for (let s = 0; s < config.finetune!.steps; s++) study.trainStep();
    const params = await study.model.readParams();
    const losses = await study.lastLosses();
    const evaluation = await study.evaluate();
    const P = study.model.layout.P;
    study.dispose();
    return { run: (r: number) => params.slice(r * P, (r + 1) * P), losses, evaluation };
  }

  it('MEAP-SFT with mask fraction 0 is plain SFT bit for bit; with copies the two differ', async () => {
    const config = smallQa();
    const { base } = await pretrained(config);
    const none = await finetuned({ ...config, finetune: { ...config.finetune!, maskFraction: 0 } }, base);
    expect(bitsEqual(none.run(0), none.run(1))).toBe(true);
    const copies = await finetuned(config, base);
    expect(bitsEqual(copies.run(0), copies.run(1))).toBe(false);
    // SFT in a batch with (weightless) copy rows is SFT on its clean rows alone, bit for bit.
    expect(bitsEqual(copies.run(0), none.run(0))).toBe(true);
    expect(bitsEqual(none.run(0), base(0, 0))).toBe(false);
  });

  it('every run of a seed starts from its base and sees the same examples; stage 2 reports multi-token scores', async () => {
    const config = smallQa({ seedsPerArm: 2 });
    const { base } = await pretrained(config);
    const plan = new RunPlan(finetuneStageConfig(config));
    const initial = plan.initialParameters({ P: base(0, 0).length } as never, base);
    expect(bitsEqual(initial[0], initial[2]) && bitsEqual(initial[1], initial[3])).toBe(true);
    expect(bitsEqual(initial[0], initial[1])).toBe(false);
    const out = await finetuned(config, base);
    for (const e of out.evaluation) {
      expect(e.tokenAcc).toBeGreaterThanOrEqual(e.retrievalAcc);
      expect(e.tokenAcc).toBeLessThanOrEqual(1);
      expect(Number.isFinite(e.answerLoss)).toBe(true);
      expect(e.accByDepth).toHaveLength(2);
    }
    expect(Array.from(out.losses).every(Number.isFinite)).toBe(true);
  });

  it('the CPU reference engine trains the same fine-tuning stage: weights agree to f32 tracking', async () => {
    const config = smallQa({ batch: 2 });
    const { base } = await pretrained(config);
    const gpu = await finetuned(config, base);
    const cpu = CpuStudy.create(finetuneStageConfig(config), base);
    for (let s = 0; s < config.finetune!.steps; s++) cpu.trainStep();
    for (let r = 0; r < 2; r++) {
      const a = gpu.run(r), b = cpu.runParameters(r);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst, `run ${r}`).toBeLessThan(2e-5);
    }
    const cpuEval = await cpu.evaluate();
    expect(cpuEval[0].tokenAcc).toBeCloseTo(gpu.evaluation[0].tokenAcc!, 5);
  });
});

describe('npm run compare: fine-tuning flags', () => {
  it('--finetune on a qa preset sets the stage; its flags adjust it; none drops it', async () => {
    const { parseCompareArgs } = await import('../src/cli/args');
    const a = parseCompareArgs(['--preset', 'qa-tiny', '--finetune', 'sft,meap-sft-all', '--finetune-steps', '50', '--finetune-lr', '2e-3',
      '--mask-fraction', '0.2', '--min-answer', '2', '--from', 'base-model']);
    expect(a.config.finetune).toMatchObject({ variants: ['sft', 'meap-sft-all'], steps: 50, lr: 2e-3, maskFraction: 0.2, minAnswer: 2, warmupSteps: 5 });
    expect(a.from).toBe('base-model');
    expect(parseCompareArgs(['--task', 'qa']).config.finetune).toEqual(preset('qa-tiny').finetune);
    expect(parseCompareArgs(['--task', 'qa', '--finetune', 'none']).config.finetune).toBeUndefined();
  });

  it('refuses fine-tuning flags off the qa task and bad variants, naming the flag', async () => {
    const { parseCompareArgs } = await import('../src/cli/args');
    expect(() => parseCompareArgs(['--finetune', 'sft'])).toThrow(/--finetune needs the qa task/);
    expect(() => parseCompareArgs(['--task', 'qa', '--finetune', 'sft,lora'])).toThrow(/^--finetune: .*finetune\.variants/);
    expect(() => parseCompareArgs(['--task', 'qa', '--mask-fraction', '1.5'])).toThrow(/^--mask-fraction: .*maskFraction/);
    expect(() => parseCompareArgs(['--task', 'qa', '--finetune', 'none', '--finetune-steps', '3'])).toThrow(/--finetune none/);
  });

  it('--save names fine-tuned runs by variant', async () => {
    const { runDirectoryName } = await import('../src/cli/args');
    const { plannedRuns } = await import('../src/cli/compareOutputs');
    const config = { ...preset('qa-tiny'), seedsPerArm: 2 };
    expect(plannedRuns(config).map((r) => runDirectoryName(r, config))).toEqual(['ntp-sft-seed0', 'ntp-sft-seed1', 'ntp-meap-sft-seed0', 'ntp-meap-sft-seed1']);
  });
});

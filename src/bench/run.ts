/**
 * The benchmark itself (runs in the bench page, in the browser): our engine against tfjs-webgpu and
 * onnxruntime-web on the same adapter, in one page. Every number is the median of several repetitions
 * after warm-up; each repetition is wall time until that side's GPU queue has finished.
 */
import { createGpuContext, type GpuContext } from '../gpu/context';
import { autotune, kernelChoiceReport } from '../tuning/autotune';
import { MATMUL_VARIANTS, type MatmulVariant } from '../kernels/matmul';
import { headDim } from '../model/config';
import { initParameters } from '../model/init';
import { parameterLayout } from '../model/layout';
import { fillMask } from '../data/maskPolicy';
import { createTask } from '../data/task';
import { preset } from '../config/presets';
import { Rng } from '../util/random';
import { attentionFlops, matmulFlops, modelFlopsPerStep } from './flops';
import { oursAttention, oursMatmul, oursModelStep, oursStudyStep, type Contender, type MatmulShape, type ModelStepSetup } from './ours';
import { initTfjs, tfjsAttention, tfjsDeviceErrors, tfjsMatmul, tfjsModelStep } from './tfjsReference';
import { ortDeviceErrors, ortMatmul, ortVersion } from './ortReference';
import { row, type BenchCheck, type BenchReport } from './report';
import { timeInterleaved, type Timing, type TimingOptions } from './timing';

export type BenchSection = 'matmul' | 'attention' | 'step';
export const BENCH_SECTIONS: readonly BenchSection[] = ['matmul', 'attention', 'step'];

export interface BenchOptions {
  quick: boolean;
  /** Sections to run (default all). */
  only?: BenchSection[];
  /** The default preset (needle-s) unless named. */
  preset?: string;
}

const TFJS = 'tfjs-webgpu';
const ORT = 'onnxruntime-web';

/** Runs the whole benchmark; `log` receives progress lines. */
export async function runBench(options: BenchOptions, log: (line: string) => void): Promise<BenchReport> {
  const sections = new Set(options.only ?? BENCH_SECTIONS);
  const presetName = options.preset ?? 'needle-s';
  const study = preset(presetName);
  const cfg = study.model;
  const B = study.batch, T = cfg.context, D = cfg.dModel, F = cfg.dFF, V = cfg.vocabSize, H = cfg.heads, hd = headDim(cfg);
  // Operations per repetition: as many as fit in targetMs (at least one; on SwiftShader a step is one).
  // Training steps are warmed up by the same-math check (two steps on each side) and are the slow part
  // of the run on a software adapter (a tfjs step takes ~10–20 s on SwiftShader), hence fewer repetitions.
  const kernelTiming: TimingOptions = options.quick
    ? { warmup: 1, repetitions: 3, targetMs: 150 }
    : { warmup: 2, repetitions: 7, targetMs: 400 };
  const stepTiming: TimingOptions = options.quick
    ? { warmup: 0, repetitions: 2, targetMs: 150 }
    : { warmup: 0, repetitions: 5, targetMs: 400 };

  const report: BenchReport = {
    adapter: {}, date: new Date().toISOString(), quick: options.quick, autotune: null, results: [], checks: [],
    details: { preset: presetName, batch: B }, errors: [],
  };
  const fail = (what: string, error: unknown) => {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    report.errors.push(message);
    log(`  error: ${message}`);
  };
  /** Builds a contender; a failure (a reference that does not load here) is reported, never fatal. */
  const prepare = async (label: string, build: () => Contender | Promise<Contender>): Promise<(Contender & { label: string }) | undefined> => {
    try {
      return Object.assign(await build(), { label });
    } catch (error) {
      fail(label, error);
      return undefined;
    }
  };
  /** Times the contenders interleaved (see timeInterleaved), logs, disposes them. */
  const race = async (contenders: ((Contender & { label: string }) | undefined)[], timing: TimingOptions) => {
    const present = contenders.filter((c): c is Contender & { label: string } => c !== undefined);
    const times = new Map<string, Timing>();
    try {
      for (const [label, t] of await timeInterleaved(present, timing)) {
        if (t instanceof Error) {
          fail(label, t);
          continue;
        }
        times.set(label, t);
        log(`  ${label}: ${t.medianMs.toFixed(2)} ms (×${t.iterations}; samples ${t.samplesMs.map((x) => x.toFixed(1)).join(', ')})`);
      }
    } finally {
      for (const c of present) c.dispose();
    }
    return times;
  };

  log('creating our WebGPU context');
  const ctx: GpuContext = await createGpuContext({ profile: false });
  report.adapter = { ...ctx.adapter, browser: navigator.userAgent };
  log(`adapter: ${ctx.adapter.description || ctx.adapter.device || ctx.adapter.architecture} (${ctx.adapter.vendor}/${ctx.adapter.architecture})`);
  const tuned = await autotune(ctx, { tiles: true, log: (line) => log(`  ${line}`) });
  report.autotune = kernelChoiceReport(tuned);
  log(`autotune chose matmul=${tuned.matmul}, rows=${tuned.rows} (${tuned.method}, ${tuned.tuningMilliseconds.toFixed(0)} ms)`);
  const tf = await initTfjs();
  report.details.tfjsVersion = tf.version;
  report.details.tfjsAdapter = tf.adapter;
  report.details.ortVersion = await ortVersion();

  let bestMatmulGflops = 0;
  try {
    // ---- matmul ----
    if (sections.has('matmul')) {
      const shapes: (MatmulShape & { label: string })[] = [
        { label: '512×512×512', M: 512, N: 512, K: 512, transB: false },
        { label: `${B * T}×${D}→${D} (q/k/v/o)`, M: B * T, N: D, K: D, transB: true },
        { label: `${B * T}×${D}→${F} (gate/up)`, M: B * T, N: F, K: D, transB: true },
        { label: `${B * T}×${D}→${V} (lm head)`, M: B * T, N: V, K: D, transB: true },
      ];
      if (!options.quick) shapes.push({ label: `${B * T}×${F}→${D} (down)`, M: B * T, N: D, K: F, transB: true });
      for (const shape of shapes) {
        const flops = matmulFlops(shape.M, shape.N, shape.K);
        const gflops = (t: Timing) => flops / (t.medianMs * 1e6);
        log(`matmul ${shape.label}${shape.transB ? ' (B stored [N, K] as a linear weight)' : ''}`);
        const times = await race([
          ...await Promise.all(MATMUL_VARIANTS.map((variant) => prepare(`ours ${variant}`, () => oursMatmul(ctx, shape, variant)))),
          await prepare(TFJS, () => tfjsMatmul(shape)),
          await prepare(ORT, () => ortMatmul(shape)),
        ], kernelTiming);
        const ours = new Map<MatmulVariant, Timing>();
        for (const variant of MATMUL_VARIANTS) {
          const t = times.get(`ours ${variant}`);
          if (!t) continue;
          ours.set(variant, t);
          report.details[`matmul ${shape.label} ours ${variant} GFLOP/s`] = gflops(t);
          bestMatmulGflops = Math.max(bestMatmulGflops, gflops(t));
        }
        const push = (variant: MatmulVariant, refName: string) => {
          const t = ours.get(variant), ref = times.get(refName);
          if (!t || !ref) return;
          const which = variant === tuned.matmul ? `chosen: ${variant}` : variant;
          report.results.push(row(`matmul ${shape.label} (${which})`, gflops(t), gflops(ref), refName, 'GFLOP/s',
            { oursMs: t.medianMs, referenceMs: ref.medianMs }));
        };
        push(tuned.matmul, TFJS);
        for (const variant of MATMUL_VARIANTS) if (variant !== tuned.matmul) push(variant, TFJS);
        push(tuned.matmul, ORT);
      }
      report.details.bestMatmulGflops = bestMatmulGflops;
    }

    // ---- attention forward + backward ----
    if (sections.has('attention')) {
      const flops = attentionFlops(B, T, H, hd);
      const total = flops.forward + flops.backward;
      log(`attention fwd+bwd B${B} T${T} H${H}×${hd}`);
      const times = await race([
        await prepare('ours', () => oursAttention(ctx, { R: 1, B, T, H, headDim: hd })),
        await prepare(TFJS, () => tfjsAttention(B, T, H, hd)),
      ], kernelTiming);
      const ours = times.get('ours'), ref = times.get(TFJS);
      if (ours && ref) {
        report.results.push(row(`causal attention fwd+bwd B${B} T${T} H${H}×${hd}`, total / (ours.medianMs * 1e6),
          total / (ref.medianMs * 1e6), TFJS, 'GFLOP/s', { oursMs: ours.medianMs, referenceMs: ref.medianMs }));
      }
    }

    // ---- full training step ----
    if (sections.has('step')) {
      const layout = parameterLayout(cfg);
      const task = createTask(study.task, study.taskOptions);
      const rng = new Rng(1234);
      const tokens = task.trainingBatch(rng, B, T);
      const mask = new Uint32Array(B * T);
      // The MEAP arm of the preset (its largest mask ratio), so the masked-embedding path is part of the step.
      fillMask(mask, B, T, { ratio: Math.max(...study.arms), sharedAcrossBatch: false }, rng);
      const o = study.optimizer;
      const setup: ModelStepSetup = {
        config: cfg, B, params: initParameters(cfg, layout, 42), tokens, mask,
        optimizer: { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm },
      };
      const flopsPerStep = modelFlopsPerStep(cfg, B);
      report.details.modelFlopsPerStep = flopsPerStep;
      const tokensPerStep = B * T;
      log(`training step ${presetName} (R=1, B=${B}, T=${T}; ${(flopsPerStep / 1e9).toFixed(2)} GFLOP of model FLOPs)`);

      const oursModel = await prepare('ours', () => oursModelStep(ctx, setup)) as (Awaited<ReturnType<typeof oursModelStep>> & { label: string }) | undefined;
      const refModel = await prepare(TFJS, () => tfjsModelStep(setup)) as (ReturnType<typeof tfjsModelStep> & { label: string }) | undefined;
      // Same math first (and the warm-up of both): two steps from the same weights on the same batch.
      let warmedUp = false;
      if (oursModel && refModel) {
        try {
          for (const [step, tolerance] of [[1, 1e-4], [2, 1e-3]] as const) {
            const a = await oursModel.step(), b = await refModel.step();
            const absDiff = Math.abs(a - b);
            const check: BenchCheck = { name: `loss at step ${step}`, ours: a, reference: b, absDiff, tolerance, pass: absDiff <= tolerance };
            report.checks.push(check);
            log(`  same math, ${check.name}: ours ${a.toFixed(6)}, reference ${b.toFixed(6)} ${check.pass ? 'ok' : 'MISMATCH'}`);
          }
          warmedUp = true;
        } catch (error) {
          fail('same-math check', error);
        }
      }
      // The study as the page trains it: all arms as R runs of one model, fresh batches every step.
      const studyStep = await oursStudyStep(ctx, study);
      const R = studyStep.R;
      const studyLabel = `ours (Study, R=${R})`;
      // Warm the study up here so that stepTiming's warm-up count can be 0 for all three.
      await studyStep.run(1);
      if (!warmedUp) {
        await oursModel?.run(1);
        await refModel?.run(1);
      }
      const times = await race([oursModel, refModel, Object.assign(studyStep, { label: studyLabel })], stepTiming);
      const ours = times.get('ours'), ref = times.get(TFJS), studyTime = times.get(studyLabel);
      const tokensPerSecond = (t: Timing, runs = 1) => (runs * tokensPerStep) / (t.medianMs / 1000);
      if (ours) report.details['step ours GFLOP/s'] = flopsPerStep / (ours.medianMs * 1e6);
      if (ours && ref) {
        report.results.push(row(`training step ${presetName} R=1 B=${B} (fwd+bwd+AdamW)`, tokensPerSecond(ours), tokensPerSecond(ref),
          TFJS, 'tokens/s', { oursMs: ours.medianMs, referenceMs: ref.medianMs }));
      }
      if (studyTime && ref) {
        report.results.push(row(`training tokens/s, ${presetName} study (R=${R} runs per step)`, tokensPerSecond(studyTime, R),
          tokensPerSecond(ref), TFJS, 'tokens/s', { oursMs: studyTime.medianMs, referenceMs: ref.medianMs,
            note: 'the reference trains one model per step' }));
      }
      if (ours && bestMatmulGflops > 0) {
        const mfu = (t: Timing) => (100 * flopsPerStep / (t.medianMs * 1e6)) / bestMatmulGflops;
        report.results.push(row(`MFU (model FLOP/s ÷ our best matmul, ${bestMatmulGflops.toFixed(2)} GFLOP/s)`, mfu(ours),
          ref ? mfu(ref) : Number.NaN, TFJS, '%', { note: 'both sides divided by our best matmul rate' }));
      }
    }
  } finally {
    // Work dropped by a GPU error would make a time meaningless: every device's errors are reported.
    for (const [who, errors] of [['ours', ctx.uncapturedErrors], ['tfjs-webgpu', tfjsDeviceErrors], ['onnxruntime-web', ortDeviceErrors]] as const) {
      for (const e of new Set(errors)) report.errors.push(`${who} device error: ${e}`);
    }
    ctx.destroy();
  }
  return report;
}

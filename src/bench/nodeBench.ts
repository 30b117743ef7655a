/**
 * The engine alone, measured where it runs (Node on Dawn: `npm run bench:node` and the GPU kit's run.sh):
 * every matmul variant × tile configuration at a few shapes, and training tokens/s and MFU of a preset's
 * study at several run counts R under every row-reduction variant. No reference library takes part (the
 * browser benchmark, src/bench/run.ts, does that); the variants and tiles are read from the kernel modules,
 * so a variant added there is measured here without an edit.
 */
import { hasSubgroups, type AdapterReport, type GpuContext, type MatmulTiles } from '../gpu/context';
import { BufferArena } from '../gpu/arena';
import { encodeDispatches } from '../gpu/dispatch';
import { matmul, MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, type MatmulVariant } from '../kernels/matmul';
import { ROWS_VARIANTS, type RowsVariant } from '../tuning/decision';
import { Study } from '../engine/gpuStudy';
import { preset, type StudyConfig } from '../config/presets';
import { randomFloats } from '../util/random';
import { matmulFlops, modelFlopsPerStep } from './flops';
import { timeInterleaved, type TimingOptions } from './timing';

export interface NodeBenchOptions {
  quick: boolean;
  /** Preset of the training section and of the model-shaped matmuls (default: needle-s, or tiny with quick). */
  preset?: string;
  /** Run counts R of the training section (default 1, 16, 64; quick: 1, 2). */
  runs?: number[];
}

export interface MatmulResult {
  shape: string;
  M: number;
  N: number;
  K: number;
  transB: boolean;
  variant: MatmulVariant;
  tiles: MatmulTiles;
  ms: number;
  gflops: number;
}

export interface TrainingResult {
  R: number;
  arms: number[];
  seedsPerArm: number;
  rows: RowsVariant;
  /** The row kernels that have a 'subgroup' variant (RMSNorm, attention) use it (only on devices with 'subgroups'). */
  subgroupRows: boolean;
  matmul: MatmulVariant;
  tiles: MatmulTiles;
  stepMs: number;
  tokensPerSec: number;
  /** Model FLOP/s of all R runs ÷ the best matmul rate measured here (the browser benchmark's convention), in %. */
  mfuPercent: number;
  /** The twin's tokens/s on the same config and its ratio engine / twin (`--twin` only). */
  twin?: { tokensPerSec: number; ratio: number; device: string; torch: string };
}

export interface NodeBenchReport {
  adapter: AdapterReport;
  date: string;
  quick: boolean;
  preset: string;
  batch: number;
  context: number;
  modelFlopsPerRunStep: number;
  bestMatmulGflops: number;
  matmul: MatmulResult[];
  training: TrainingResult[];
  errors: string[];
}

export const FULL_RUNS = [1, 16, 64];
export const QUICK_RUNS = [1, 2];

/** Every tile configuration of every variant: what `matmul()` may build with on any adapter. */
export function matmulConfigurations(): { variant: MatmulVariant; tiles: MatmulTiles }[] {
  return MATMUL_VARIANTS.flatMap((variant) =>
    [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]].map((tiles) => ({ variant, tiles })));
}

/**
 * The study config with R runs: the preset's arms × R / arms seeds when the arms divide R (so NTP and MEAP
 * runs share the step, as in a study), otherwise R seeds of the first arm (R = 1: one NTP run).
 */
export function configWithRuns(base: StudyConfig, R: number): StudyConfig {
  const arms = R % base.arms.length === 0 ? [...base.arms] : [base.arms[0]];
  // Steps far beyond the timing, so the schedule never ends a run inside it.
  return { ...structuredClone(base), arms, seedsPerArm: R / arms.length, steps: 1_000_000 };
}

export interface MatmulShapeSpec { label: string; M: number; N: number; K: number; transB: boolean }

export function benchShapes(config: StudyConfig, quick: boolean): MatmulShapeSpec[] {
  const m = config.model;
  const rows = config.batch * m.context;
  const cubes = quick ? [128, 256] : [512, 2048];
  return [
    ...cubes.map((n) => ({ label: `${n}³`, M: n, N: n, K: n, transB: false })),
    { label: `${rows}×${m.dModel}→${m.dModel} (q/k/v/o)`, M: rows, N: m.dModel, K: m.dModel, transB: true },
    { label: `${rows}×${m.dModel}→${m.dFF} (gate/up)`, M: rows, N: m.dFF, K: m.dModel, transB: true },
    { label: `${rows}×${m.dFF}→${m.dModel} (down)`, M: rows, N: m.dModel, K: m.dFF, transB: true },
    { label: `${rows}×${m.dModel}→${m.vocabSize} (lm head)`, M: rows, N: m.vocabSize, K: m.dModel, transB: true },
  ];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

/** Runs the whole benchmark on `ctx` (its preferences are changed for the training section and restored). */
export async function runNodeBench(ctx: GpuContext, options: NodeBenchOptions, log: (line: string) => void = () => {}): Promise<NodeBenchReport> {
  const presetName = options.preset ?? (options.quick ? 'tiny' : 'needle-s');
  const base = preset(presetName);
  // On a GPU a 512³ matmul takes tens of µs: thousands per repetition keep the submit-and-wait overhead out of the rate.
  const kernelTiming: TimingOptions = options.quick ? { warmup: 1, repetitions: 2, targetMs: 30, maxIterations: 20 } : { warmup: 2, repetitions: 5, targetMs: 300, maxIterations: 5000 };
  const stepTiming: TimingOptions = options.quick ? { warmup: 1, repetitions: 2, targetMs: 50, maxIterations: 10 } : { warmup: 2, repetitions: 5, targetMs: 500, maxIterations: 2000 };
  const report: NodeBenchReport = {
    adapter: ctx.adapter, date: new Date().toISOString(), quick: options.quick, preset: presetName,
    batch: base.batch, context: base.model.context, modelFlopsPerRunStep: modelFlopsPerStep(base.model, base.batch),
    bestMatmulGflops: 0, matmul: [], training: [], errors: [],
  };
  const fail = (what: string, error: unknown) => {
    report.errors.push(`${what}: ${describe(error)}`);
    log(`  error: ${what}: ${describe(error)}`);
  };

  // ---- matmul: every variant × tile configuration at every shape ----
  const configurations = matmulConfigurations();
  for (const shape of benchShapes(base, options.quick)) {
    log(`matmul ${shape.label}`);
    const arena = new BufferArena(ctx.device);
    const sctx: GpuContext = { ...ctx, arena };
    try {
      const a = arena.upload('bench.a', randomFloats(1, shape.M * shape.K));
      const b = arena.upload('bench.b', randomFloats(2, shape.K * shape.N));
      const c = arena.buffer('bench.c', 4 * shape.M * shape.N);
      const contestants = [];
      for (const { variant, tiles } of configurations) {
        const label = `${variant} ${tiles.workgroupX}×${tiles.workgroupY}${variant !== 'blocked' ? ` k${tiles.tileK}` : ''}`;
        try {
          const dispatch = await matmul(sctx, { a, b, c, R: 1, M: shape.M, N: shape.N, K: shape.K, transB: shape.transB, variant, tiles });
          contestants.push({ label, variant, tiles, async run(iterations: number) {
            const encoder = ctx.device.createCommandEncoder({ label: 'bench.matmul' });
            for (let i = 0; i < iterations; i++) encodeDispatches(sctx, encoder, [dispatch], 'bench.matmul');
            ctx.device.queue.submit([encoder.finish()]);
            await ctx.device.queue.onSubmittedWorkDone();
          } });
        } catch (error) {
          fail(`matmul ${shape.label} ${label}`, error);
        }
      }
      const times = await timeInterleaved(contestants, kernelTiming);
      for (const c of contestants) {
        const t = times.get(c.label);
        if (!t || t instanceof Error) {
          fail(`matmul ${shape.label} ${c.label}`, t);
          continue;
        }
        const gflops = matmulFlops(shape.M, shape.N, shape.K) / (t.medianMs * 1e6);
        report.matmul.push({ shape: shape.label, M: shape.M, N: shape.N, K: shape.K, transB: shape.transB, variant: c.variant, tiles: c.tiles, ms: t.medianMs, gflops });
        report.bestMatmulGflops = Math.max(report.bestMatmulGflops, gflops);
        log(`  ${c.label}: ${gflops.toFixed(2)} GFLOP/s (${t.medianMs.toFixed(2)} ms)`);
      }
    } finally {
      arena.destroyAll();
    }
  }

  // ---- training: the fastest configuration on the model's own shapes, every rows variant (with and without the
  // subgroup row kernels where the device has them), every R ----
  const best = fastestOnModelShapes(report.matmul);
  const saved = ctx.preferences;
  const rowConfigurations = ROWS_VARIANTS.flatMap((rows) => [false, ...(hasSubgroups(ctx) ? [true] : [])].map((subgroupRows) => ({ rows, subgroupRows })));
  try {
    for (const R of options.runs ?? (options.quick ? QUICK_RUNS : FULL_RUNS)) {
      const config = configWithRuns(base, R);
      for (const { rows, subgroupRows } of rowConfigurations) {
        ctx.preferences = { ...saved, rows, subgroupRows, matmul: best.variant, matmulTiles: { ...saved.matmulTiles, [best.variant]: best.tiles } };
        log(`training ${presetName} R=${R} (${config.arms.length} arm(s) × ${config.seedsPerArm} seed(s)), rows=${rows}${subgroupRows ? ' + subgroup' : ''}, matmul=${best.variant}`);
        let study: Study | undefined;
        // Its own arena: a study's staging buffers are freed with it, not kept for the rest of the run.
        const arena = new BufferArena(ctx.device);
        try {
          study = await Study.create({ ...ctx, arena }, config);
          const s = study;
          const label = `R=${R} ${rows}${subgroupRows ? ' subgroup' : ''}`;
          const times = await timeInterleaved([{ label, async run(n: number) {
            for (let i = 0; i < n; i++) s.trainStep();
            await s.flush();
          } }], stepTiming);
          const t = times.get(label);
          if (!t || t instanceof Error) throw t ?? new Error('no timing');
          const tokensPerSec = (R * config.batch * config.model.context) / (t.medianMs / 1000);
          const modelGflops = (R * report.modelFlopsPerRunStep) / (t.medianMs * 1e6);
          const mfuPercent = report.bestMatmulGflops > 0 ? (100 * modelGflops) / report.bestMatmulGflops : Number.NaN;
          report.training.push({ R, arms: config.arms, seedsPerArm: config.seedsPerArm, rows, subgroupRows, matmul: best.variant, tiles: best.tiles,
            stepMs: t.medianMs, tokensPerSec, mfuPercent });
          log(`  ${t.medianMs.toFixed(1)} ms per step, ${Math.round(tokensPerSec)} tokens/s, MFU ${mfuPercent.toFixed(1)} %`);
        } catch (error) {
          fail(`training R=${R} rows=${rows}${subgroupRows ? ' + subgroup' : ''}`, error);
        } finally {
          study?.dispose();
          arena.destroyAll();
        }
      }
    }
  } finally {
    ctx.preferences = saved;
  }
  for (const e of new Set(ctx.uncapturedErrors)) report.errors.push(`device error: ${e}`);
  return report;
}

/** The configuration with the least total time over the model-shaped matmuls (the cubes are not the model's work). */
function fastestOnModelShapes(results: MatmulResult[]): { variant: MatmulVariant; tiles: MatmulTiles } {
  const model = results.filter((r) => r.transB);
  const totals = new Map<string, { variant: MatmulVariant; tiles: MatmulTiles; ms: number; shapes: number }>();
  for (const r of model) {
    const key = `${r.variant} ${JSON.stringify(r.tiles)}`;
    const entry = totals.get(key) ?? { variant: r.variant, tiles: r.tiles, ms: 0, shapes: 0 };
    entry.ms += r.ms;
    entry.shapes++;
    totals.set(key, entry);
  }
  const shapes = Math.max(0, ...[...totals.values()].map((e) => e.shapes));
  // Only configurations measured at every model shape compete (one that failed somewhere is not a choice).
  const complete = [...totals.values()].filter((e) => e.shapes === shapes).sort((x, y) => x.ms - y.ms);
  return complete[0] ?? { variant: MATMUL_VARIANTS[0], tiles: MATMUL_DEFAULT_TILES[MATMUL_VARIANTS[0]] };
}

/**
 * Kernel selection by measurement. Where several kernels compute the same thing (register-blocked vs
 * shared-memory tiled matmul; one-thread-per-row vs workgroup-per-row row kernels) the fastest one depends
 * on the adapter: software adapters (SwiftShader) pay dearly for workgroup barriers, real GPUs reward
 * them. `autotune` times every variant on small representative shapes of the training step, picks the
 * fastest, sets `ctx.preferences` (which every builder reads) and caches the choice per adapter.
 *
 *   const tuned = await autotune(ctx);               // measures once per adapter, then served from the cache
 *   tuned.matmul, tuned.rows, tuned.measurements     // what was chosen, and why
 *
 * Where the device has 'subgroups', the row kernels that have a 'subgroup' variant (RMSNorm, attention) are
 * then timed with the winning row variant and with 'subgroup'; `subgroupRows` is set when subgroup is
 * clearly faster (builders ignore it without the feature).
 *
 * Timing: GPU timestamps around each compute pass when the device has 'timestamp-query' (the kernel set
 * is encoded several times in one pass), else wall time around submit → onSubmittedWorkDone. The
 * adapter's guessed variants run first; a candidate whose cold first run is far slower than the best so
 * far is decided at once (on SwiftShader the workgroup row kernels are ~50× slower: no point repeating
 * them); the others get a warm-up and three samples, and the median counts. A variant replaces the
 * current preference only when clearly faster (KEEP_MARGIN). Each variant is first timed
 * at its default tiles; then other tested tile configurations (MATMUL_EXTRA_TILES) of the variants still
 * in the race are timed too: always with `{ tiles: true }`, never with `{ tiles: false }`, and by default
 * ('auto', what start-up uses) only where the default-tile timings say it is cheap (TILE_BUDGET_MS). The
 * fastest configuration measured decides the matmul variant, and each variant whose tiles were compared
 * gets its fastest tiles applied (`ctx.preferences.matmulTiles`, reported in `bestTiles`).
 *
 * Cache: key = vendor/architecture/device/description of the adapter (+ a version of this procedure).
 * Entries written before tile choices existed (no `matmulTiles`) still load and keep the default tiles;
 * a cached tile choice that is not one of the tested configurations is dropped on reading.
 * Default store: localStorage where it exists (a page), IndexedDB in a Worker (same origin: survives page
 * reloads), else an in-memory map for the process (Node). A Worker can also be handed a result measured
 * elsewhere with `memoryAutotuneCache([result])`.
 *
 * Must run before any model is built (builders read ctx.preferences when they build). Measuring creates
 * its own buffers in a private arena and frees them; compiled pipelines stay in ctx.registry (the chosen
 * variants' pipelines are then already compiled for the model).
 *
 * The parts: cache.ts (per-adapter choices), timing.ts (the clocks), workloads.ts (the kernels timed),
 * decision.ts (the race's rules and the choice); this file runs the race and applies the choice.
 */
import { BufferArena } from '../gpu/arena';
import type { GpuContext } from '../gpu/context';
import { MATMUL_VARIANTS, type MatmulVariant } from '../kernels/matmul';
import { adapterKey, defaultAutotuneCache, parseAutotuneResult, type AutotuneCache } from './cache';
import {
  decide, isClearLoser, preferencesOf, variantsWorthTiling, type AutotuneMeasurement, type AutotuneResult,
} from './decision';
import {
  MAX_REPEAT, median, plausible, SAMPLES, sampleMs, TARGET_SAMPLE_MS, timestampTimer, wallTimer, withValidation,
  type Sample,
} from './timing';
import { buildCandidates, describeCandidate, tilesText, type Candidate } from './workloads';

// Callers import autotune's whole API from here.
export {
  adapterKey, AUTOTUNE_VERSION, defaultAutotuneCache, indexedDbAutotuneCache, memoryAutotuneCache,
  parseAutotuneResult, storageAutotuneCache, type AutotuneCache,
} from './cache';
export {
  appliedNonDefaultTiles, decide, KEEP_MARGIN, kernelChoiceReport, preferencesOf, TILE_BUDGET_MS, variantsWorthTiling,
  type AutotuneKernel, type AutotuneMeasurement, type AutotuneResult, type KernelChoiceReport, type RowsVariant,
} from './decision';

export interface AutotuneOptions {
  /** Where choices are remembered; default `defaultAutotuneCache()`; `false` measures every time and stores nothing. */
  cache?: AutotuneCache | false;
  /** Leave ctx.preferences alone (only report). Default false: the choice is applied. */
  dryRun?: boolean;
  /** Progress lines (for a CLI or a panel). */
  log?: (line: string) => void;
  /**
   * Also time the other tested tile configurations (MATMUL_EXTRA_TILES) of each matmul variant still in
   * the race, and apply the fastest per variant. true: all of them (the bench); false: defaults only;
   * 'auto' (default, start-up): only while their cost, estimated from the default-tile timings, fits
   * TILE_BUDGET_MS (see there).
   */
  tiles?: boolean | 'auto';
}

/**
 * Measures the kernel variants on this device (or takes the cached choice for this adapter), sets
 * ctx.preferences to the fastest, and returns the choice with its measurements.
 */
export async function autotune(ctx: GpuContext, options: AutotuneOptions = {}): Promise<AutotuneResult> {
  const cache = options.cache === false ? undefined : (options.cache ?? defaultAutotuneCache());
  const key = adapterKey(ctx.adapter);
  // Checked again whatever the store: an in-memory cache may hold a result handed over from elsewhere.
  const cached = parseAutotuneResult(await cache?.get(key));
  if (cached) {
    const result = { ...cached, fromCache: true };
    if (!options.dryRun) ctx.preferences = preferencesOf(result);
    return result;
  }
  const result = await measure(ctx, key, options.log ?? (() => {}), options.tiles ?? 'auto');
  if (!options.dryRun) ctx.preferences = preferencesOf(result);
  // A choice that measured nothing is not remembered: a later start may measure properly.
  if (result.method !== 'default') await cache?.set(key, result);
  return result;
}

/** Times every candidate (the race), then lets decision.ts choose. */
async function measure(
  ctx: GpuContext, key: string, log: (line: string) => void, tiles: NonNullable<AutotuneOptions['tiles']>,
): Promise<AutotuneResult> {
  const started = performance.now();
  const arena = new BufferArena(ctx.device);
  // A private view of the context: the kernels' parameter uniforms go to our arena, freed at the end.
  const tctx: GpuContext = { ...ctx, arena, profiler: undefined };
  const timer = ctx.hasTimestampQuery ? timestampTimer(ctx.device) : wallTimer(ctx.device);
  const failed: AutotuneMeasurement[] = [];
  const raced: { candidate: Candidate; samples: Sample[]; repeat: number }[] = [];
  const best = { matmul: Infinity, rows: Infinity, subgroupRows: Infinity };
  const decidedEarly = new Set<string>();
  // Default-tile matmul timings of the variants still in the race (what the 'auto' tile rule reads).
  const inRace: { variant: MatmulVariant; milliseconds: number; repeat: number }[] = [];

  const run = async (candidate: Candidate) => {
    try {
      const dispatches = await withValidation(ctx.device, () => candidate.build(tctx));
      const cold = await withValidation(ctx.device, () => timer.time(dispatches, 1));
      if (isClearLoser(sampleMs(cold), best[candidate.kernel])) {
        raced.push({ candidate, samples: [cold], repeat: 1 });
        decidedEarly.add(`${candidate.kernel}:${candidate.variant}`);
        return;
      }
      const t0 = sampleMs(await timer.time(dispatches, 1));
      const repeat = Math.max(1, Math.min(MAX_REPEAT, Math.ceil(TARGET_SAMPLE_MS / Math.max(t0, 1e-3))));
      const samples: Sample[] = [];
      for (let i = 0; i < SAMPLES; i++) samples.push(await timer.time(dispatches, repeat));
      raced.push({ candidate, samples, repeat });
      const milliseconds = median(samples.map((x) => sampleMs(x) / repeat));
      best[candidate.kernel] = Math.min(best[candidate.kernel], milliseconds);
      if (candidate.kernel === 'matmul' && candidate.defaultTiles) {
        inRace.push({ variant: candidate.variant as MatmulVariant, milliseconds, repeat });
      }
    } catch (error) {
      failed.push({ ...describeCandidate(candidate), milliseconds: Infinity, samples: 0, error: (error as Error).message });
      log(`autotune: ${candidate.kernel} ${candidate.variant} failed: ${(error as Error).message}`);
    }
  };

  try {
    const candidates = buildCandidates(ctx.device, arena);
    // The adapter's guess first, so that a clear loser is recognised on its first run.
    const guess = ctx.preferences;
    const guessed = (c: Candidate) => Number(c.kernel !== 'subgroupRows' && c.variant === guess[c.kernel]);
    const guessedFirst = (a: Candidate, b: Candidate) => guessed(b) - guessed(a);
    const main = candidates.filter((c) => c.defaultTiles !== false && c.kernel !== 'subgroupRows').sort(guessedFirst);
    for (const candidate of main) await run(candidate);
    // Other tile configurations only for matmul variants still in the race (and, for 'auto', cheap).
    const tiling = tiles === 'auto' ? variantsWorthTiling(inRace)
      : tiles ? MATMUL_VARIANTS.filter((v) => !decidedEarly.has(`matmul:${v}`)) : [];
    if (tiles === 'auto' && tiling.length < inRace.length) {
      log(`autotune: other tile sizes skipped for ${inRace.filter((t) => !tiling.includes(t.variant)).map((t) => t.variant).join(', ')} (too slow to time here)`);
    }
    for (const candidate of candidates.filter((c) => c.defaultTiles === false)) {
      if (tiling.includes(candidate.variant as MatmulVariant)) await run(candidate);
    }
    // The subgroup row kernels (candidates exist only on devices with 'subgroups') against the same kernels
    // with the row variant that won, timed first so that a clearly slower subgroup run is decided at once.
    const rowsWinner = fastestRaced(raced, 'rows');
    if (rowsWinner !== undefined) {
      for (const variant of [rowsWinner, 'subgroup']) {
        const candidate = candidates.find((c) => c.kernel === 'subgroupRows' && c.variant === variant);
        if (candidate) await run(candidate);
      }
    }
  } finally {
    timer.destroy();
    arena.destroyAll();
  }
  // GPU timestamps only if every sample had a plausible one: never mix the two clocks.
  const all = raced.flatMap((r) => r.samples);
  const method = ctx.hasTimestampQuery && all.length > 0 && all.every(plausible) ? 'timestamp' : 'wall';
  const measurements = [...failed];
  for (const { candidate, samples, repeat } of raced) {
    const milliseconds = median(samples.map((x) => (method === 'timestamp' ? x.gpu! : x.wall) / repeat));
    measurements.push({ ...describeCandidate(candidate), milliseconds, samples: samples.length });
    log(`autotune: ${candidate.kernel} ${candidate.variant}${candidate.tiles ? ` ${tilesText(candidate.tiles)}` : ''}: ` +
      `${milliseconds.toFixed(3)} ms (${method}${samples.length === 1 ? ', one cold run: clearly slower' : ''})`);
  }
  return decide(ctx, key, measurements, method, performance.now() - started);
}

/** The variant of `kernel` with the lowest median wall time per repetition so far (what the race has seen). */
function fastestRaced(raced: { candidate: Candidate; samples: Sample[]; repeat: number }[], kernel: Candidate['kernel']): string | undefined {
  let best: { variant: string; ms: number } | undefined;
  for (const { candidate, samples, repeat } of raced) {
    if (candidate.kernel !== kernel) continue;
    const ms = median(samples.map((x) => sampleMs(x) / repeat));
    if (!best || ms < best.ms) best = { variant: candidate.variant, ms };
  }
  return best?.variant;
}

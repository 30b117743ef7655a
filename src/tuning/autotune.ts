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
 * Timing: GPU timestamps around each compute pass when the device has 'timestamp-query' (the kernel set
 * is encoded several times in one pass), else wall time around submit → onSubmittedWorkDone. The
 * adapter's guessed variants run first; a candidate whose cold first run is far slower than the best so
 * far is decided at once (on SwiftShader the workgroup row kernels are ~50× slower: no point repeating
 * them); the others get a warm-up and three samples, and the median counts. Each variant is first timed
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
 */
import { BufferArena } from '../gpu/arena';
import type { GpuContext, KernelPreferences, MatmulTiles, AdapterReport } from '../gpu/context';
import type { Dispatch } from '../gpu/dispatch';
import {
  isTestedMatmulTiles, MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, matmul, type MatmulVariant,
} from '../kernels/matmul';
import { rmsnormBackwardInput, rmsnormForward } from '../kernels/rmsnorm';
import { attentionBackward, attentionForward, type AttentionShape } from '../kernels/attention';
import { crossEntropyMean, crossEntropyRows } from '../kernels/crossEntropy';
import { embeddingBackward, embeddingBackwardScratchWords } from '../kernels/embedding';

/**
 * Bump when the measured kernels or the procedure change: older cached choices are then ignored. (Not
 * bumped for tile choices: an older entry without them is still a valid choice of variants.)
 */
export const AUTOTUNE_VERSION = 1;

export type RowsVariant = KernelPreferences['rows'];
const ROWS_VARIANTS: readonly RowsVariant[] = ['serial', 'workgroup'];

export interface AutotuneMeasurement {
  /** Which preference this candidate competes for. */
  kernel: 'matmul' | 'rows';
  variant: string;
  /** Matmul candidates: the tile configuration (override constants) measured. */
  tiles?: MatmulTiles;
  /** True for the configuration the builders use by default (the one the variant's choice rests on). */
  defaultTiles?: boolean;
  /** What one repetition runs, e.g. "linear 512×64→176 fwd+bwd (3 matmuls)". */
  workload: string;
  /** Median time of one repetition of the workload (ms); Infinity when the candidate failed. */
  milliseconds: number;
  samples: number;
  /** Why the candidate could not run (compile or validation error), if it could not. */
  error?: string;
}

export interface AutotuneResult extends KernelPreferences {
  measurements: AutotuneMeasurement[];
  /** The adapter key the result is cached under. */
  key: string;
  /** How times were taken; 'default' when nothing could be measured and the adapter's guess was kept. */
  method: 'timestamp' | 'wall' | 'default';
  /**
   * Fastest tile configuration measured per matmul variant. Where other configurations were timed for a
   * variant, this is also its entry in `matmulTiles` (applied); elsewhere it is its default.
   */
  bestTiles: Partial<Record<MatmulVariant, MatmulTiles>>;
  /** Wall time the measurement took (ms). */
  tuningMilliseconds: number;
  measuredAt: string;
  /** True when this result came from the cache rather than from a measurement now. */
  fromCache: boolean;
}

/** Where choices are remembered. Either method may be asynchronous (IndexedDB in a Worker). */
export interface AutotuneCache {
  get(key: string): AutotuneResult | undefined | Promise<AutotuneResult | undefined>;
  set(key: string, result: AutotuneResult): void | Promise<void>;
}

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

/** Cache key of an adapter: what identifies the hardware and driver, plus the procedure's version. */
export function adapterKey(adapter: Pick<AdapterReport, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return `meap-autotune-v${AUTOTUNE_VERSION}:${adapter.vendor}/${adapter.architecture}/${adapter.device}/${adapter.description}`;
}

/** Checks a result read from storage (it may be stale or hand-edited); undefined when unusable. */
export function parseAutotuneResult(value: unknown): AutotuneResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Partial<AutotuneResult>;
  if (!(MATMUL_VARIANTS as readonly unknown[]).includes(v.matmul) || !(ROWS_VARIANTS as readonly unknown[]).includes(v.rows)) return undefined;
  if (!Array.isArray(v.measurements) || typeof v.key !== 'string') return undefined;
  const result: AutotuneResult = { ...(v as AutotuneResult), bestTiles: v.bestTiles ?? {} };
  delete result.matmulTiles;
  const matmulTiles = testedTilesOf(v.matmulTiles);
  if (matmulTiles) result.matmulTiles = matmulTiles;
  return result;
}

/** The per-variant tile choices in `value` that are tested configurations; undefined when none is. */
function testedTilesOf(value: unknown): KernelPreferences['matmulTiles'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const tiles: NonNullable<KernelPreferences['matmulTiles']> = {};
  for (const variant of MATMUL_VARIANTS) {
    const t = (value as Record<string, unknown>)[variant] as MatmulTiles | undefined;
    if (typeof t === 'object' && t !== null && isTestedMatmulTiles(variant, t)) {
      tiles[variant] = { workgroupX: t.workgroupX, workgroupY: t.workgroupY, tileK: t.tileK };
    }
  }
  return Object.keys(tiles).length > 0 ? tiles : undefined;
}

/** An in-memory cache, optionally seeded (e.g. a Worker handed a result the page had stored). */
export function memoryAutotuneCache(initial: readonly AutotuneResult[] = []): AutotuneCache {
  const map = new Map<string, AutotuneResult>(initial.map((r) => [r.key, r]));
  return {
    get: (key) => map.get(key),
    set: (key, result) => { map.set(key, result); },
  };
}

/** A cache in a Web Storage object (localStorage); unreadable or invalid entries count as missing. */
export function storageAutotuneCache(storage: Pick<Storage, 'getItem' | 'setItem'>): AutotuneCache {
  return {
    get(key) {
      try {
        const text = storage.getItem(key);
        return text === null ? undefined : parseAutotuneResult(JSON.parse(text, (k, x) => (k === 'milliseconds' && x === null ? Infinity : x)));
      } catch {
        return undefined;
      }
    },
    set(key, result) {
      try {
        storage.setItem(key, JSON.stringify(result));
      } catch {
        // Storage full or disabled (private mode): the choice is simply measured again next time.
      }
    },
  };
}

/**
 * A cache in IndexedDB (what a Worker has instead of localStorage; same origin as the page, so it
 * survives reloads). Any failure (blocked, private mode, quota) reads as "not cached" and writes nothing.
 */
export function indexedDbAutotuneCache(factory: IDBFactory, database = 'meap-autotune'): AutotuneCache {
  const STORE = 'choices';
  let db: Promise<IDBDatabase | undefined> | undefined;
  const open = () => db ??= new Promise<IDBDatabase | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 2000);
    const done = (value: IDBDatabase | undefined) => {
      clearTimeout(timer);
      resolve(value);
    };
    try {
      const request = factory.open(database, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => done(request.result);
      request.onerror = () => done(undefined);
      request.onblocked = () => done(undefined);
    } catch {
      done(undefined);
    }
  });
  const run = async <T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> => {
    const handle = await open();
    if (!handle) return undefined;
    return new Promise<T | undefined>((resolve) => {
      try {
        const request = fn(handle.transaction(STORE, mode).objectStore(STORE));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(undefined);
      } catch {
        resolve(undefined);
      }
    });
  };
  return {
    get: async (key) => parseAutotuneResult(await run('readonly', (store) => store.get(key))),
    set: async (key, result) => {
      await run('readwrite', (store) => store.put(result, key));
    },
  };
}

const processCache = memoryAutotuneCache();
let workerCache: AutotuneCache | undefined;

/**
 * localStorage in a page; IndexedDB where there is no localStorage but IndexedDB exists (a Worker);
 * else one in-memory map for this process (Node).
 */
export function defaultAutotuneCache(): AutotuneCache {
  const scope = globalThis as { localStorage?: Storage; indexedDB?: IDBFactory };
  try {
    if (scope.localStorage) {
      scope.localStorage.getItem('meap-autotune-probe');
      return storageAutotuneCache(scope.localStorage);
    }
  } catch {
    // localStorage access can throw (opaque origins, disabled storage): fall through.
  }
  if (scope.indexedDB) return workerCache ??= layered(processCache, indexedDbAutotuneCache(scope.indexedDB));
  return processCache;
}

/** Reads the fast cache first, then the slow one; writes both. */
function layered(fast: AutotuneCache, slow: AutotuneCache): AutotuneCache {
  return {
    async get(key) {
      const hit = await fast.get(key);
      if (hit) return hit;
      const stored = await slow.get(key);
      if (stored) await fast.set(key, stored);
      return stored;
    },
    async set(key, result) {
      await fast.set(key, result);
      await slow.set(key, result);
    },
  };
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

// ---------------------------------------------------------------------------------------------------------

interface Candidate {
  kernel: 'matmul' | 'rows';
  variant: string;
  tiles?: MatmulTiles;
  defaultTiles?: boolean;
  workload: string;
  build(tctx: GpuContext): Promise<Dispatch[]>;
}

interface Sample {
  /** GPU time between the pass's timestamps (ms), when the device has them. */
  gpu?: number;
  /** Wall time from submit to onSubmittedWorkDone (ms). */
  wall: number;
}

interface Timer {
  /** Times `repeat` back-to-back encodings of `dispatches` in one compute pass, one submission. */
  time(dispatches: readonly Dispatch[], repeat: number): Promise<Sample>;
  destroy(): void;
}

/**
 * A candidate whose first (cold) run takes longer than CLEAR_LOSER × the best time of its kind so far
 * plus SLACK_MS is decided at once, without warm samples: on SwiftShader the workgroup row kernels are
 * ~50× slower than the serial ones, and repeating them would make start-up seconds slower. The slack keeps
 * first-use costs (pipeline finalisation) from deciding anything on fast GPUs, where every candidate
 * takes well under a millisecond and all of them get full samples.
 */
const CLEAR_LOSER = 3;
const SLACK_MS = 20;
/** Samples (median) per candidate still in the race. */
const SAMPLES = 3;
/** Aim for at least this much GPU time per sample, by repeating the workload inside one submission. */
const TARGET_SAMPLE_MS = 4;
const MAX_REPEAT = 64;

/**
 * Start-up ('auto') times other tile configurations only where that is cheap, and their cost is known
 * beforehand from the default-tile timing of the same workload: each extra configuration takes a cold
 * run, a warm-up and SAMPLES samples of `repeat` repetitions, ≈ (2 + SAMPLES·repeat) × the default's time
 * (plus a pipeline compile). Variants still in the race are taken fastest first while the estimated
 * total stays within this budget. Measured on SwiftShader (2 shared cores): blocked 8×8 ≈ 28 ms and
 * tiled 16×16 ≈ 58 ms per workload, so blocked's extra configuration (≈ 145 ms) fits and tiled's
 * (≈ 290 ms more) does not; timing both took ≈ 0.45 s more (start-up measurement ≈ 0.9 s → 1.4 s),
 * blocked's alone ≈ 0.15 s. On a real GPU each workload takes well under a millisecond: every
 * configuration is timed, in a few ms.
 */
export const TILE_BUDGET_MS = 250;

/** Which variants' extra tile configurations 'auto' times, given their default-tile timings (see TILE_BUDGET_MS). */
export function variantsWorthTiling(
  timed: readonly { variant: MatmulVariant; milliseconds: number; repeat: number }[], budgetMs = TILE_BUDGET_MS,
): MatmulVariant[] {
  const chosen: MatmulVariant[] = [];
  let total = 0;
  for (const t of [...timed].sort((a, b) => a.milliseconds - b.milliseconds)) {
    const cost = MATMUL_EXTRA_TILES[t.variant].length * (2 + SAMPLES * t.repeat) * t.milliseconds;
    if (!(total + cost <= budgetMs)) break;
    total += cost;
    chosen.push(t.variant);
  }
  return chosen;
}

/** A GPU time that cannot be right (zero, negative, or far beyond the wall time around it). */
function plausible(s: Sample): boolean {
  return s.gpu !== undefined && s.gpu > 0 && s.gpu <= 10 * s.wall + 1;
}

function sampleMs(s: Sample): number {
  return plausible(s) ? s.gpu! : s.wall;
}

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
  const best = { matmul: Infinity, rows: Infinity };
  const decidedEarly = new Set<string>();
  // Default-tile matmul timings of the variants still in the race (what the 'auto' tile rule reads).
  const inRace: { variant: MatmulVariant; milliseconds: number; repeat: number }[] = [];

  const run = async (candidate: Candidate) => {
    try {
      const dispatches = await withValidation(ctx.device, () => candidate.build(tctx));
      const cold = await withValidation(ctx.device, () => timer.time(dispatches, 1));
      if (sampleMs(cold) > CLEAR_LOSER * best[candidate.kernel] + SLACK_MS) {
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
      failed.push({ ...describe(candidate), milliseconds: Infinity, samples: 0, error: (error as Error).message });
      log(`autotune: ${candidate.kernel} ${candidate.variant} failed: ${(error as Error).message}`);
    }
  };

  try {
    const candidates = buildCandidates(ctx.device, arena);
    // The adapter's guess first, so that a clear loser is recognised on its first run.
    const guess = ctx.preferences;
    const guessedFirst = (a: Candidate, b: Candidate) =>
      Number(b.variant === guess[b.kernel]) - Number(a.variant === guess[a.kernel]);
    const main = candidates.filter((c) => c.defaultTiles !== false).sort(guessedFirst);
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
    measurements.push({ ...describe(candidate), milliseconds, samples: samples.length });
    log(`autotune: ${candidate.kernel} ${candidate.variant}${candidate.tiles ? ` ${tilesText(candidate.tiles)}` : ''}: ` +
      `${milliseconds.toFixed(3)} ms (${method}${samples.length === 1 ? ', one cold run: clearly slower' : ''})`);
  }
  return decide(ctx, key, measurements, method, performance.now() - started);
}

/**
 * The choice from the measurements: the matmul variant of the fastest configuration measured (builders
 * use each variant's best tiles, so its best time is what counts), the fastest row variant, and the
 * fastest tiles of every variant whose tile configurations were compared.
 */
export function decide(
  ctx: Pick<GpuContext, 'preferences'>, key: string, measurements: AutotuneMeasurement[],
  method: 'timestamp' | 'wall', tuningMilliseconds: number,
): AutotuneResult {
  const usable = (m: AutotuneMeasurement) => m.milliseconds > 0 && Number.isFinite(m.milliseconds);
  const fastest = <T extends string>(kernel: 'matmul' | 'rows', variants: readonly T[]): T | undefined => {
    let best: { variant: T; ms: number } | undefined;
    for (const m of measurements) {
      if (m.kernel !== kernel || !(variants as readonly string[]).includes(m.variant)) continue;
      if (!usable(m)) continue;
      if (!best || m.milliseconds < best.ms) best = { variant: m.variant as T, ms: m.milliseconds };
    }
    return best?.variant;
  };
  const matmulChoice = fastest('matmul', MATMUL_VARIANTS);
  const rowsChoice = fastest('rows', ROWS_VARIANTS);
  const bestTiles: Partial<Record<MatmulVariant, MatmulTiles>> = {};
  const matmulTiles: Partial<Record<MatmulVariant, MatmulTiles>> = {};
  for (const variant of MATMUL_VARIANTS) {
    const ms = measurements.filter((m) => m.kernel === 'matmul' && m.variant === variant && usable(m) && m.tiles);
    ms.sort((a, b) => a.milliseconds - b.milliseconds);
    if (!ms[0]?.tiles) continue;
    bestTiles[variant] = ms[0].tiles;
    // Applied only where there was a comparison (and, as everywhere, only tested configurations).
    if (ms.some((m) => m.defaultTiles === false) && isTestedMatmulTiles(variant, ms[0].tiles)) matmulTiles[variant] = ms[0].tiles;
  }
  const measured = matmulChoice !== undefined && rowsChoice !== undefined;
  return {
    matmul: matmulChoice ?? ctx.preferences.matmul,
    rows: rowsChoice ?? ctx.preferences.rows,
    ...(Object.keys(matmulTiles).length > 0 ? { matmulTiles } : {}),
    measurements,
    key,
    method: measured ? method : 'default',
    bestTiles,
    tuningMilliseconds,
    measuredAt: new Date().toISOString(),
    fromCache: false,
  };
}

function describe(c: Candidate): Omit<AutotuneMeasurement, 'milliseconds' | 'samples'> {
  const d: Omit<AutotuneMeasurement, 'milliseconds' | 'samples'> = { kernel: c.kernel, variant: c.variant, workload: c.workload };
  if (c.tiles) {
    d.tiles = c.tiles;
    d.defaultTiles = c.defaultTiles;
  }
  return d;
}

function tilesText(t: MatmulTiles): string {
  return `${t.workgroupX}×${t.workgroupY}${t.tileK ? ` k${t.tileK}` : ''}`;
}

/**
 * The candidates on small shapes of the needle-s training step (so that measuring takes well under a
 * second on a real GPU and ~1–2 s on SwiftShader):
 * - matmul: a linear layer 512 rows × 64 → 176 forward (X·Wᵀ), input gradient (dY·W) and weight
 *   gradient (dYᵀ·X): every transposition the model uses;
 * - rows: RMSNorm forward + input backward (128 rows × 64), causal attention forward + backward
 *   (B 2 × T 64, 2 heads of 32), the loss rows with their gradient and mean (128 rows × 264), and the
 *   embedding backward (128 positions, 264 × 64 table): every builder that follows `preferences.rows`.
 */
function buildCandidates(device: GPUDevice, arena: BufferArena): Candidate[] {
  const rows = 512, inDim = 64, outDim = 176;
  const floats = (n: number) => arena.buffer('autotune', 4 * n);
  const x = floats(rows * inDim), w = floats(outDim * inDim), y = floats(rows * outDim);
  const dx = floats(rows * inDim), dw = floats(outDim * inDim);
  const candidates: Candidate[] = [];
  for (const variant of MATMUL_VARIANTS) {
    for (const tiles of [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]]) {
      candidates.push({
        kernel: 'matmul', variant, tiles: { ...tiles }, defaultTiles: tiles === MATMUL_DEFAULT_TILES[variant],
        workload: `linear ${rows}×${inDim}→${outDim} fwd+bwd (3 matmuls)`,
        build: async (tctx) => [
          await matmul(tctx, { a: x, b: w, c: y, R: 1, M: rows, N: outDim, K: inDim, transB: true, variant, tiles }),
          await matmul(tctx, { a: y, b: w, c: dx, R: 1, M: rows, N: inDim, K: outDim, variant, tiles }),
          await matmul(tctx, { a: y, b: x, c: dw, R: 1, M: outDim, N: inDim, K: rows, transA: true, variant, tiles }),
        ],
      });
    }
  }

  const B = 2, T = 64, H = 2, hd = 32, C = H * hd, V = 264, N = B * T;
  const shape: AttentionShape = { R: 1, B, T, H, headDim: hd };
  const act = () => floats(N * C);
  const hx = act(), hy = act(), hdy = act(), hdx = act(), weight = floats(C), rstd = floats(N);
  const q = act(), k = act(), v = act(), out = act(), dq = act(), dk = act(), dv = act();
  const probs = floats(B * H * T * T), dScores = floats(B * H * T * T);
  const logits = floats(N * V), dLogits = floats(N * V), rowLoss = floats(N), lossMean = floats(1);
  const dTable = floats(V * C);
  const tokens = arena.buffer('autotune.tokens', 4 * B * (T + 1));
  const mask = arena.buffer('autotune.mask', 4 * N);
  const scratch = arena.buffer('autotune.scratch', 4 * embeddingBackwardScratchWords({ R: 1, B, T, V }));
  // Valid ids and a sparse mask (contents matter only to the embedding's counting sort); weights of 1.
  const ids = new Uint32Array(B * (T + 1)).map((_, i) => (i * 7919) % V);
  device.queue.writeBuffer(tokens, 0, ids);
  device.queue.writeBuffer(mask, 0, new Uint32Array(N).map((_, i) => (i % 7 === 3 ? 1 : 0)));
  device.queue.writeBuffer(weight, 0, new Float32Array(C).fill(1));
  for (const variant of ROWS_VARIANTS) {
    candidates.push({
      kernel: 'rows', variant,
      workload: `rmsnorm fwd+bwd ${N}×${C}, attention fwd+bwd B${B} T${T} H${H}×${hd}, loss rows ${N}×${V}, embedding bwd`,
      build: async (tctx) => [
        await rmsnormForward(tctx, { x: hx, weight, y: hy, rstd, eps: 1e-5, R: 1, N, C, variant }),
        await rmsnormBackwardInput(tctx, { dy: hdy, x: hx, weight, rstd, dx: hdx, R: 1, N, C, variant }),
        await attentionForward(tctx, { q, k, v, probs, out, shape, variant }),
        ...await attentionBackward(tctx, { dOut: out, q, k, v, probs, dScores, dq, dk, dv, shape, variant }),
        await crossEntropyRows(tctx, { R: 1, B, T, V, logits, tokens, rowLoss, dLogits, variant }),
        await crossEntropyMean(tctx, { rowLoss, lossMean, R: 1, N, variant }),
        ...await embeddingBackward(tctx, { R: 1, B, T, V, C, maskId: 2, tokens, mask, dOut: hdx, dTable, scratch, variant }),
      ],
    });
  }
  return candidates;
}

async function withValidation<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const error = await device.popErrorScope();
    if (error) throw new Error(error.message);
  }
  return result;
}

function wallTimer(device: GPUDevice): Timer {
  return {
    async time(dispatches, repeat) {
      const encoder = device.createCommandEncoder({ label: 'autotune' });
      const pass = encoder.beginComputePass({ label: 'autotune' });
      for (let i = 0; i < repeat; i++) encodeInto(pass, dispatches);
      pass.end();
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return { wall: performance.now() - start };
    },
    destroy() {},
  };
}

function timestampTimer(device: GPUDevice): Timer {
  const querySet = device.createQuerySet({ label: 'autotune', type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ label: 'autotune.resolve', size: 16, usage: 0x0200 /* QUERY_RESOLVE */ | 0x0004 /* COPY_SRC */ });
  const read = device.createBuffer({ label: 'autotune.read', size: 16, usage: 0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */ });
  return {
    async time(dispatches, repeat) {
      const encoder = device.createCommandEncoder({ label: 'autotune' });
      const pass = encoder.beginComputePass({
        label: 'autotune', timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      });
      for (let i = 0; i < repeat; i++) encodeInto(pass, dispatches);
      pass.end();
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(0x0001 /* READ */);
      const wall = performance.now() - start;
      const [begin, end] = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      return { gpu: Number(end - begin) / 1e6, wall };
    },
    destroy() {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    },
  };
}

function encodeInto(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Just the preferences of a result (what ctx.preferences holds). */
export function preferencesOf(result: KernelPreferences): KernelPreferences {
  const preferences: KernelPreferences = { rows: result.rows, matmul: result.matmul };
  if (result.matmulTiles) preferences.matmulTiles = result.matmulTiles;
  return preferences;
}

/** The tiles the chosen matmul variant builds with when they are not its default (what a panel shows). */
export function appliedNonDefaultTiles(preferences: KernelPreferences): MatmulTiles | undefined {
  const tiles = preferences.matmulTiles?.[preferences.matmul];
  const defaults = MATMUL_DEFAULT_TILES[preferences.matmul];
  if (!tiles || (tiles.workgroupX === defaults.workgroupX && tiles.workgroupY === defaults.workgroupY && tiles.tileK === defaults.tileK)) {
    return undefined;
  }
  return tiles;
}

/**
 * What the training Worker reports to the page's device panel ('engine' message, `kernels`): the chosen
 * preferences and the measurements behind them. Structured-clone safe (Infinity survives postMessage).
 */
export interface KernelChoiceReport {
  preferences: KernelPreferences;
  measurements: AutotuneMeasurement[];
  method: AutotuneResult['method'];
  fromCache: boolean;
  /** Fastest tile configuration seen per matmul variant. */
  bestTiles: AutotuneResult['bestTiles'];
  /** The tiles the chosen matmul variant builds with, when they differ from its default. */
  appliedTiles?: MatmulTiles;
  tuningMilliseconds: number;
}

export function kernelChoiceReport(result: AutotuneResult): KernelChoiceReport {
  const report: KernelChoiceReport = {
    preferences: preferencesOf(result), measurements: result.measurements, method: result.method,
    fromCache: result.fromCache, bestTiles: result.bestTiles, tuningMilliseconds: result.tuningMilliseconds,
  };
  const appliedTiles = appliedNonDefaultTiles(result);
  if (appliedTiles) report.appliedTiles = appliedTiles;
  return report;
}

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
 * them); the others get a warm-up and three samples, and the median counts. Variants are compared at
 * the tile sizes the builders use; `{ tiles: true }` also times other tile configurations (reported in
 * `bestTiles`, not applied: KernelPreferences has no tile field yet).
 *
 * Cache: key = vendor/architecture/device/description of the adapter (+ a version of this procedure).
 * Default store: localStorage where it exists (a page), IndexedDB in a Worker (same origin: survives page
 * reloads), else an in-memory map for the process (Node). A Worker can also be handed a result measured
 * elsewhere with `memoryAutotuneCache([result])`.
 *
 * Must run before any model is built (builders read ctx.preferences when they build). Measuring creates
 * its own buffers in a private arena and frees them; compiled pipelines stay in ctx.registry (the chosen
 * variants' pipelines are then already compiled for the model).
 */
import { BufferArena } from './arena';
import type { AdapterReport, GpuContext, KernelPreferences } from './context';
import type { Dispatch } from './dispatch';
import {
  MATMUL_DEFAULT_TILES, MATMUL_VARIANTS, matmul, type MatmulTiles, type MatmulVariant,
} from '../kernels/matmul';
import { rmsnormBackwardInput, rmsnormForward } from '../kernels/rmsnorm';
import { attentionBackward, attentionForward, type AttentionShape } from '../kernels/attention';
import { crossEntropyMean, crossEntropyRows } from '../kernels/crossEntropy';
import { embeddingBackward, embeddingBackwardScratchWords } from '../kernels/embedding';

/** Bump when the measured kernels or the procedure change: older cached choices are then ignored. */
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
  /** Fastest tile configuration measured per matmul variant (informational: builders use MATMUL_DEFAULT_TILES). */
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
   * Also time other tile configurations of each matmul variant still in the race (reported in
   * `bestTiles`; the builders keep MATMUL_DEFAULT_TILES, so this only informs). Default false: start-up
   * measures only what it can act on.
   */
  tiles?: boolean;
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
  return v as AutotuneResult;
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
  const cached = await cache?.get(key);
  if (cached) {
    const result = { ...cached, fromCache: true };
    if (!options.dryRun) ctx.preferences = { rows: result.rows, matmul: result.matmul };
    return result;
  }
  const result = await measure(ctx, key, options.log ?? (() => {}), options.tiles ?? false);
  if (!options.dryRun) ctx.preferences = { rows: result.rows, matmul: result.matmul };
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

/** A GPU time that cannot be right (zero, negative, or far beyond the wall time around it). */
function plausible(s: Sample): boolean {
  return s.gpu !== undefined && s.gpu > 0 && s.gpu <= 10 * s.wall + 1;
}

function sampleMs(s: Sample): number {
  return plausible(s) ? s.gpu! : s.wall;
}

async function measure(ctx: GpuContext, key: string, log: (line: string) => void, tiles: boolean): Promise<AutotuneResult> {
  const started = performance.now();
  const arena = new BufferArena(ctx.device);
  // A private view of the context: the kernels' parameter uniforms go to our arena, freed at the end.
  const tctx: GpuContext = { ...ctx, arena, profiler: undefined };
  const timer = ctx.hasTimestampQuery ? timestampTimer(ctx.device) : wallTimer(ctx.device);
  const failed: AutotuneMeasurement[] = [];
  const raced: { candidate: Candidate; samples: Sample[]; repeat: number }[] = [];
  const best = { matmul: Infinity, rows: Infinity };
  const decidedEarly = new Set<string>();

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
      best[candidate.kernel] = Math.min(best[candidate.kernel], median(samples.map((x) => sampleMs(x) / repeat)));
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
    // Other tile configurations only for matmul variants still in the race.
    for (const candidate of tiles ? candidates.filter((c) => c.defaultTiles === false) : []) {
      if (!decidedEarly.has(`matmul:${candidate.variant}`)) await run(candidate);
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

/** The choice from the measurements: fastest default-tile matmul variant, fastest row variant. */
export function decide(
  ctx: Pick<GpuContext, 'preferences'>, key: string, measurements: AutotuneMeasurement[],
  method: 'timestamp' | 'wall', tuningMilliseconds: number,
): AutotuneResult {
  const fastest = <T extends string>(kernel: 'matmul' | 'rows', variants: readonly T[], onlyDefault: boolean): T | undefined => {
    let best: { variant: T; ms: number } | undefined;
    for (const m of measurements) {
      if (m.kernel !== kernel || !(variants as readonly string[]).includes(m.variant)) continue;
      if (onlyDefault && m.defaultTiles === false) continue;
      if (!(m.milliseconds > 0 && Number.isFinite(m.milliseconds))) continue;
      if (!best || m.milliseconds < best.ms) best = { variant: m.variant as T, ms: m.milliseconds };
    }
    return best?.variant;
  };
  const matmulChoice = fastest('matmul', MATMUL_VARIANTS, true);
  const rowsChoice = fastest('rows', ROWS_VARIANTS, false);
  const bestTiles: Partial<Record<MatmulVariant, MatmulTiles>> = {};
  for (const variant of MATMUL_VARIANTS) {
    const ms = measurements.filter((m) => m.kernel === 'matmul' && m.variant === variant && Number.isFinite(m.milliseconds) && m.tiles);
    ms.sort((a, b) => a.milliseconds - b.milliseconds);
    if (ms[0]?.tiles) bestTiles[variant] = ms[0].tiles;
  }
  const measured = matmulChoice !== undefined && rowsChoice !== undefined;
  return {
    matmul: matmulChoice ?? ctx.preferences.matmul,
    rows: rowsChoice ?? ctx.preferences.rows,
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
 * Extra tile configurations tried beside the defaults: a narrower/wider blocked workgroup, and a smaller
 * tiled workgroup (32×32 outputs, 4 KiB of workgroup memory) that suits GPUs with few lanes per core.
 */
const EXTRA_TILES: Readonly<Record<MatmulVariant, readonly MatmulTiles[]>> = {
  blocked: [{ workgroupX: 16, workgroupY: 4, tileK: 0 }],
  tiled: [{ workgroupX: 8, workgroupY: 8, tileK: 16 }],
};

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
    for (const tiles of [MATMUL_DEFAULT_TILES[variant], ...EXTRA_TILES[variant]]) {
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
export function preferencesOf(result: Pick<AutotuneResult, 'rows' | 'matmul'>): KernelPreferences {
  return { rows: result.rows, matmul: result.matmul };
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
  /** Fastest tile configuration seen per matmul variant (informational). */
  bestTiles: AutotuneResult['bestTiles'];
  tuningMilliseconds: number;
}

export function kernelChoiceReport(result: AutotuneResult): KernelChoiceReport {
  return {
    preferences: preferencesOf(result), measurements: result.measurements, method: result.method,
    fromCache: result.fromCache, bestTiles: result.bestTiles, tuningMilliseconds: result.tuningMilliseconds,
  };
}

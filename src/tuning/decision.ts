/**
 * Autotune's decisions: what the measurements are (types), which candidates are worth timing (the early
 * loser rule, the tile budget) and, from the measurements, which variants and tiles the builders use.
 * Pure functions over numbers: no device here (timing.ts measures, workloads.ts builds what is measured).
 */
import type { GpuContext, KernelPreferences, MatmulTiles } from '../gpu/context';
import {
  isTestedMatmulTiles, MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, type MatmulVariant,
} from '../kernels/matmul';
import { SAMPLES } from './timing';

export type RowsVariant = KernelPreferences['rows'];
export const ROWS_VARIANTS: readonly RowsVariant[] = ['serial', 'workgroup'];

/**
 * What a candidate competes for: 'matmul' (the variant and its tiles), 'rows' (every builder that follows
 * `preferences.rows`), 'subgroupRows' (the row kernels that have a 'subgroup' variant — RMSNorm and
 * attention — with the chosen row variant against 'subgroup', only on a device with 'subgroups').
 */
export type AutotuneKernel = 'matmul' | 'rows' | 'subgroupRows';

export interface AutotuneMeasurement {
  /** Which preference this candidate competes for. */
  kernel: AutotuneKernel;
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

/**
 * A candidate whose first (cold) run takes longer than CLEAR_LOSER × the best time of its kind so far
 * plus SLACK_MS is decided at once, without warm samples: on SwiftShader the workgroup row kernels are
 * ~50× slower than the serial ones, and repeating them would make start-up seconds slower. The slack keeps
 * first-use costs (pipeline finalisation) from deciding anything on fast GPUs, where every candidate
 * takes well under a millisecond and all of them get full samples.
 */
const CLEAR_LOSER = 3;
const SLACK_MS = 20;

/** True when a candidate's cold first run (ms) already shows it cannot win against the best of its kind so far. */
export function isClearLoser(coldMilliseconds: number, bestMilliseconds: number): boolean {
  return coldMilliseconds > CLEAR_LOSER * bestMilliseconds + SLACK_MS;
}

/**
 * A challenger replaces the current choice (the adapter's guess at start-up) only when the current one took
 * more than KEEP_MARGIN × the challenger's time: closer calls are within the noise of a start-up
 * measurement, and keeping the guess keeps the choice stable from one page load to the next. Measured on
 * SwiftShader (2 shared cores): the blocked and vec4 matmul workloads at their default tiles came within
 * −35 %…+40 % of each other across runs (blocked usually faster; on a loaded machine vec4 sometimes won by
 * more than the margin), while the real differences (serial vs workgroup rows ≈ 17×, the row kernels
 * serial vs subgroup ≈ 5–10×) are far beyond it. On SwiftShader the three matmul variants give
 * bit-identical results anyway (test/matmul.test.ts), so a flip there changes speed, never numbers.
 */
export const KEEP_MARGIN = 1.15;

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

/**
 * The choice from the measurements: the matmul variant of the fastest configuration measured (builders
 * use each variant's best tiles, so its best time is what counts), the fastest row variant (each unless
 * the current preference came within KEEP_MARGIN of it), the fastest tiles of every variant whose tile
 * configurations were compared, and `subgroupRows` where the 'subgroup'
 * row kernels measured clearly faster than the same kernels with the chosen row variant (both measured).
 */
export function decide(
  ctx: Pick<GpuContext, 'preferences'>, key: string, measurements: AutotuneMeasurement[],
  method: 'timestamp' | 'wall', tuningMilliseconds: number,
): AutotuneResult {
  const usable = (m: AutotuneMeasurement) => m.milliseconds > 0 && Number.isFinite(m.milliseconds);
  /** Best time of one variant (any tiles); undefined when it has no usable measurement. */
  const bestMs = (kernel: AutotuneKernel, variant: string): number | undefined => {
    const times = measurements.filter((m) => m.kernel === kernel && m.variant === variant && usable(m)).map((m) => m.milliseconds);
    return times.length > 0 ? Math.min(...times) : undefined;
  };
  /** The fastest variant, unless `current` was measured within KEEP_MARGIN of it (then `current`). */
  const fastest = <T extends string>(kernel: AutotuneKernel, variants: readonly T[], current: T): T | undefined => {
    let best: { variant: T; ms: number } | undefined;
    for (const variant of variants) {
      const ms = bestMs(kernel, variant);
      if (ms !== undefined && (!best || ms < best.ms)) best = { variant, ms };
    }
    const currentMs = bestMs(kernel, current);
    return best && currentMs !== undefined && currentMs <= KEEP_MARGIN * best.ms ? current : best?.variant;
  };
  const matmulChoice = fastest('matmul', MATMUL_VARIANTS, ctx.preferences.matmul);
  const rowsChoice = fastest('rows', ROWS_VARIANTS, ctx.preferences.rows);
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
  const subgroupMs = bestMs('subgroupRows', 'subgroup');
  const rowsMs = rowsChoice === undefined ? undefined : bestMs('subgroupRows', rowsChoice);
  // Subgroups are the challenger here (KEEP_MARGIN as above), the chosen row variant the current choice.
  const subgroupRows = subgroupMs !== undefined && rowsMs !== undefined && rowsMs > KEEP_MARGIN * subgroupMs;
  return {
    matmul: matmulChoice ?? ctx.preferences.matmul,
    rows: rowsChoice ?? ctx.preferences.rows,
    ...(Object.keys(matmulTiles).length > 0 ? { matmulTiles } : {}),
    ...(subgroupRows ? { subgroupRows } : {}),
    measurements,
    key,
    method: measured ? method : 'default',
    bestTiles,
    tuningMilliseconds,
    measuredAt: new Date().toISOString(),
    fromCache: false,
  };
}

/** Just the preferences of a result (what ctx.preferences holds). */
export function preferencesOf(result: KernelPreferences): KernelPreferences {
  const preferences: KernelPreferences = { rows: result.rows, matmul: result.matmul };
  if (result.matmulTiles) preferences.matmulTiles = result.matmulTiles;
  if (result.subgroupRows === true) preferences.subgroupRows = true;
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
  /** Includes `subgroupRows: true` where RMSNorm and attention use their subgroup kernels (measurements of kernel 'subgroupRows'). */
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

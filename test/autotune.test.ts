import { afterEach, describe, expect, it } from 'vitest';
import {
  adapterKey, autotune, AUTOTUNE_VERSION, decide, KEEP_MARGIN, kernelChoiceReport, memoryAutotuneCache, parseAutotuneResult,
  preferencesOf, storageAutotuneCache, TILE_BUDGET_MS, variantsWorthTiling, type AutotuneMeasurement, type AutotuneResult,
} from '../src/tuning/autotune';
import type { GpuContext, KernelPreferences } from '../src/gpu/context';
import { MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, matmul, matmulThreadBlock } from '../src/kernels/matmul';
import { matmulReference } from '../src/reference/matmul';
import { matmulTolerance } from '../src/selftest/matmul';
import { maxAbsError, withScope } from '../src/selftest/harness';
import { randomFloats } from '../src/util/random';
import { GpuModel } from '../src/model/gpuModel';
import { preset } from '../src/config/presets';
import { testContext } from './gpuContext';

const adapter = { vendor: 'v', architecture: 'arch', device: 'dev', description: 'desc' };

function m(kernel: 'matmul' | 'rows' | 'subgroupRows', variant: string, milliseconds: number, extra: Partial<AutotuneMeasurement> = {}): AutotuneMeasurement {
  return { kernel, variant, workload: 'w', milliseconds, samples: 3, ...extra };
}

const tiles = (workgroupX: number, workgroupY: number, tileK: number) => ({ workgroupX, workgroupY, tileK });

function result(preferences: KernelPreferences, key = adapterKey(adapter)): AutotuneResult {
  return {
    ...preferences, measurements: [m('matmul', preferences.matmul, 1)], key, method: 'wall', bestTiles: {},
    tuningMilliseconds: 1, measuredAt: '2025-01-01T00:00:00.000Z', fromCache: false,
  };
}

/** A fake Web Storage over a Map. */
function fakeStorage() {
  const map = new Map<string, string>();
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => { map.set(k, v); } };
}

let saved: { ctx: GpuContext; preferences: KernelPreferences } | undefined;
afterEach(() => {
  if (saved) saved.ctx.preferences = saved.preferences;
  saved = undefined;
});

async function context(): Promise<GpuContext> {
  const ctx = await testContext();
  saved ??= { ctx, preferences: { ...ctx.preferences } };
  return ctx;
}

describe('decide (pure)', () => {
  const current: KernelPreferences = { rows: 'workgroup', matmul: 'tiled' };

  it('picks the fastest default-tile matmul variant and the fastest row variant', () => {
    const r = decide({ preferences: current }, 'k', [
      m('matmul', 'blocked', 5, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'tiled', 9, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('rows', 'serial', 2), m('rows', 'workgroup', 80),
    ], 'timestamp', 12);
    expect(r).toMatchObject({ matmul: 'blocked', rows: 'serial', method: 'timestamp', key: 'k', fromCache: false });
    const r2 = decide({ preferences: current }, 'k', [
      m('matmul', 'blocked', 9, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'tiled', 5, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('rows', 'serial', 3), m('rows', 'workgroup', 2),
    ], 'wall', 12);
    expect(r2).toMatchObject({ matmul: 'tiled', rows: 'workgroup', method: 'wall' });
  });

  it('judges a variant by its best measured tiles, and applies them where tiles were compared', () => {
    const r = decide({ preferences: current }, 'k', [
      m('matmul', 'blocked', 5, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'tiled', 9, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('matmul', 'tiled', 1, { tiles: tiles(8, 8, 16), defaultTiles: false }),
      m('rows', 'serial', 2), m('rows', 'workgroup', 3),
    ], 'wall', 1);
    // tiled at 8×8 beats blocked although tiled's default tiles do not: the builders will use 8×8.
    expect(r.matmul).toBe('tiled');
    expect(r.bestTiles).toEqual({ blocked: tiles(8, 8, 0), tiled: tiles(8, 8, 16) });
    // Only tiled's tiles were compared: blocked keeps its default (no entry).
    expect(r.matmulTiles).toEqual({ tiled: tiles(8, 8, 16) });
    expect(preferencesOf(r)).toEqual({ rows: 'serial', matmul: 'tiled', matmulTiles: { tiled: tiles(8, 8, 16) } });
    expect(kernelChoiceReport(r).appliedTiles).toEqual(tiles(8, 8, 16));

    // A default that wins its comparison is applied too (it was measured best), but reported as nothing new.
    const r2 = decide({ preferences: current }, 'k', [
      m('matmul', 'blocked', 5, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'blocked', 6, { tiles: tiles(16, 4, 0), defaultTiles: false }),
      m('matmul', 'tiled', 9, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('rows', 'serial', 2), m('rows', 'workgroup', 3),
    ], 'wall', 1);
    expect(r2.matmul).toBe('blocked');
    expect(r2.matmulTiles).toEqual({ blocked: tiles(8, 8, 0) });
    expect(kernelChoiceReport(r2).appliedTiles).toBeUndefined();
  });

  it('without tile comparisons (start-up with tiles off) no tiles are applied', () => {
    const r = decide({ preferences: current }, 'k', [
      m('matmul', 'blocked', 5, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'tiled', 9, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('rows', 'serial', 2), m('rows', 'workgroup', 3),
    ], 'wall', 1);
    expect(r.matmulTiles).toBeUndefined();
    expect(preferencesOf(r)).toEqual({ rows: 'serial', matmul: 'blocked' });
  });

  it("'auto' times other tiles fastest variant first, while their estimated cost fits the budget", () => {
    // Cost per variant = extra configs × (cold + warm-up + 3 samples × repeat) × its default-tile time.
    const blockedCost = MATMUL_EXTRA_TILES.blocked.length * (2 + 3 * 1) * 28;
    const tiledCost = MATMUL_EXTRA_TILES.tiled.length * (2 + 3 * 1) * 58;
    expect(blockedCost).toBeLessThanOrEqual(TILE_BUDGET_MS);
    expect(blockedCost + tiledCost).toBeGreaterThan(TILE_BUDGET_MS);
    // SwiftShader-like timings: only the faster variant's tiles are worth timing.
    const swiftshader = [
      { variant: 'tiled' as const, milliseconds: 58, repeat: 1 }, { variant: 'blocked' as const, milliseconds: 28, repeat: 1 },
    ];
    expect(variantsWorthTiling(swiftshader)).toEqual(['blocked']);
    expect(variantsWorthTiling(swiftshader, blockedCost + tiledCost)).toEqual(['blocked', 'tiled']);
    // A real GPU: sub-millisecond workloads (repeated up to 64× per sample): everything is timed.
    expect(variantsWorthTiling([
      { variant: 'blocked', milliseconds: 0.3, repeat: 14 }, { variant: 'tiled', milliseconds: 0.1, repeat: 40 },
    ])).toEqual(['tiled', 'blocked']);
    // A slow software adapter: nothing.
    expect(variantsWorthTiling([{ variant: 'blocked', milliseconds: 120, repeat: 1 }])).toEqual([]);
    expect(variantsWorthTiling([])).toEqual([]);
  });

  it('a close call keeps the current preference; a clear win (beyond KEEP_MARGIN) replaces it', () => {
    const guess: KernelPreferences = { rows: 'serial', matmul: 'blocked' };
    const ms = (vec4: number, workgroup: number) => [
      m('matmul', 'blocked', 10, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('matmul', 'tiled', 20, { tiles: tiles(16, 16, 16), defaultTiles: true }),
      m('matmul', 'vec4', vec4, { tiles: tiles(16, 8, 16), defaultTiles: true }),
      m('rows', 'serial', 10), m('rows', 'workgroup', workgroup),
    ];
    expect(decide({ preferences: guess }, 'k', ms(9, 9), 'wall', 1)).toMatchObject({ matmul: 'blocked', rows: 'serial' });
    expect(decide({ preferences: guess }, 'k', ms(10 / KEEP_MARGIN - 0.01, 10 / KEEP_MARGIN - 0.01), 'wall', 1))
      .toMatchObject({ matmul: 'vec4', rows: 'workgroup' });
    // The current preference's best tiles count for it.
    const withTiles = [...ms(7.5, 20), m('matmul', 'blocked', 9, { tiles: tiles(16, 4, 0), defaultTiles: false })];
    expect(decide({ preferences: guess }, 'k', withTiles, 'wall', 1).matmul).toBe('vec4');
    expect(decide({ preferences: guess }, 'k', [...withTiles, m('matmul', 'blocked', 8.5, { tiles: tiles(16, 4, 0), defaultTiles: false })], 'wall', 1).matmul)
      .toBe('blocked');
    // A current preference that was not measured (or failed) does not hold anything.
    expect(decide({ preferences: { rows: 'serial', matmul: 'tiled' } }, 'k', ms(9, 20).filter((x) => x.variant !== 'tiled'), 'wall', 1).matmul)
      .toBe('vec4');
  });

  it("subgroupRows only where the subgroup row kernels clearly beat the chosen row variant's", () => {
    const base = [
      m('matmul', 'blocked', 5, { tiles: tiles(8, 8, 0), defaultTiles: true }),
      m('rows', 'serial', 10), m('rows', 'workgroup', 5),
    ];
    const guess: KernelPreferences = { rows: 'workgroup', matmul: 'blocked' };
    const faster = decide({ preferences: guess }, 'k', [...base, m('subgroupRows', 'workgroup', 4), m('subgroupRows', 'subgroup', 2)], 'wall', 1);
    expect(faster).toMatchObject({ rows: 'workgroup', subgroupRows: true });
    expect(preferencesOf(faster)).toEqual({ rows: 'workgroup', matmul: 'blocked', subgroupRows: true });
    expect(kernelChoiceReport(faster).preferences.subgroupRows).toBe(true);
    // Compared with the chosen row variant only (serial's kernels would be slower here, but rows chose workgroup).
    const close = decide({ preferences: guess }, 'k', [...base, m('subgroupRows', 'serial', 9), m('subgroupRows', 'workgroup', 2.2), m('subgroupRows', 'subgroup', 2)], 'wall', 1);
    expect(close.subgroupRows).toBeUndefined();
    expect(preferencesOf(close)).toEqual({ rows: 'workgroup', matmul: 'blocked' });
    // No subgroup measurement (no feature), or a failed one: nothing.
    expect(decide({ preferences: guess }, 'k', [...base, m('subgroupRows', 'workgroup', 4)], 'wall', 1).subgroupRows).toBeUndefined();
    expect(decide({ preferences: guess }, 'k', [...base, m('subgroupRows', 'workgroup', 4), m('subgroupRows', 'subgroup', Infinity, { error: 'x' })], 'wall', 1)
      .subgroupRows).toBeUndefined();
  });

  it('ignores failed candidates and keeps the current preference where nothing was measured', () => {
    const r = decide({ preferences: current }, 'k', [
      m('matmul', 'tiled', Infinity, { tiles: tiles(16, 16, 16), defaultTiles: true, error: 'no' }),
      m('matmul', 'blocked', 7, { tiles: tiles(8, 8, 0), defaultTiles: true }),
    ], 'wall', 1);
    expect(r.matmul).toBe('blocked');
    expect(r.rows).toBe('workgroup');
    expect(r.method).toBe('default');
  });
});

describe('cache', () => {
  it('keys on vendor/architecture/device/description and the procedure version', () => {
    const key = adapterKey(adapter);
    expect(key).toContain('v/arch/dev/desc');
    expect(key).toContain(`v${AUTOTUNE_VERSION}`);
    expect(adapterKey({ ...adapter, device: 'other' })).not.toBe(key);
    expect(adapterKey({ ...adapter, description: 'other' })).not.toBe(key);
  });

  it('localStorage-style cache: round trip (Infinity included), garbage and invalid choices read as missing', () => {
    const storage = fakeStorage();
    const cache = storageAutotuneCache(storage);
    const r = result({ rows: 'serial', matmul: 'blocked' });
    r.measurements.push(m('matmul', 'tiled', Infinity, { error: 'failed' }));
    cache.set(r.key, r);
    expect(cache.get(r.key)).toEqual(r);
    expect(cache.get('missing')).toBeUndefined();
    storage.map.set('bad', '{not json');
    expect(cache.get('bad')).toBeUndefined();
    storage.map.set('invalid', JSON.stringify({ ...r, matmul: 'warp-specialised' }));
    expect(cache.get('invalid')).toBeUndefined();
    expect(parseAutotuneResult({ ...r, rows: 'serial' })).toBeDefined();
    expect(parseAutotuneResult(null)).toBeUndefined();
  });

  it('a tile choice survives the store; an entry from before tile choices loads; untested tiles are dropped', () => {
    const storage = fakeStorage();
    const cache = storageAutotuneCache(storage);
    const get = (key: string) => cache.get(key) as AutotuneResult | undefined; // synchronous for Web Storage
    const withTiles = { ...result({ rows: 'serial', matmul: 'blocked', matmulTiles: { blocked: tiles(16, 4, 0) } }) };
    cache.set(withTiles.key, withTiles);
    expect(get(withTiles.key)?.matmulTiles).toEqual({ blocked: tiles(16, 4, 0) });

    // What version 1 wrote before tiles were applied: no matmulTiles (and, earlier still, no bestTiles).
    const old = { ...result({ rows: 'serial', matmul: 'tiled' }) } as Partial<AutotuneResult>;
    delete old.bestTiles;
    storage.map.set('old', JSON.stringify(old));
    const loaded = get('old');
    expect(loaded).toMatchObject({ rows: 'serial', matmul: 'tiled', bestTiles: {} });
    expect(loaded?.matmulTiles).toBeUndefined();
    expect(preferencesOf(loaded!)).toEqual({ rows: 'serial', matmul: 'tiled' });

    // Hand-edited or from another build: only configurations the matmul tests cover are kept.
    const edited = parseAutotuneResult({
      ...withTiles, matmulTiles: { blocked: tiles(32, 8, 0), tiled: MATMUL_EXTRA_TILES.tiled[0], warp: tiles(1, 1, 1) },
    });
    expect(edited?.matmulTiles).toEqual({ tiled: MATMUL_EXTRA_TILES.tiled[0] });
    expect(parseAutotuneResult({ ...withTiles, matmulTiles: { blocked: 'big' } })?.matmulTiles).toBeUndefined();
  });

  it('vec4 tiles and subgroupRows survive the store; a version-1 result (without them) still parses', () => {
    const storage = fakeStorage();
    const cache = storageAutotuneCache(storage);
    const get = (key: string) => cache.get(key) as AutotuneResult | undefined;
    const choice: KernelPreferences = { rows: 'workgroup', matmul: 'vec4', matmulTiles: { vec4: MATMUL_EXTRA_TILES.vec4[1] }, subgroupRows: true };
    const r = result(choice);
    cache.set(r.key, r);
    expect(preferencesOf(get(r.key)!)).toEqual(choice);
    // What version 1 stored: blocked/tiled only, no subgroupRows.
    const v1 = { ...result({ rows: 'serial', matmul: 'blocked', matmulTiles: { blocked: tiles(16, 4, 0) } }), key: 'meap-autotune-v1:v/arch/dev/desc' };
    expect(preferencesOf(parseAutotuneResult(JSON.parse(JSON.stringify(v1)))!))
      .toEqual({ rows: 'serial', matmul: 'blocked', matmulTiles: { blocked: tiles(16, 4, 0) } });
    // Only `true` counts; anything else is dropped.
    expect(parseAutotuneResult({ ...r, subgroupRows: 'yes' })?.subgroupRows).toBeUndefined();
    expect(parseAutotuneResult({ ...r, subgroupRows: false })?.subgroupRows).toBeUndefined();
    // Untested vec4 tiles are dropped like any other.
    expect(parseAutotuneResult({ ...r, matmulTiles: { vec4: tiles(16, 8, 6) } })?.matmulTiles).toBeUndefined();
  });

  it('a cached choice (e.g. handed to a Worker) is applied without measuring anything', async () => {
    const ctx = await context();
    const key = adapterKey(ctx.adapter);
    const opposite: KernelPreferences = {
      rows: ctx.preferences.rows === 'serial' ? 'workgroup' : 'serial',
      matmul: ctx.preferences.matmul === 'blocked' ? 'tiled' : 'blocked',
    };
    const pipelines = ctx.registry.compiledPipelines;
    const created = ctx.arena.created;
    const tuned = await autotune(ctx, { cache: memoryAutotuneCache([result(opposite, key)]) });
    expect(tuned.fromCache).toBe(true);
    expect(ctx.preferences).toEqual(opposite);
    expect(ctx.preferences.matmulTiles).toBeUndefined();
    expect(ctx.registry.compiledPipelines).toBe(pipelines);
    expect(ctx.arena.created).toBe(created);
  });

  it('a cached tile choice is applied with the variants', async () => {
    const ctx = await context();
    const key = adapterKey(ctx.adapter);
    const choice: KernelPreferences = { rows: 'serial', matmul: 'tiled', matmulTiles: { tiled: MATMUL_EXTRA_TILES.tiled[0] } };
    await autotune(ctx, { cache: memoryAutotuneCache([result(choice, key)]) });
    expect(ctx.preferences).toEqual(choice);
  });
});

describe('asynchronous cache (IndexedDB in a Worker)', () => {
  it('is awaited on read and on write', async () => {
    const ctx = await context();
    const key = adapterKey(ctx.adapter);
    const inner = memoryAutotuneCache();
    const writes: string[] = [];
    const slow = {
      get: async (k: string) => { await new Promise((r) => setTimeout(r, 5)); return inner.get(k); },
      set: async (k: string, r: AutotuneResult) => { await new Promise((x) => setTimeout(x, 5)); inner.set(k, r); writes.push(k); },
    };
    const choice: KernelPreferences = { rows: ctx.preferences.rows === 'serial' ? 'workgroup' : 'serial', matmul: ctx.preferences.matmul };
    await slow.set(key, result(choice, key));
    const tuned = await autotune(ctx, { cache: slow });
    expect(tuned.fromCache).toBe(true);
    expect(ctx.preferences).toEqual(choice);
    expect(writes).toEqual([key]);
  });
});

describe('autotune on this adapter', () => {
  it('measures every variant, applies the fastest, frees what it made, and caches the choice', async () => {
    const ctx = await context();
    const created = ctx.arena.created;
    const bytes = ctx.arena.bytesInUse;
    const cache = memoryAutotuneCache();
    const tuned = await autotune(ctx, { cache, tiles: true });
    expect(tuned.fromCache).toBe(false);
    expect(['timestamp', 'wall']).toContain(tuned.method);
    // Every matmul variant at its default tiles, an extra tile config for a variant still in the race,
    // both row variants, and (with 'subgroups', as on SwiftShader) RMSNorm + attention with the chosen row variant and
    // with subgroups; nothing failed.
    const names = new Set(tuned.measurements.map((x) => `${x.kernel}:${x.variant}`));
    const rmsnorm = ctx.device.features.has('subgroups') ? [`subgroupRows:${tuned.rows}`, 'subgroupRows:subgroup'] : [];
    expect(names).toEqual(new Set(['matmul:blocked', 'matmul:tiled', 'matmul:vec4', 'rows:serial', 'rows:workgroup', ...rmsnorm]));
    expect(tuned.measurements.filter((x) => x.kernel === 'matmul' && x.defaultTiles)).toHaveLength(3);
    expect(tuned.measurements.length).toBeGreaterThan(4);
    for (const x of tuned.measurements) {
      expect(x.error).toBeUndefined();
      expect(x.milliseconds).toBeGreaterThan(0);
      expect(Number.isFinite(x.milliseconds)).toBe(true);
    }
    // The choice is the fastest of the measurements (any tiles), unless the preference it started from
    // came within KEEP_MARGIN of it; and it is applied with its tiles.
    const guess = saved!.preferences;
    const chosen = (kernel: 'matmul' | 'rows', current: string) => {
      const ms = tuned.measurements.filter((x) => x.kernel === kernel).sort((a, b) => a.milliseconds - b.milliseconds);
      const currentMs = ms.find((x) => x.variant === current)?.milliseconds;
      return currentMs !== undefined && currentMs <= KEEP_MARGIN * ms[0].milliseconds ? current : ms[0].variant;
    };
    expect(tuned.matmul).toBe(chosen('matmul', guess.matmul));
    expect(tuned.rows).toBe(chosen('rows', guess.rows));
    // matmulTiles = bestTiles for every variant whose other tiles were timed (the chosen one always is).
    const compared = MATMUL_VARIANTS.filter((v) => tuned.measurements.some((x) => x.variant === v && x.defaultTiles === false));
    expect(compared).toContain(tuned.matmul);
    expect(tuned.matmulTiles).toEqual(Object.fromEntries(compared.map((v) => [v, tuned.bestTiles[v]])));
    expect(ctx.preferences).toEqual({
      rows: tuned.rows, matmul: tuned.matmul, matmulTiles: tuned.matmulTiles, ...(tuned.subgroupRows ? { subgroupRows: true } : {}),
    });
    if (ctx.adapter.architecture === 'swiftshader') {
      // Barrier-heavy workgroup row kernels are ~50× slower on SwiftShader: not a close call; the subgroup
      // row kernels (still barriers per row) ≈ 10× slower than serial.
      expect(tuned.rows).toBe('serial');
      expect(tuned.subgroupRows).toBeUndefined();
    }
    // Its buffers lived in a private arena and were freed; the context's arena is untouched.
    expect(ctx.arena.created).toBe(created);
    expect(ctx.arena.bytesInUse).toBe(bytes);
    // Cached: the second call measures nothing.
    const pipelines = ctx.registry.compiledPipelines;
    ctx.preferences = { rows: 'workgroup', matmul: 'tiled' };
    const again = await autotune(ctx, { cache });
    expect(again.fromCache).toBe(true);
    expect(again.measurements).toEqual(tuned.measurements);
    expect(ctx.preferences).toEqual(preferencesOf(tuned));
    expect(ctx.registry.compiledPipelines).toBe(pipelines);
    // The page's report carries the preferences and the measurements, and survives structured cloning.
    const report = structuredClone(kernelChoiceReport(tuned));
    expect(report.preferences).toEqual(ctx.preferences);
    expect(report.measurements).toHaveLength(tuned.measurements.length);

    // A model built now uses the chosen variants.
    const model = await GpuModel.build(ctx, preset('tiny').model, { R: 1, B: 2, maxGradNorm: 1 });
    try {
      const labels = [...model.forward, ...model.backward].map((d) => d.label);
      // (vec4 builds its scalar-load entry point for operands that are not vec4-aligned: `matmul.vec4.scalar`.)
      const ours = (l: string) => l === `matmul.${tuned.matmul}` || l === `matmul.${tuned.matmul}.scalar`;
      expect(labels.some(ours)).toBe(true);
      expect(labels.some((l) => l.startsWith('matmul.') && !ours(l))).toBe(false);
      expect(labels).toContain(`rmsnormForward.${tuned.subgroupRows ? 'subgroup' : tuned.rows}`);
      expect(labels).toContain(`attentionForward.${tuned.subgroupRows ? 'subgroup' : tuned.rows}`);
    } finally {
      model.dispose();
    }
  });

  it('with tiles off only the default tile configurations are timed; dryRun leaves ctx.preferences', async () => {
    const ctx = await context();
    const before = { ...ctx.preferences };
    const tuned = await autotune(ctx, { cache: false, dryRun: true, tiles: false });
    const matmuls = tuned.measurements.filter((x) => x.kernel === 'matmul');
    expect(matmuls.map((x) => x.variant).sort()).toEqual(['blocked', 'tiled', 'vec4']);
    expect(matmuls.every((x) => x.defaultTiles === true)).toBe(true);
    expect(tuned.measurements.filter((x) => x.kernel === 'rows')).toHaveLength(2);
    expect(tuned.measurements.filter((x) => x.kernel === 'subgroupRows')).toHaveLength(ctx.device.features.has('subgroups') ? 2 : 0);
    expect(tuned.matmulTiles).toBeUndefined();
    expect(ctx.preferences).toEqual(before);
  });

  it('dryRun reports a cached choice without touching ctx.preferences', async () => {
    const ctx = await context();
    const before = { ...ctx.preferences };
    const other: KernelPreferences = { rows: before.rows === 'serial' ? 'workgroup' : 'serial', matmul: before.matmul };
    const tuned = await autotune(ctx, { cache: memoryAutotuneCache([result(other, adapterKey(ctx.adapter))]), dryRun: true });
    expect(tuned.rows).toBe(other.rows);
    expect(ctx.preferences).toEqual(before);
  });
});

describe('tile preferences in the matmul builder', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: ctx.preferences.matmulTiles changes the dispatch grid, results still match; explicit tiles win`, async () => {
      const ctx = await context();
      const R = 2, M = 37, N = 70, K = 35;
      const a = randomFloats(61, R * M * K), b = randomFloats(62, R * N * K);
      const expected = matmulReference(a, b, { R, M, N, K, transB: true });
      const block = matmulThreadBlock(variant);
      const grid = (t: { workgroupX: number; workgroupY: number }) =>
        [Math.ceil(N / (block.columns * t.workgroupX)), Math.ceil(M / (block.rows * t.workgroupY)), R];
      const chosen = MATMUL_EXTRA_TILES[variant][0];
      expect(grid(chosen)).not.toEqual(grid(MATMUL_DEFAULT_TILES[variant]));
      await withScope(ctx, async (scope) => {
        const io = { a: scope.upload('a', a), b: scope.upload('b', b), c: scope.zeros('c', R * M * N), R, M, N, K, transB: true, variant };
        ctx.preferences = { ...ctx.preferences, matmulTiles: {} };
        const byDefault = await matmul(ctx, io);
        expect(byDefault.workgroups).toEqual(grid(MATMUL_DEFAULT_TILES[variant]));

        ctx.preferences = { ...ctx.preferences, matmulTiles: { [variant]: chosen } };
        const tuned = await matmul(ctx, io);
        expect(tuned.workgroups).toEqual(grid(chosen));
        expect(tuned.pipeline).not.toBe(byDefault.pipeline); // other override constants: another pipeline
        scope.run([tuned]);
        expect(maxAbsError(await scope.read(io.c), expected)).toBeLessThanOrEqual(matmulTolerance(K));

        // An explicit tiles argument still overrides the preference (field by field).
        const explicit = await matmul(ctx, { ...io, tiles: { workgroupX: MATMUL_DEFAULT_TILES[variant].workgroupX } });
        expect(explicit.workgroups).toEqual(grid({ ...chosen, workgroupX: MATMUL_DEFAULT_TILES[variant].workgroupX }));
        // The other variants have no entry: they keep their defaults.
        for (const other of MATMUL_VARIANTS.filter((v) => v !== variant)) {
          const otherBlock = matmulThreadBlock(other), t = MATMUL_DEFAULT_TILES[other];
          expect((await matmul(ctx, { ...io, variant: other })).workgroups)
            .toEqual([Math.ceil(N / (otherBlock.columns * t.workgroupX)), Math.ceil(M / (otherBlock.rows * t.workgroupY)), R]);
        }
      });
    });
  }
});

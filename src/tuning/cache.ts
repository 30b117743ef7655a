/**
 * Autotune's memory: a choice is cached per adapter (vendor/architecture/device/description, plus the
 * procedure's version) in localStorage (a page), IndexedDB (a Worker), or an in-memory map (Node, or a
 * Worker handed a result measured elsewhere). Whatever is read back is checked again: it may be stale or
 * hand-edited.
 */
import type { AdapterReport, KernelPreferences, MatmulTiles } from '../gpu/context';
import { isTestedMatmulTiles, MATMUL_VARIANTS } from '../kernels/matmul';
import { ROWS_VARIANTS, type AutotuneResult } from './decision';

/**
 * Bump when the measured kernels or the procedure change: older cached choices are then ignored. (Not
 * bumped for tile choices: an older entry without them is still a valid choice of variants.) 2: the
 * 'vec4' matmul and the 'subgroup' row kernels (RMSNorm, attention) joined the race, so a choice made without them is
 * measured again once; a version-1 result handed over directly still parses (no `subgroupRows`: false).
 */
export const AUTOTUNE_VERSION = 2;

/** Where choices are remembered. Either method may be asynchronous (IndexedDB in a Worker). */
export interface AutotuneCache {
  get(key: string): AutotuneResult | undefined | Promise<AutotuneResult | undefined>;
  set(key: string, result: AutotuneResult): void | Promise<void>;
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
  // Only `true` means anything (absent in results from before it existed); anything else is dropped.
  delete result.subgroupRows;
  if (v.subgroupRows === true) result.subgroupRows = true;
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

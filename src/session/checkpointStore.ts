/**
 * Where the training session keeps study checkpoints (src/engine/checkpoint.ts bytes) between page loads:
 * IndexedDB in the page's Worker, an in-memory map in Node tests and where IndexedDB is unavailable
 * (both behind one interface, so the session cannot tell them apart).
 *
 * One record per study: the key is the engine kind plus the study's config (canonical JSON, key order
 * irrelevant), so a save overwrites the previous save of the same study and a reload with the same URL
 * finds it. Because a study is a pure function of its config (every random draw flows from its seeds),
 * a checkpoint of a config is valid for any run of that config. At most MAX_STORED_CHECKPOINTS studies are
 * kept; saving another drops the least recently saved.
 *
 * IndexedDB layout (database `meap-playground`, version 1): object store `summaries` (key → summary,
 * listed without touching the data) and `data` (key → Uint8Array), written together in one transaction.
 */
import type { StudyConfig } from '../config/presets';
import type { EngineKind } from '../engine/types';

/** Why a checkpoint was written. */
export type CheckpointReason = 'auto' | 'manual' | 'hidden' | 'done';

/** What the page lists: everything about a stored checkpoint except its bytes. */
export interface CheckpointSummary {
  key: string;
  engine: EngineKind;
  config: StudyConfig;
  /** The page's name for the config (the preset it started from), for display and to restore the controls. */
  presetName: string;
  step: number;
  /** Date.now() of the save. */
  savedAt: number;
  /** Size of the encoded checkpoint in bytes. */
  bytes: number;
  reason: CheckpointReason;
}

export interface CheckpointRecord extends CheckpointSummary {
  /** encodeStudyCheckpoint bytes (validated again by decodeStudyCheckpoint on the way out). */
  data: Uint8Array;
}

export interface CheckpointStore {
  readonly kind: 'indexeddb' | 'memory';
  /** Stores (or replaces) the record under `record.key`, then drops the oldest beyond the limit. */
  put(record: CheckpointRecord): Promise<void>;
  get(key: string): Promise<CheckpointRecord | undefined>;
  /** Every stored checkpoint, most recently saved first. */
  list(): Promise<CheckpointSummary[]>;
  delete(key: string): Promise<void>;
}

export const MAX_STORED_CHECKPOINTS = 4;

function summaryOf(record: CheckpointRecord): CheckpointSummary {
  const { data: _data, ...summary } = record;
  return structuredClone(summary);
}

function newestFirst(list: CheckpointSummary[]): CheckpointSummary[] {
  return list.sort((a, b) => b.savedAt - a.savedAt);
}

/** A store that lives as long as the object (Node tests, and the fallback where IndexedDB is missing). */
export function memoryCheckpointStore(): CheckpointStore {
  const records = new Map<string, CheckpointRecord>();
  return {
    kind: 'memory',
    async put(record) {
      // A copy, as a real store would keep: later changes to the caller's bytes do not leak in.
      records.set(record.key, { ...summaryOf(record), data: record.data.slice() });
      const others = newestFirst([...records.values()].filter((r) => r.key !== record.key).map(summaryOf));
      for (const old of others.slice(MAX_STORED_CHECKPOINTS - 1)) records.delete(old.key);
    },
    async get(key) {
      const record = records.get(key);
      return record && { ...summaryOf(record), data: record.data.slice() };
    },
    async list() {
      return newestFirst([...records.values()].map(summaryOf));
    },
    async delete(key) {
      records.delete(key);
    },
  };
}

const DB_NAME = 'meap-playground';
const DB_VERSION = 1;
const SUMMARIES = 'summaries';
const DATA = 'data';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
  });
}

/** The browser store (page or Worker). Opening fails (and every call rejects) where IndexedDB is blocked. */
export function indexedDbCheckpointStore(factory: IDBFactory = indexedDB, name = DB_NAME): CheckpointStore {
  let opened: Promise<IDBDatabase> | undefined;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(name, DB_VERSION);
      req.onupgradeneeded = () => {
        const database = req.result;
        if (!database.objectStoreNames.contains(SUMMARIES)) database.createObjectStore(SUMMARIES);
        if (!database.objectStoreNames.contains(DATA)) database.createObjectStore(DATA);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
      req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab holding an older version'));
    });
    opened.catch(() => { opened = undefined; });
    return opened;
  };
  const list = async (): Promise<CheckpointSummary[]> => {
    const tx = (await db()).transaction(SUMMARIES, 'readonly');
    return newestFirst(await request(tx.objectStore(SUMMARIES).getAll() as IDBRequest<CheckpointSummary[]>));
  };
  return {
    kind: 'indexeddb',
    async put(record) {
      const database = await db();
      const existing = await list();
      const keep = new Set([record.key, ...existing.filter((s) => s.key !== record.key).slice(0, MAX_STORED_CHECKPOINTS - 1).map((s) => s.key)]);
      const tx = database.transaction([SUMMARIES, DATA], 'readwrite');
      const finished = done(tx);
      tx.objectStore(SUMMARIES).put(summaryOf(record), record.key);
      tx.objectStore(DATA).put(record.data, record.key);
      for (const s of existing) {
        if (keep.has(s.key)) continue;
        tx.objectStore(SUMMARIES).delete(s.key);
        tx.objectStore(DATA).delete(s.key);
      }
      await finished;
    },
    async get(key) {
      const tx = (await db()).transaction([SUMMARIES, DATA], 'readonly');
      const [summary, data] = await Promise.all([
        request(tx.objectStore(SUMMARIES).get(key) as IDBRequest<CheckpointSummary | undefined>),
        request(tx.objectStore(DATA).get(key) as IDBRequest<unknown>),
      ]);
      if (!summary || !(data instanceof Uint8Array)) return undefined;
      return { ...summary, data };
    },
    list,
    async delete(key) {
      const tx = (await db()).transaction([SUMMARIES, DATA], 'readwrite');
      const finished = done(tx);
      tx.objectStore(SUMMARIES).delete(key);
      tx.objectStore(DATA).delete(key);
      await finished;
    },
  };
}

/** IndexedDB where the environment has it, else memory (then checkpoints last only as long as the Worker). */
export function defaultCheckpointStore(): CheckpointStore {
  return typeof indexedDB !== 'undefined' ? indexedDbCheckpointStore(indexedDB) : memoryCheckpointStore();
}

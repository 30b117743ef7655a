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
 * Whatever is read back is checked like an upload (src/session/checkpointSummary.ts): an entry that is not a
 * readable checkpoint is listed as unreadable (with its key, so it can be deleted), never returned as one.
 */
import {
  readCheckpointSummaries, readCheckpointSummary, storageKeyText, type CheckpointSummary, type UnreadableCheckpoint,
} from './checkpointSummary';

export type { CheckpointReason, CheckpointSummary, UnreadableCheckpoint } from './checkpointSummary';

/** Everything the store holds: the readable summaries (most recent first) and the entries that are not. */
export interface CheckpointListing {
  summaries: CheckpointSummary[];
  unreadable: UnreadableCheckpoint[];
}

export interface CheckpointRecord extends CheckpointSummary {
  /** encodeStudyCheckpoint bytes (validated again by decodeStudyCheckpoint on the way out). */
  data: Uint8Array;
}

export interface CheckpointStore {
  readonly kind: 'indexeddb' | 'memory';
  /** Stores (or replaces) the record under `record.key`, then drops the oldest beyond the limit. */
  put(record: CheckpointRecord): Promise<void>;
  /** The record of `key` (undefined when none); rejects with one line when the stored entry is unreadable. */
  get(key: string): Promise<CheckpointRecord | undefined>;
  /** Every readable stored checkpoint, most recently saved first. */
  list(): Promise<CheckpointSummary[]>;
  /** The same, and every stored entry that is not a readable checkpoint (checked like an upload). */
  listAll(): Promise<CheckpointListing>;
  /** Deletes `key` (a readable checkpoint's key or an unreadable entry's `key`). */
  delete(key: string): Promise<void>;
}

export const MAX_STORED_CHECKPOINTS = 4;

function summaryOf(record: CheckpointRecord): CheckpointSummary {
  const { data: _data, ...summary } = record;
  return structuredClone(summary);
}

/** A store that lives as long as the object (Node tests, and the fallback where IndexedDB is missing). */
export function memoryCheckpointStore(): CheckpointStore {
  const records = new Map<string, CheckpointRecord>();
  // Checked on the way out like IndexedDB's entries: a test (or a caller) can put anything here.
  const listAll = async (): Promise<CheckpointListing> => readCheckpointSummaries([...records].map(([key, r]) => [key, summaryOf(r)]));
  return {
    kind: 'memory',
    async put(record) {
      // A copy, as a real store would keep: later changes to the caller's bytes do not leak in.
      records.set(record.key, { ...summaryOf(record), data: record.data.slice() });
      const others = (await listAll()).summaries.filter((r) => r.key !== record.key);
      for (const old of others.slice(MAX_STORED_CHECKPOINTS - 1)) records.delete(old.key);
    },
    async get(key) {
      const record = records.get(key);
      return record && { ...checkedSummary(key, summaryOf(record)), data: record.data.slice() };
    },
    async list() {
      return (await listAll()).summaries;
    },
    listAll,
    async delete(key) {
      records.delete(key);
    },
  };
}

/** The summary stored under `key`, checked; an unreadable one rejects the read with one line. */
function checkedSummary(key: unknown, value: unknown): CheckpointSummary {
  const read = readCheckpointSummary(value, key);
  if ('unreadable' in read) throw new Error(`the stored checkpoint is unreadable: ${read.unreadable.problem}`);
  return read.summary;
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
  // Entries stored under a key that is not text (never written by us) are listed under a text; deleting
  // that text deletes them.
  const foreignKeys = new Map<string, IDBValidKey>();
  const listAll = async (): Promise<CheckpointListing> => {
    const tx = (await db()).transaction([SUMMARIES, DATA], 'readonly');
    const [keys, values, dataKeys] = await Promise.all([
      request(tx.objectStore(SUMMARIES).getAllKeys()),
      request(tx.objectStore(SUMMARIES).getAll() as IDBRequest<unknown[]>),
      request(tx.objectStore(DATA).getAllKeys()),
    ]);
    foreignKeys.clear();
    const keyText = (key: unknown): string => {
      if (typeof key === 'string') return key;
      for (const [text, k] of foreignKeys) if (factory.cmp(k, key as IDBValidKey) === 0) return text;
      const text = storageKeyText(key, foreignKeys.size + 1);
      foreignKeys.set(text, key as IDBValidKey);
      return text;
    };
    const listing = readCheckpointSummaries(keys.map((key, i) => [key, values[i]]), keyText);
    const withData = new Set(dataKeys.filter((k) => typeof k === 'string'));
    const missing = listing.summaries.filter((s) => !withData.has(s.key));
    listing.summaries = listing.summaries.filter((s) => withData.has(s.key));
    listing.unreadable.push(...missing.map((s) => ({ key: s.key, problem: `its data (step ${s.step}) is missing` })));
    // Data left without a summary is invisible otherwise, and takes space.
    const summarized = new Set(keys.map(keyText));
    for (const key of dataKeys) if (!summarized.has(keyText(key))) listing.unreadable.push({ key: keyText(key), problem: 'its summary is missing' });
    return listing;
  };
  return {
    kind: 'indexeddb',
    async put(record) {
      const database = await db();
      const existing = (await listAll()).summaries;
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
        request(tx.objectStore(SUMMARIES).get(key) as IDBRequest<unknown>),
        request(tx.objectStore(DATA).get(key) as IDBRequest<unknown>),
      ]);
      if (summary === undefined) return undefined;
      const checked = checkedSummary(key, summary);
      if (!(data instanceof Uint8Array)) throw new Error(`the stored checkpoint is unreadable: its data is ${data === undefined ? 'missing' : 'not bytes'}`);
      return { ...checked, data };
    },
    async list() {
      return (await listAll()).summaries;
    },
    listAll,
    async delete(text) {
      const key = foreignKeys.get(text) ?? text;
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

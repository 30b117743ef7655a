/**
 * Just enough of IndexedDB for src/session/checkpointStore.ts in Node (no browser, no package): databases of
 * object stores holding structured clones under out-of-line keys; requests and transactions complete
 * asynchronously as in a browser. `stores` exposes the raw maps so a test can put anything there, as a hand
 * edit in the developer tools or another version of the page could.
 */

type Key = IDBValidKey;

function rank(k: Key): number {
  if (typeof k === 'number') return 0;
  if (k instanceof Date) return 1;
  if (typeof k === 'string') return 2;
  if (Array.isArray(k)) return 4;
  return 3;
}

/** IndexedDB's key order (numbers < dates < strings < binary < arrays), enough for the keys tests use. */
export function compareKeys(a: Key, b: Key): number {
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return (a as Date).getTime() - (b as Date).getTime();
  if (ra === 4) {
    const x = a as Key[], y = b as Key[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) { const c = compareKeys(x[i], y[i]); if (c !== 0) return c; }
    return x.length - y.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

class FakeRequest<T> {
  result!: T;
  error: DOMException | null = null;
  onsuccess: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onupgradeneeded: (() => void) | null = null;
  onblocked: (() => void) | null = null;
}

class FakeTransaction {
  oncomplete: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  error: DOMException | null = null;
  private pending = 0;
  private finished = false;
  constructor(private readonly db: FakeDatabase) {
    // A transaction with no requests still completes.
    setTimeout(() => this.maybeComplete(), 0);
  }
  objectStore(name: string) {
    const map = this.db.stores.get(name);
    if (!map) throw new DOMException(`no object store ${name}`, 'NotFoundError');
    const run = <T>(work: () => T): FakeRequest<T> => {
      const req = new FakeRequest<T>();
      this.pending++;
      setTimeout(() => {
        req.result = work();
        req.onsuccess?.();
        this.pending--;
        this.maybeComplete();
      }, 0);
      return req;
    };
    const sortedKeys = () => [...map.keys()].sort(compareKeys);
    const find = (key: Key) => [...map.keys()].find((k) => compareKeys(k, key) === 0);
    return {
      get: (key: Key) => run(() => { const k = find(key); return k === undefined ? undefined : structuredClone(map.get(k)); }),
      getAll: () => run(() => sortedKeys().map((k) => structuredClone(map.get(k)))),
      getAllKeys: () => run(() => sortedKeys()),
      put: (value: unknown, key: Key) => run(() => { const k = find(key); if (k !== undefined) map.delete(k); map.set(key, structuredClone(value)); return key; }),
      delete: (key: Key) => run(() => { const k = find(key); if (k !== undefined) map.delete(k); return undefined; }),
    };
  }
  private maybeComplete() {
    if (this.finished || this.pending > 0) return;
    this.finished = true;
    setTimeout(() => this.oncomplete?.(), 0);
  }
}

class FakeDatabase {
  readonly stores = new Map<string, Map<Key, unknown>>();
  version = 0;
  get objectStoreNames() {
    return { contains: (name: string) => this.stores.has(name) };
  }
  createObjectStore(name: string) {
    this.stores.set(name, new Map());
  }
  transaction(_names: string | string[], _mode?: string) {
    return new FakeTransaction(this);
  }
}

/** A fresh in-memory IDBFactory; `database(name)` gives a test the raw object stores. */
export function fakeIndexedDb() {
  const databases = new Map<string, FakeDatabase>();
  const factory = {
    cmp: (a: Key, b: Key) => Math.sign(compareKeys(a, b)),
    open(name: string, version = 1) {
      const req = new FakeRequest<FakeDatabase>();
      setTimeout(() => {
        let db = databases.get(name);
        if (!db) { db = new FakeDatabase(); databases.set(name, db); }
        req.result = db;
        if (db.version < version) { db.version = version; req.onupgradeneeded?.(); }
        req.onsuccess?.();
      }, 0);
      return req;
    },
  };
  return {
    factory: factory as unknown as IDBFactory,
    /** The raw object store `store` of database `name` (created by the checkpoint store's first open). */
    rawStore(name: string, store: string): Map<Key, unknown> {
      const map = databases.get(name)?.stores.get(store);
      if (!map) throw new Error(`open the database ${name} first`);
      return map;
    },
  };
}

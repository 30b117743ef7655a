/**
 * Property tests (fast-check, fixed seeds) of checkpoint summaries read back from IndexedDB
 * (src/session/checkpointStore.ts over test/fakeIndexedDb.ts) and of the page's copy of them
 * (src/store/checkpoints.ts): whatever a stored entry holds — a summary with fields missing, of the wrong
 * type, NaN or out of range, a partial or invalid config, a key that lies, a key that is not text, data
 * missing or not bytes, or no summary at all — listing never throws, every summary it returns passes the
 * checks restated here (so the page can render it), and every other entry is listed as unreadable, once,
 * with a one-line reason and a key that deletes it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { indexedDbCheckpointStore, memoryCheckpointStore, type CheckpointRecord, type CheckpointSummary } from '../src/session/checkpointStore';
import { checkpointKey } from '../src/session/checkpointKeys';
import { preset, type StudyConfig } from '../src/config/presets';
import { studyConfigIssue } from '../src/config/schema';
import { receiveCheckpointMessage, useCheckpoints } from '../src/store/checkpoints';
import { compareKeys, fakeIndexedDb } from './fakeIndexedDb';

/** Stores `value` under `key` as IndexedDB would (one entry per equal key: two equal dates are one key). */
function setRaw(map: Map<IDBValidKey, unknown>, key: IDBValidKey, value: unknown): void {
  for (const k of map.keys()) if (compareKeys(k, key) === 0) map.delete(k);
  map.set(key, structuredClone(value));
}

const RUNS = 150;
const DB = 'fuzz-checkpoints';

function validRecord(step = 4, savedAt = 1_700_000_000_000): CheckpointRecord {
  const config: StudyConfig = { ...preset('tiny'), steps: 40 };
  return {
    key: checkpointKey('webgpu', config), engine: 'webgpu', config, presetName: 'tiny', step, savedAt, bytes: 3,
    reason: 'auto', data: new Uint8Array([1, 2, 3]),
  };
}

/** A valid record's summary as a plain object, to corrupt. */
function rawSummary(step?: number, savedAt?: number): Record<string, unknown> {
  const { data: _data, ...summary } = validRecord(step, savedAt);
  return structuredClone(summary) as unknown as Record<string, unknown>;
}

/** The rules a listed summary must meet for the page to render and resume it, restated independently. */
function assertRenderable(s: CheckpointSummary): void {
  expect(typeof s.key).toBe('string');
  expect(['webgpu', 'cpu']).toContain(s.engine);
  expect(studyConfigIssue(s.config)).toBeNull();
  expect(typeof s.presetName).toBe('string');
  expect(Number.isSafeInteger(s.step) && s.step >= 0 && s.step <= s.config.steps).toBe(true);
  expect(Number.isSafeInteger(s.bytes) && s.bytes >= 0).toBe(true);
  expect(['auto', 'manual', 'hidden', 'done']).toContain(s.reason);
  // What CheckpointPanel does with it.
  expect(() => new Date(s.savedAt).toLocaleString('en-US', { month: 'short' })).not.toThrow();
  expect(() => `${s.config.task} ${s.config.arms.length} ${s.config.seedsPerArm} ${s.config.steps.toLocaleString('en-US')}`).not.toThrow();
}

const anyValue = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, maxDepth: 3 }),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 1e300, -1, 2 ** 53, 1.5, '', '4', null, undefined, [], {}),
);
const FIELDS = ['key', 'engine', 'config', 'presetName', 'step', 'savedAt', 'bytes', 'reason'] as const;
const CONFIG_PATHS = ['task', 'steps', 'arms', 'seedsPerArm', 'model', 'model.dModel', 'model.heads', 'optimizer', 'optimizer.lr', 'evaluation', 'taskOptions', 'batch'];

/** A stored summary: a valid one with a field dropped or replaced, its config cut or corrupted, or anything at all. */
const storedSummary = fc.oneof(
  fc.record({ field: fc.constantFrom(...FIELDS), value: anyValue, drop: fc.boolean() }).map(({ field, value, drop }) => {
    const s = rawSummary();
    if (drop) delete s[field]; else s[field] = value;
    return s;
  }),
  fc.record({ path: fc.constantFrom(...CONFIG_PATHS), value: anyValue, drop: fc.boolean() }).map(({ path, value, drop }) => {
    const s = rawSummary();
    const parts = path.split('.');
    let target = s.config as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) target = target[p] as Record<string, unknown>;
    if (drop) delete target[parts.at(-1)!]; else target[parts.at(-1)!] = value;
    return s;
  }),
  fc.constant({ ...rawSummary(), config: { task: 'needle' } }),
  fc.constant(rawSummary(99)),
  fc.constant(rawSummary(4, 1e20)),
  anyValue,
);
const storedKey = fc.oneof(fc.constant('same'), fc.string({ maxLength: 20 }), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }), fc.date({ noInvalidDate: true }));
const storedData = fc.oneof(fc.constant(new Uint8Array([1])), fc.constant(undefined), anyValue);
const entries = fc.array(fc.record({ key: storedKey, summary: fc.option(storedSummary, { nil: undefined }), data: storedData }), { minLength: 1, maxLength: 4 });

describe('checkpoint summaries read back from IndexedDB', () => {
  it('lists every entry once: a renderable summary or an unreadable entry that deletes', async () => {
    let unreadableSeen = 0;
    await fc.assert(fc.asyncProperty(entries, async (stored) => {
      const idb = fakeIndexedDb();
      const store = indexedDbCheckpointStore(idb.factory, DB);
      const good = validRecord(8, 1_800_000_000_000);
      await store.put(good);
      const summaries = idb.rawStore(DB, 'summaries');
      const data = idb.rawStore(DB, 'data');
      for (const e of stored) {
        // 'same' keys the entry as its (mutated) summary claims, the usual case of a corrupted record.
        const key = e.key === 'same' ? (e.summary as { key?: unknown } | undefined)?.key ?? 'same' : e.key;
        const validKey = typeof key === 'string' || typeof key === 'number' || Array.isArray(key) || key instanceof Date ? key as IDBValidKey : 'same';
        if (validKey === good.key) continue;
        if (e.summary !== undefined) setRaw(summaries, validKey, e.summary);
        if (e.data !== undefined) setRaw(data, validKey, e.data);
      }
      const rawKeys = [...summaries.keys(), ...data.keys()];
      const textKeys = new Set(rawKeys.filter((k) => typeof k === 'string'));
      const otherKeys = rawKeys.filter((k) => typeof k !== 'string');
      const distinctOther = otherKeys.filter((k, i) => otherKeys.findIndex((o) => compareKeys(o, k) === 0) === i).length;

      const listing = await store.listAll();
      for (const s of listing.summaries) assertRenderable(s);
      expect(listing.summaries.map((s) => s.key)).toContain(good.key);
      for (const u of listing.unreadable) {
        expect(u.problem).toMatch(/^[^\r\n]{1,301}$/);
        expect(textKeys.has(u.key) || u.key.startsWith('non-text key ')).toBe(true);
      }
      // Each stored key is listed once, either way (a key with neither summary nor data is not stored).
      const listed = [...listing.summaries.map((s) => s.key), ...listing.unreadable.map((u) => u.key)];
      expect(new Set(listed).size).toBe(listed.length);
      expect(new Set(listed.filter((k) => !k.startsWith('non-text key ')))).toEqual(textKeys);
      expect(listed.filter((k) => k.startsWith('non-text key ')).length).toBe(distinctOther);
      expect((await store.list()).every((s) => listing.summaries.some((x) => x.key === s.key))).toBe(true);
      unreadableSeen += listing.unreadable.length;

      for (const u of listing.unreadable) {
        // Resuming it is refused with one line (or finds nothing); it is never handed over as a checkpoint.
        const got = await store.get(u.key).then((r) => r, (error: Error) => error);
        if (got instanceof Error) expect(got.message).toMatch(/^the stored checkpoint is unreadable: [^\r\n]+$/);
        else expect(got).toBeUndefined();
        await store.delete(u.key);
      }
      const after = await store.listAll();
      expect(after.unreadable).toEqual([]);
      expect(after.summaries.map((s) => s.key).sort()).toEqual(listing.summaries.map((s) => s.key).sort());
    }), { seed: 0x1db18, numRuns: RUNS });
    expect(unreadableSeen).toBeGreaterThan(RUNS / 2);
  });

  it('the memory store checks what it returns the same way', async () => {
    await fc.assert(fc.asyncProperty(storedSummary, async (summary) => {
      const store = memoryCheckpointStore();
      const key = (summary as { key?: unknown } | null)?.key;
      await store.put({ ...(summary as object), key: typeof key === 'string' ? key : 'k', data: new Uint8Array(1) } as CheckpointRecord);
      const listing = await store.listAll();
      for (const s of listing.summaries) assertRenderable(s);
      expect(listing.summaries.length + listing.unreadable.length).toBe(1);
    }), { seed: 0x1db19, numRuns: RUNS });
  });

  it("the page's store keeps only renderable summaries of what the Worker sends, the rest as unreadable", () => {
    fc.assert(fc.property(fc.array(storedSummary, { maxLength: 4 }), (list) => {
      const good = validRecord();
      const { data: _data, ...goodSummary } = good;
      receiveCheckpointMessage({
        type: 'checkpoints', list: [goodSummary, ...list] as CheckpointSummary[], unreadable: [], store: 'indexeddb', problem: null, everySteps: 100, maxIntervalMs: 1,
      });
      const { saved, unreadable, offer } = useCheckpoints.getState();
      for (const s of saved) assertRenderable(s);
      if (offer) assertRenderable(offer);
      expect(saved.length + unreadable.length).toBe(list.length + 1);
      expect(saved.some((s) => s.key === good.key)).toBe(true);
    }), { seed: 0x1db1a, numRuns: RUNS });
  });
});

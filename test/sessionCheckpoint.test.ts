/**
 * Checkpoints through the training session (issue 5 item 1, issue 7 item 3), with the in-memory store the
 * Worker's IndexedDB store shares its interface with: autosave, save on demand, resume in a NEW session
 * (a reload) continuing bit-identically, refusal of bad records, the last good checkpoint kept when a
 * run's state is poisoned, and the model files of a run (safetensors, config.json, ONNX + probe).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { TrainingSession, type SessionOptions } from '../src/session/session';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import type { FromTrainer } from '../src/session/protocol';
import { decodeStudyCheckpoint, encodeStudyCheckpoint } from '../src/engine/checkpoint';
import { memoryCheckpointStore, type CheckpointStore, MAX_STORED_CHECKPOINTS, type CheckpointSummary } from '../src/session/checkpointStore';
import { readSessionExtra } from '../src/session/checkpointExtra';
import { readSafetensors, writeSafetensors } from '../src/export/safetensors';
import { checkedStudyConfig } from '../src/config/validate';
import { modelConfigFromHf } from '../src/export/hfConfig';
import { inputIdsFrom, ONNX_INPUT, ONNX_LOGITS } from '../src/export/onnx';
import { parameterCount, parameterLayout } from '../src/model/layout';
import { applyMessages, useRuns } from '../src/store/runs';
import { pickOffer } from '../src/store/checkpoints';
import { testContext } from './gpuContext';
import type { HistoryPoint } from '../src/engine/types';
import { checkpointKey } from '../src/session/checkpointKeys';

ort.env.wasm.numThreads = 1;

type Message<K extends FromTrainer['type']> = Extract<FromTrainer, { type: K }>;

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 12, evaluation: { every: 4, count: 8, buckets: 2, seed: 5 }, ...overrides };
}

function harness(options: Partial<SessionOptions> = {}) {
  const messages: FromTrainer[] = [];
  const session = new TrainingSession({
    post: (message) => { messages.push(message); },
    createContext: testContext,
    reportEveryMs: 0, // a trainLoss message after every step: per-step losses to compare
    ...options,
  });
  const of = <K extends FromTrainer['type']>(type: K, from = 0) =>
    messages.slice(from).filter((m): m is Message<K> => m.type === type);
  const waitFor = async <K extends FromTrainer['type']>(type: K, predicate: (m: Message<K>) => boolean = () => true, from = 0): Promise<Message<K>> => {
    const deadline = performance.now() + 90_000;
    for (;;) {
      const found = of(type, from).find(predicate);
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${type}; got ${messages.slice(from).map((m) => m.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const done = (m: FromTrainer) => m.type === 'state' && m.state === 'done';
  const waitDone = async () => {
    while (!messages.some(done)) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { session, messages, of, waitFor, waitDone };
}

/** Element index of the final RMSNorm's weight in a run's block: every position's logits read it. */
const finalNorm = (config: StudyConfig) => parameterLayout(config.model).tensors.find((t) => t.name === 'model.norm.weight')!.offset;

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
/** An evaluation without its speed field (wall-clock, differs run to run). */
const withoutSpeed = (points: HistoryPoint[]) => points.map(({ tokensPerSec: _speed, ...rest }) => rest);

describe('session checkpoints', () => {
  it('autosaves every N steps; a new session (a reload) resumes the saved step and continues bit-identically', async () => {
    const config = tinyStudy();
    // Uninterrupted: 12 steps, autosaving every 4 (saving reads the state only, so it must not change training).
    const storeA = memoryCheckpointStore();
    const a = harness({ checkpointStore: storeA, checkpointEvery: 4 });
    await a.session.handle({ type: 'configure', config, presetName: 'tiny' });
    await a.session.handle({ type: 'start' });
    await a.waitDone();
    const saves = a.of('checkpointSaved');
    expect(saves.map((m) => [m.summary.step, m.summary.reason, m.stored])).toEqual([[4, 'auto', true], [8, 'auto', true], [12, 'done', true]]);
    expect(saves[0].summary.key).toBe(checkpointKey('webgpu', config));
    expect(saves[0].summary.presetName).toBe('tiny');
    expect((await storeA.list()).map((s) => s.step)).toEqual([12]); // one record per study, overwritten
    const lossesA = new Map(a.of('trainLoss').map((m) => [m.step, m.losses]));
    expect([...lossesA.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const evalsA = a.of('evaluation');
    const finalA = await a.session.currentEngine!.saveState();
    await a.session.dispose();

    // Interrupted: 6 single steps, a checkpoint on demand, then the session goes away (the page reloads).
    const store = memoryCheckpointStore();
    const b = harness({ checkpointStore: store, checkpointEvery: 1000 });
    await b.session.handle({ type: 'configure', config, presetName: 'tiny' });
    for (let i = 0; i < 6; i++) await b.session.handle({ type: 'step' });
    await b.session.handle({ type: 'checkpoint' });
    const saved = await b.waitFor('checkpointSaved');
    expect(saved).toMatchObject({ stored: true, problem: null, summary: { step: 6, reason: 'manual', engine: 'webgpu' } });
    await b.session.dispose();

    // The reloaded page: a fresh session builds the URL's study, lists the store, and resumes.
    const c = harness({ checkpointStore: store, checkpointEvery: 1000 });
    await c.session.handle({ type: 'init', allowCpuFallback: true });
    await c.session.handle({ type: 'configure', config, presetName: 'other-name' });
    await c.session.handle({ type: 'listCheckpoints' });
    const listed = c.of('checkpoints')[0];
    expect(listed.store).toBe('memory');
    expect(listed.list.map((s) => [s.step, s.key, s.presetName])).toEqual([[6, checkpointKey('webgpu', config), 'tiny']]);
    const from = c.messages.length;
    await c.session.handle({ type: 'resume', key: listed.list[0].key });
    expect(c.messages.slice(from).map((m) => (m.type === 'state' ? `${m.state}@${m.step}` : m.type)))
      .toEqual(['building@0', 'built', 'restored', 'paused@6']);
    const restored = c.of('restored')[0];
    expect(restored).toMatchObject({ reason: 'resume', step: 6, lostSteps: 0 });
    // The page gets the curves up to the saved step: the same numbers the interrupted run posted.
    expect(restored.history.train.steps).toEqual([1, 2, 3, 4, 5, 6]);
    restored.history.train.steps.forEach((step, k) => expect(sameBits(restored.history.train.losses[k], lossesA.get(step)!)).toBe(true));
    expect(restored.history.evals.steps).toEqual([4]);
    expect(withoutSpeed(restored.history.evals.points[0])).toEqual(withoutSpeed(evalsA[0].points));
    expect(c.session.currentEngine!.step).toBe(6);

    await c.session.handle({ type: 'start' });
    await c.waitDone();
    const resumedLosses = c.of('trainLoss', from);
    expect(resumedLosses.map((m) => m.step)).toEqual([7, 8, 9, 10, 11, 12]);
    for (const m of resumedLosses) expect(sameBits(m.losses, lossesA.get(m.step)!), `step ${m.step}`).toBe(true);
    // Evaluations match too, including the mean training loss since the previous evaluation (steps 5–8
    // straddle the checkpoint: the session's loss accounting travels in the checkpoint).
    const evalsC = c.of('evaluation', from);
    expect(evalsC.map((m) => m.step)).toEqual([8, 12]);
    evalsC.forEach((m, k) => expect(withoutSpeed(m.points)).toEqual(withoutSpeed(evalsA[k + 1].points)));
    const finalC = await c.session.currentEngine!.saveState();
    for (const name of ['params', 'm', 'v'] as const) expect(sameBits(finalC[name], finalA[name]), name).toBe(true);
    expect(finalC.dataRngStates).toEqual(finalA.dataRngStates);
    expect(finalC.maskRngStates).toEqual(finalA.maskRngStates);
    expect(c.of('error')).toEqual([]);
    await c.session.dispose();
    expect((await store.list()).map((s) => s.step)).toEqual([12]); // saved when done

    // A page that trains the same study from step 0 instead of resuming never wipes out the stored progress.
    const d = harness({ checkpointStore: store, checkpointEvery: 2 });
    await d.session.handle({ type: 'configure', config });
    await d.session.handle({ type: 'step' });
    await d.session.handle({ type: 'step' });
    const kept = await d.waitFor('checkpointSaved');
    expect(kept).toMatchObject({ stored: false, summary: { step: 2 } });
    expect(kept.problem).toMatch(/keeps the checkpoint of this same study at step 12 \(further along\).*kept in memory only/);
    expect(d.session.lastGoodCheckpoint!.state.step).toBe(2); // still the one a device loss recovers from
    expect((await store.list()).map((s) => s.step)).toEqual([12]);
    await d.session.dispose();
  });

  it('autosaves after at most the time limit, and only when something is new; the store keeps the newest studies', async () => {
    const store = memoryCheckpointStore();
    const h = harness({ checkpointStore: store, checkpointEvery: 1000, checkpointMaxIntervalMs: 0 });
    await h.session.handle({ type: 'configure', config: tinyStudy({ steps: 3 }) });
    await h.session.handle({ type: 'checkpoint', reason: 'hidden' }); // step 0: nothing to say
    await h.session.handle({ type: 'checkpoint' });
    expect(h.of('checkpointNotSaved').map((m) => m.message)).toEqual(['Nothing to save yet: the study has not taken a step.']);
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'checkpoint', reason: 'hidden' }); // nothing new since step 2
    await h.session.handle({ type: 'listCheckpoints' });
    expect(h.of('checkpointSaved').map((m) => m.summary.step)).toEqual([1, 2]);
    // Settings are checked.
    await h.session.handle({ type: 'checkpointSettings', everySteps: 0 });
    expect(h.of('error').at(-1)!.message).toMatch(/whole number of steps ≥ 1/);
    await h.session.dispose();

    const many = memoryCheckpointStore();
    const data = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < MAX_STORED_CHECKPOINTS + 2; i++) {
      const config = tinyStudy({ baseSeed: i });
      await many.put({ key: checkpointKey('webgpu', config), engine: 'webgpu', config, presetName: 'tiny', step: 1, savedAt: 1000 + i, bytes: 3, reason: 'auto', data });
    }
    const kept = await many.list();
    expect(kept.map((s) => s.config.baseSeed)).toEqual([5, 4, 3, 2]);
    // The key does not depend on the config's key order.
    const config = tinyStudy();
    const reordered = Object.fromEntries(Object.entries(config).reverse()) as StudyConfig;
    expect(checkpointKey('webgpu', reordered)).toBe(checkpointKey('webgpu', config));
    expect(checkpointKey('cpu', config)).not.toBe(checkpointKey('webgpu', config));
  });

  it('a corrupt, missing or other-engine checkpoint is refused with a message and changes nothing', async () => {
    const store = memoryCheckpointStore();
    const h = harness({ checkpointStore: store });
    const config = tinyStudy();
    await h.session.handle({ type: 'configure', config });
    for (let i = 0; i < 3; i++) await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'checkpoint' });
    await h.waitFor('checkpointSaved');
    const good = (await store.get(checkpointKey('webgpu', config)))!;
    await store.delete(good.key); // room for the four bad records below (the store keeps four studies)
    const engine = h.session.currentEngine!;
    const before = await engine.saveState();

    const put = (key: string, data: Uint8Array, extra: Partial<Parameters<CheckpointStore['put']>[0]> = {}) =>
      store.put({ ...good, key, data, ...extra });
    const truncated = good.data.slice(0, good.data.length - 10);
    await put('truncated', truncated);
    const poisoned = decodeStudyCheckpoint(good.data);
    poisoned.state.params[5] = Number.NaN;
    await put('nan', encodeStudyCheckpoint(poisoned));
    const badHistory = decodeStudyCheckpoint(good.data);
    badHistory.extra = { format: 'meap-session', version: 1, history: { train: { steps: [3, 2] } } };
    await put('history', encodeStudyCheckpoint(badHistory));
    await put('cpu', good.data, { engine: 'cpu' });

    const cases: [string, RegExp][] = [
      ['truncated', /truncated/],
      ['nan', /non-finite value at index 5/],
      ['history', /metric history is malformed/],
      ['cpu', /saved by the CPU fallback and this page trains with the WebGPU engine/],
      ['gone', /no longer stored/],
    ];
    for (const [key, reason] of cases) {
      const from = h.messages.length;
      await h.session.handle({ type: 'resume', key });
      const errors = h.of('error', from);
      expect(errors.map((m) => m.message), key).toEqual([expect.stringMatching(reason)]);
      expect(errors[0].message).toMatch(/^Cannot resume: /);
      expect(h.of('built', from), key).toEqual([]);
      expect(h.session.currentEngine, key).toBe(engine);
    }
    const after = await engine.saveState();
    expect(sameBits(after.params, before.params) && after.step === 3).toBe(true);
    expect(readSessionExtra(decodeStudyCheckpoint(good.data).extra, 2, 3).history.train.steps).toEqual([1, 2, 3]);
    await h.session.dispose();
  });

  it('a run with a poisoned state never overwrites its last good checkpoint; the other run keeps saving', async () => {
    const ctx = await testContext();
    let study: Study | undefined;
    const store = memoryCheckpointStore();
    const h = harness({
      checkpointStore: store, checkpointEvery: 2,
      createGpuEngine: async (c, config) => (study = await Study.create(c, config)),
    });
    const config = tinyStudy({ steps: 20 });
    await h.session.handle({ type: 'configure', config });
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'step' });
    await h.waitFor('checkpointSaved', (m) => m.summary.step === 2);
    const good = h.session.lastGoodCheckpoint!.state;
    const P = good.params.length / 2;
    // Corrupt run 1's weights (as a memory fault would): its loss turns NaN at step 3 and it is stopped.
    ctx.device.queue.writeBuffer(study!.model.paramsBuffer, 4 * (P + finalNorm(config)), new Float32Array([Number.NaN]));
    await h.session.handle({ type: 'step' });
    expect(h.of('runFailed').map((m) => [m.run, m.step])).toEqual([[1, 3]]);
    expect(h.of('runFailed')[0].message).toMatch(/last good checkpoint/);
    await h.session.handle({ type: 'step' });
    const at4 = await h.waitFor('checkpointSaved', (m) => m.summary.step === 4);
    expect(at4.stored).toBe(true);
    // Stored at step 4: decodable (a NaN would be refused), run 1 = its step-2 state and stopped, run 0 current.
    const record = decodeStudyCheckpoint((await store.get(at4.summary.key))!.data);
    expect(record.state.step).toBe(4);
    expect(record.state.frozen).toEqual([false, true]);
    const live = await study!.saveState();
    expect(live.params[P + finalNorm(config)]).toBeNaN();
    for (const name of ['params', 'm', 'v'] as const) {
      expect(sameBits(record.state[name].subarray(P), good[name].subarray(P)), `run 1 ${name}`).toBe(true);
      expect(sameBits(record.state[name].subarray(0, P), live[name].subarray(0, P)), `run 0 ${name}`).toBe(true);
    }
    expect(readSessionExtra(record.extra, 2, 4).history.failures.map((f) => [f.run, f.step])).toEqual([[1, 3]]);

    // Resuming that checkpoint: run 0 goes on, run 1 stays stopped (and is reported stopped in the history).
    const r = harness({ checkpointStore: store });
    await r.session.handle({ type: 'resume', key: at4.summary.key });
    expect(r.of('restored')[0].history.failures.map((f) => f.run)).toEqual([1]);
    expect(r.session.currentEngine!.isFrozen(1)).toBe(true);
    expect(r.session.currentEngine!.isFrozen(0)).toBe(false);
    await r.session.dispose();

    // Now run 0 is poisoned too: the study fails and the step-4 checkpoint stays the last one.
    ctx.device.queue.writeBuffer(study!.model.paramsBuffer, 4 * finalNorm(config), new Float32Array([Number.NaN]));
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'checkpoint' });
    expect(h.of('state').at(-1)!.state).toBe('failed');
    expect(h.of('checkpointNotSaved').at(-1)!.message).toMatch(/last good checkpoint \(step 4\) is kept/);
    expect((await store.list()).map((s) => s.step)).toEqual([4]);
    await h.session.dispose();
  });

  it('a poisoned run with no earlier checkpoint is not saved at all', async () => {
    const ctx = await testContext();
    let study: Study | undefined;
    const store = memoryCheckpointStore();
    const h = harness({ checkpointStore: store, checkpointEvery: 2, createGpuEngine: async (c, config) => (study = await Study.create(c, config)) });
    const config = tinyStudy();
    await h.session.handle({ type: 'configure', config });
    ctx.device.queue.writeBuffer(study!.model.paramsBuffer, 4 * finalNorm(config), new Float32Array([Number.POSITIVE_INFINITY]));
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'step' });
    expect(h.of('runFailed').map((m) => m.run)).toEqual([0]);
    expect(h.of('checkpointNotSaved').map((m) => m.message)).toEqual([expect.stringMatching(/No checkpoint at step 2: run 0's weights .* not finite/)]);
    expect(await store.list()).toEqual([]);
    await h.session.dispose();
  });

  it('model files: safetensors + config.json of a run, ONNX whose onnxruntime logits match the probe of our forward; uploads load into a run', async () => {
    const h = harness();
    const config = tinyStudy();
    await h.session.handle({ type: 'configure', config });
    for (let i = 0; i < 4; i++) await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'exportModel', requestId: 7, run: 1, onnx: true });
    const { files, error } = h.of('modelFiles')[0];
    expect(error).toBeNull();
    expect(files).toMatchObject({ run: 1, step: 4, engine: 'webgpu' });
    const state = await h.session.currentEngine!.saveState();
    const P = state.params.length / 2;
    const parsed = readSafetensors(files!.safetensors, { checkStudy: checkedStudyConfig });
    expect(sameBits(parsed.params, state.params.subarray(P))).toBe(true);
    expect(parsed.study).toEqual(config);
    expect(JSON.parse(parsed.metadata.meap_run)).toMatchObject({ run: 1, objective: 'meap', step: 4 });
    expect(modelConfigFromHf(JSON.parse(files!.configJson))).toEqual(parsed.config);

    // The probe is our forward; onnxruntime (wasm) runs the exported model on the same tokens.
    const probe = files!.probe!;
    const T = config.model.context, V = config.model.vocabSize;
    expect(probe.tokens).toHaveLength(T);
    expect(probe.rows).toHaveLength(Math.min(config.batch, T));
    expect(probe.rows.at(-1)).toBe(T - 1);
    // The page runs it with the input and the names the Worker sent (it does not import the exporter).
    expect(probe.inputIds).toEqual(inputIdsFrom(probe.tokens, 1, T));
    expect([probe.inputName, probe.logitsName]).toEqual([ONNX_INPUT, ONNX_LOGITS]);
    const session = await ort.InferenceSession.create(files!.onnx!, { executionProviders: ['wasm'] });
    const out = await session.run({ [probe.inputName]: new ort.Tensor('int64', probe.inputIds, [1, T]) });
    await session.release();
    const logits = out[probe.logitsName].data as Float32Array;
    let worst = 0;
    probe.rows.forEach((row, k) => {
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[row * V + v] - probe.logits[k * V + v]));
    });
    expect(worst).toBeLessThan(1e-4);
    // …and the probe row really is run 1's: run 0's logits differ.
    await h.session.handle({ type: 'exportModel', requestId: 8, run: 0, onnx: true });
    const run0 = h.of('modelFiles')[1].files!.probe!;
    expect(sameBits(run0.logits, probe.logits)).toBe(false);

    // The Worker reads an upload (the page only passes the bytes and the config.json's text on).
    const upload = { name: 'run1.safetensors', safetensors: files!.safetensors, configJson: { name: 'config.json', text: files!.configJson } };
    await h.session.handle({ type: 'readModel', requestId: 12, upload });
    expect(h.of('modelRead')[0]).toEqual({
      type: 'modelRead', requestId: 12, error: null,
      model: {
        config: parsed.config, parameterCount: parameterCount(parameterLayout(config.model)), study: { task: 'needle', steps: config.steps },
        meapRun: parsed.metadata.meap_run, fits: true, mismatch: null,
      },
    });
    const other = { ...config.model, layers: config.model.layers + 1 };
    const otherBytes = writeSafetensors(other, new Float32Array(parameterLayout(other).P));
    await h.session.handle({ type: 'readModel', requestId: 13, upload: { name: 'deeper.safetensors', safetensors: otherBytes, configJson: null } });
    expect(h.of('modelRead')[1].model).toMatchObject({ fits: false, study: null, meapRun: null });
    expect(h.of('modelRead')[1].model!.mismatch).toMatch(/layers/);
    await h.session.handle({ type: 'readModel', requestId: 14, upload: { name: 'junk.safetensors', safetensors: new TextEncoder().encode('not a model'), configJson: null } });
    expect(h.of('modelRead')[2]).toMatchObject({ model: null, error: expect.stringMatching(/^"junk\.safetensors" cannot be used: /) });
    await h.session.handle({ type: 'readModel', requestId: 15, upload: { ...upload, configJson: { name: 'my.json', text: '{ nope' } } });
    expect(h.of('modelRead')[3].error).toMatch(/^"my\.json" is not a usable config\.json: /);

    // Loading run 1's file into run 0: run 0 then exports the same weights; a mismatched model is refused.
    await h.session.handle({ type: 'loadModel', requestId: 9, run: 0, upload });
    expect(h.of('modelLoaded')[0]).toMatchObject({ requestId: 9, run: 0, step: 4, error: null });
    const loaded = await h.session.currentEngine!.saveState();
    expect(sameBits(loaded.params.subarray(0, P), state.params.subarray(P))).toBe(true);
    expect(loaded.m.subarray(0, P).every((x) => x === 0)).toBe(true);
    expect(sameBits(loaded.params.subarray(P), state.params.subarray(P))).toBe(true);
    await h.session.handle({ type: 'loadModel', requestId: 10, run: 1, upload: { name: 'deeper.safetensors', safetensors: otherBytes, configJson: null } });
    expect(h.of('modelLoaded')[1].error).toMatch(/does not fit this study/);
    await h.session.handle({ type: 'loadModel', requestId: 16, run: 1, upload: { name: 'junk.safetensors', safetensors: new Uint8Array(12), configJson: null } });
    expect(h.of('modelLoaded')[2].error).toMatch(/^"junk\.safetensors" cannot be used: /);
    await h.session.handle({ type: 'exportModel', requestId: 11, run: 5, onnx: false });
    expect(h.of('modelFiles')[2].error).toMatch(/There is no run 5/);
    const unchanged = await h.session.currentEngine!.saveState();
    expect(sameBits(unchanged.params, loaded.params)).toBe(true);
    // Training goes on from the loaded weights.
    await h.session.handle({ type: 'step' });
    expect(h.session.currentEngine!.step).toBe(5);
    expect(h.of('error')).toEqual([]);
    await h.session.dispose();
  });
});

const TASK_VIEW = {
  segmentNames: ['context before', 'needle', 'context after', 'query', 'answer'], inputSegments: 4,
  tokenNames: [], characters: null, bucketLabel: 'needle depth', examples: [],
};

describe('page side of checkpoints', () => {
  const point = (step: number, v: number): HistoryPoint => ({ step, trainLoss: v, valLoss: v, retrievalAcc: 0.5, accByDepth: [0.5], tokensPerSec: 10 });

  it("the runs store replaces its series by a restored checkpoint's history; a crashed Worker leaves a stopped study", () => {
    const config = tinyStudy();
    const runs = [{ arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' as const }, { arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' as const }];
    let s = applyMessages(useRuns.getState(), [
      { type: 'built', runs, parameterCount: 10, memoryBytes: 100, config, task: TASK_VIEW },
      { type: 'trainLoss', step: 1, losses: [5, 5], stepsPerSecond: 2, tokensPerSecond: 20 },
      { type: 'trainLoss', step: 2, losses: [4, 4], stepsPerSecond: 2, tokensPerSecond: 20 },
      { type: 'built', runs, parameterCount: 10, memoryBytes: 100, config, task: TASK_VIEW },
      {
        type: 'restored', reason: 'resume', step: 8, lostSteps: 0, message: 'Resumed from the checkpoint of step 8.',
        history: {
          train: { steps: [4, 8], losses: [[3, 3.5], [2, Number.NaN]] },
          evals: { steps: [4, 8], points: [[point(4, 3), point(4, 3.1)], [point(8, 2), point(8, 2.1)]] },
          speed: { steps: [4, 8], stepsPerSecond: [4, 5], tokensPerSecond: [40, 50] },
          failures: [{ run: 1, step: 7, message: 'stopped' }],
        },
      },
      { type: 'state', state: 'paused', step: 8 },
      { type: 'trainLoss', step: 8, losses: [9, 9], stepsPerSecond: 1, tokensPerSecond: 1 }, // stale: ignored
      { type: 'trainLoss', step: 9, losses: [1.5, 2.5], stepsPerSecond: 1, tokensPerSecond: 1 },
    ]);
    expect(s.step).toBe(9);
    expect(s.state).toBe('paused');
    expect(s.train).toEqual({ steps: [4, 8, 9], loss: [[3, 2, 1.5], [3.5, null, 2.5]] });
    expect(s.evals.steps).toEqual([4, 8]);
    expect(s.evals.points[1].map((p) => p.valLoss)).toEqual([3.1, 2.1]);
    expect(s.speed.msPerStep).toEqual([250, 200, 1000]);
    expect(s.failures).toEqual([{ run: 1, step: 7, message: 'stopped' }]);
    s = applyMessages(s, [{ type: 'crashed', message: 'The training worker failed: boom' }]);
    expect(s).toMatchObject({ state: 'failed', error: 'The training worker failed: boom', step: 9 });
  });

  it('offers the checkpoint of the study on screen first, never its own latest save or one it has already passed', () => {
    const a = tinyStudy(), b = tinyStudy({ baseSeed: 9 });
    const summary = (config: StudyConfig, step: number, savedAt: number, engine: 'webgpu' | 'cpu' = 'webgpu'): CheckpointSummary => ({
      key: checkpointKey(engine, config), engine, config, presetName: 'tiny', step, savedAt, bytes: 1, reason: 'auto',
    });
    const saved = [summary(b, 30, 300), summary(a, 20, 200), summary(a, 50, 100, 'cpu')];
    const keyA = checkpointKey('webgpu', a);
    expect(pickOffer(saved, 'webgpu', keyA, null, 0)?.step).toBe(20); // the URL's study, though older
    expect(pickOffer(saved, 'webgpu', keyA, null, 20)?.step).toBe(30); // passed it: the most recent other one
    expect(pickOffer(saved, 'webgpu', keyA, saved[1], 0)?.step).toBe(30); // it is this study's own save
    expect(pickOffer(saved, 'cpu', keyA, null, 0)?.step).toBe(50); // only the engine's own kind
    expect(pickOffer([], 'webgpu', keyA, null, 0)).toBeNull();
  });
});

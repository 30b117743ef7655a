import { describe, expect, it } from 'vitest';
import { snapshotMaskPositions, topCandidates, TrainingSession, type SessionOptions } from '../src/session/session';
import { createTrainerClient, type WorkerLike } from '../src/session/client';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import type { AttentionSnapshot, FromTrainer } from '../src/session/protocol';
import type { StudyEngine } from '../src/engine/studyEngine';
import { noAdapterHelp, WebGpuUnavailableError } from '../src/gpu/errors';
import { testContext } from './gpuContext';

type Message<K extends FromTrainer['type']> = Extract<FromTrainer, { type: K }>;

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 12, evaluation: { every: 4, count: 8, buckets: 2, seed: 5 }, ...overrides };
}

/** A session whose `post` collects every message (and its transfer list). */
function harness(options: Partial<SessionOptions> = {}) {
  const messages: FromTrainer[] = [];
  const transfers: Transferable[][] = [];
  const session = new TrainingSession({
    post: (message, transfer = []) => { messages.push(message); transfers.push(transfer); },
    createContext: testContext,
    ...options,
  });
  const of = <K extends FromTrainer['type']>(type: K, from = 0) =>
    messages.slice(from).filter((m): m is Message<K> => m.type === type);
  const waitFor = async (predicate: (m: FromTrainer) => boolean, from = 0, timeoutMs = 60_000): Promise<FromTrainer> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = messages.slice(from).find(predicate);
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`timed out; got ${messages.slice(from).map((m) => m.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const state = (s: string) => (m: FromTrainer) => m.type === 'state' && m.state === s;
  return { session, messages, transfers, of, waitFor, state };
}

/** Each query row of every [T, T] block is a causal distribution: sums to 1, nothing above the diagonal. */
function expectCausalRows(probs: Float32Array, blocks: number, T: number): void {
  expect(probs).toHaveLength(blocks * T * T);
  for (let b = 0; b < blocks; b++) {
    for (let q = 0; q < T; q++) {
      let sum = 0;
      for (let k = 0; k < T; k++) {
        const p = probs[(b * T + q) * T + k];
        if (k > q) expect(p).toBe(0);
        sum += p;
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
  }
}

function expectSnapshot(s: AttentionSnapshot, config: StudyConfig, run: number, example: number): void {
  const { context: T, layers, heads } = config.model;
  expect(s).toMatchObject({ run, example, T, layers, heads, answerPosition: T - 1 });
  expect(s.tokens).toHaveLength(T);
  expect(s.segments).toHaveLength(T);
  expect(s.tokenNames).toHaveLength(T);
  expect(s.tokenNames.every((n) => typeof n === 'string' && n.length > 0)).toBe(true);
  expect(s.maskedPositions.length).toBe(Math.floor(0.15 * T));
  for (const t of s.maskedPositions) expect(t).toBeLessThan(T - 2);
  expectCausalRows(s.clean, layers * heads, T);
  expectCausalRows(s.masked, layers * heads, T);
  expect(s.masked).not.toEqual(s.clean);
}

describe('TrainingSession on WebGPU', () => {
  it('init → configure → start runs to done with trainLoss and evaluation messages; probes answer with snapshots', async () => {
    const h = harness();
    const config = tinyStudy();
    const T = config.model.context;
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    expect(h.of('engine')[0]).toMatchObject({ engine: 'webgpu', notice: null });
    expect(h.of('engine')[0].adapter?.features).toBeInstanceOf(Array);
    await h.session.handle({ type: 'configure', config });
    expect(h.messages.slice(1).map((m) => m.type === 'state' ? m.state : m.type)).toEqual(['building', 'built', 'idle']);
    const built = h.of('built')[0];
    expect(built.runs.map((r) => r.objective)).toEqual(['ntp', 'meap']);
    expect(built.parameterCount).toBeGreaterThan(1000);
    expect(built.memoryBytes).toBeGreaterThan(4 * built.parameterCount);
    // What the page shows of the task comes with 'built', from the engine's own task and evaluation set.
    const { task, evalSet } = h.session.currentEngine!;
    expect(built.task.segmentNames).toEqual(['context before', 'needle', 'context after', 'query', 'answer']);
    expect(built.task.inputSegments).toBe(4);
    expect(built.task.tokenNames).toEqual(Array.from({ length: task.vocabSize }, (_, id) => task.tokenName(id)));
    expect(built.task.characters).toBeNull();
    expect(built.task.bucketLabel).toBe('needle depth');
    expect(built.task.examples).toHaveLength(Math.min(evalSet.count, 100));
    built.task.examples.forEach((e, i) => {
      const prompt = Array.from(evalSet.tokens.subarray(i * (T + 1), i * (T + 1) + evalSet.answerPositions[i] + 1));
      // The key-swapped twin (Try the models): the prompt with its last token, the query key, swapped for an absent key.
      const keySwapped = [...prompt.slice(0, -1), e.keySwapped!.at(-1)!];
      expect(e).toEqual({ index: i, bucket: evalSet.buckets[i], answer: evalSet.answers[i], prompt, keySwapped });
      expect(task.keyIds).toContain(e.keySwapped!.at(-1));
      expect(prompt).not.toContain(e.keySwapped!.at(-1));
    });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.state('done'));
    expect(h.of('state').map((m) => m.state)).toEqual(['building', 'idle', 'running', 'done']);
    expect(h.of('state').at(-1)!.step).toBe(12);

    const losses = h.of('trainLoss');
    expect(losses.at(-1)!.step).toBe(12);
    for (let i = 1; i < losses.length; i++) expect(losses[i].step).toBeGreaterThan(losses[i - 1].step);
    for (const m of losses) {
      expect(m.losses).toHaveLength(2);
      for (const l of m.losses) expect(Number.isFinite(l)).toBe(true);
      expect(m.stepsPerSecond).toBeGreaterThan(0);
      expect(m.tokensPerSecond / m.stepsPerSecond).toBeCloseTo(2 * config.batch * config.model.context, 6);
    }
    expect(losses.at(-1)!.losses[0]).toBeLessThan(losses[0].losses[0]);

    const evaluations = h.of('evaluation');
    expect(evaluations.map((m) => m.step)).toEqual([4, 8, 12]);
    for (const m of evaluations) {
      expect(m.points).toHaveLength(2);
      for (const p of m.points) {
        expect(p.step).toBe(m.step);
        expect(Number.isFinite(p.trainLoss) && Number.isFinite(p.valLoss)).toBe(true);
        expect(p.retrievalAcc).toBeGreaterThanOrEqual(0);
        expect(p.accByDepth).toHaveLength(2);
        expect(p.tokensPerSec).toBeGreaterThan(0);
      }
    }

    // The Worker posts no snapshot by itself (the page probes the runs it shows); a probe after training
    // masks the same positions of the example as one during training, so snapshots compare over training.
    expect(h.of('attention')).toEqual([]);
    const firstProbe = h.messages.length;
    await h.session.handle({ type: 'probe', run: 0, example: 0 });
    await h.session.handle({ type: 'probe', run: 1, example: 0 });
    const snapshots = h.of('attention');
    expect(snapshots.map((m) => [m.snapshot.step, m.snapshot.run])).toEqual([[12, 0], [12, 1]]);
    expectSnapshot(snapshots[0].snapshot, config, 0, 0);
    expectSnapshot(snapshots[1].snapshot, config, 1, 0);
    expect(snapshots[0].snapshot.maskedPositions).toEqual(snapshots[1].snapshot.maskedPositions);
    const index = h.messages.indexOf(snapshots[0], firstProbe);
    expect(h.transfers[index]).toEqual([snapshots[0].snapshot.clean.buffer, snapshots[0].snapshot.masked.buffer]);
    expect(h.of('error')).toEqual([]);
    await h.session.dispose();
  });

  it('reports trainLoss every evaluation.every steps when no time has passed, and every step with no time limit', async () => {
    for (const [reportEveryMs, expected] of [[1e9, [4, 8, 10]], [0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]] as const) {
      const h = harness({ reportEveryMs });
      await h.session.handle({ type: 'configure', config: tinyStudy({ steps: 10 }) });
      await h.session.handle({ type: 'start' });
      await h.waitFor(h.state('done'));
      expect(h.of('trainLoss').map((m) => m.step)).toEqual(expected);
      expect(h.of('evaluation').map((m) => m.step)).toEqual([4, 8, 10]);
      await h.session.dispose();
    }
  });

  it('pause stops the loop; step advances exactly one step; start resumes', async () => {
    const h = harness({ reportEveryMs: 0 });
    await h.session.handle({ type: 'configure', config: tinyStudy({ steps: 500, evaluation: { every: 100, count: 8, buckets: 2, seed: 5 } }) });
    await h.session.handle({ type: 'start' });
    await h.waitFor((m) => m.type === 'trainLoss' && m.step >= 2);
    await h.session.handle({ type: 'pause' });
    const paused = h.of('state').at(-1)!;
    expect(paused.state).toBe('paused');
    const step = h.session.currentEngine!.step;
    expect(paused.step).toBe(step);
    const count = h.messages.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(h.session.currentEngine!.step).toBe(step);
    expect(h.messages.length).toBe(count);

    await h.session.handle({ type: 'step' });
    expect(h.session.currentEngine!.step).toBe(step + 1);
    const after = h.messages.slice(count);
    expect(after.find((m) => m.type === 'trainLoss')).toMatchObject({ step: step + 1 });
    expect(after.at(-1)).toEqual({ type: 'state', state: 'paused', step: step + 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.session.currentEngine!.step).toBe(step + 1);

    const resumed = h.messages.length;
    await h.session.handle({ type: 'start' });
    await h.waitFor((m) => m.type === 'trainLoss' && m.step >= step + 3, resumed);
    await h.session.handle({ type: 'pause' });
    expect(h.of('state').at(-1)!.state).toBe('paused');
    await h.session.dispose();
  });

  it('reset rebuilds at step 0 and reproduces the same losses', async () => {
    const h = harness();
    await h.session.handle({ type: 'configure', config: tinyStudy() });
    for (let s = 0; s < 3; s++) await h.session.handle({ type: 'step' });
    const first = h.of('trainLoss').map((m) => m.losses);
    expect(first).toHaveLength(3);
    const mark = h.messages.length;
    await h.session.handle({ type: 'reset' });
    expect(h.messages.slice(mark).map((m) => m.type === 'state' ? `${m.state}@${m.step}` : m.type))
      .toEqual(['building@0', 'built', 'idle@0']);
    for (let s = 0; s < 3; s++) await h.session.handle({ type: 'step' });
    expect(h.of('trainLoss', mark).map((m) => m.losses)).toEqual(first);
    expect(first[2][0]).not.toBe(first[0][0]);
    await h.session.dispose();
  });

  it('probe returns the selected run and example, clean and masked, with rows summing to 1', async () => {
    const h = harness();
    const config = tinyStudy();
    await h.session.handle({ type: 'configure', config });
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'probe', run: 1, example: 3 });
    const { snapshot } = h.of('attention')[0];
    expectSnapshot(snapshot, config, 1, 3);
    expect(snapshot.step).toBe(1);
    const T = config.model.context;
    const evalSet = h.session.currentEngine!.evalSet;
    expect(snapshot.tokens).toEqual(Array.from(evalSet.tokens.subarray(3 * (T + 1), 3 * (T + 1) + T)));
    // The query (`? K`, the last two inputs) is never masked.
    expect(snapshot.segments.slice(T - 2)).toEqual([3, 3]);
    // Training on through an evaluation posts no snapshot by itself; the next probe is of the model as it is then.
    for (let s = 0; s < 3; s++) await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'probe', run: 1, example: 3 });
    expect(h.of('attention').map((m) => [m.snapshot.run, m.snapshot.example, m.snapshot.step])).toEqual([[1, 3, 1], [1, 3, 4]]);
    expect(h.of('attention')[1].snapshot.clean).not.toEqual(snapshot.clean);

    await h.session.handle({ type: 'probe', run: 2, example: 0 });
    await h.session.handle({ type: 'probe', run: 0, example: 8 });
    expect(h.of('error').map((m) => m.message)).toEqual([
      'Cannot probe run 2: the study has runs 0..1.', 'Cannot probe example 8: the evaluation set has examples 0..7.']);
    await h.session.dispose();
  });

  it('generate returns a greedy continuation and the top 5 next tokens of every run', async () => {
    const h = harness();
    const config = tinyStudy();
    const T = config.model.context;
    await h.session.handle({ type: 'configure', config });
    for (let s = 0; s < 2; s++) await h.session.handle({ type: 'step' });
    const prompt = Array.from(h.session.currentEngine!.evalSet.tokens.subarray(0, T - 2));
    await h.session.handle({ type: 'generate', requestId: 7, prompt, maxTokens: 10 });
    await h.session.handle({ type: 'generate', requestId: 8, prompt: prompt.slice(0, 3), maxTokens: 2 });
    const [long, short] = h.of('generation').map((m) => m.result);
    expect(long.requestId).toBe(7);
    expect(short.requestId).toBe(8);
    expect(long.runs).toHaveLength(2);
    for (const run of long.runs) expect(run.continuation).toHaveLength(3); // stops at T + 1 tokens
    for (const run of short.runs) expect(run.continuation).toHaveLength(2);
    for (const { runs } of [long, short]) {
      for (const run of runs) {
        expect(run.top).toHaveLength(5);
        expect(run.continuation[0]).toBe(run.top[0].token);
        for (let i = 1; i < 5; i++) expect(run.top[i].probability).toBeLessThanOrEqual(run.top[i - 1].probability);
        const total = run.top.reduce((sum, c) => sum + c.probability, 0);
        expect(total).toBeGreaterThan(5 / config.model.vocabSize);
        expect(total).toBeLessThanOrEqual(1 + 1e-9);
      }
    }
    // The top candidates are the softmax of the logits after the prompt.
    const { logits } = await h.session.currentEngine!.probe(prompt.slice(0, 3), [], [2]);
    expect(short.runs[1].top).toEqual(topCandidates(logits.subarray(config.model.vocabSize), 5));

    await h.session.handle({ type: 'generate', requestId: 9, prompt: [], maxTokens: 2 });
    await h.session.handle({ type: 'generate', requestId: 10, prompt: [999], maxTokens: 2 });
    expect(h.of('error').map((m) => m.message)).toEqual([
      'Cannot generate: the prompt is empty.', `Cannot generate: every token must be an id in 0..${config.model.vocabSize - 1}.`]);
    await h.session.dispose();
  });

  it('a run with a non-finite loss is frozen and reported while the others go on', async () => {
    let study: Study | undefined;
    let frozenParams: Promise<Float32Array> | undefined;
    // Run 1's loss reads NaN from step 3 on; the session must freeze it (the real Study) and carry on.
    const poisoned = async (ctx: Parameters<NonNullable<SessionOptions['createGpuEngine']>>[0], config: StudyConfig): Promise<StudyEngine> => {
      const real = study = await Study.create(ctx, config);
      const intervalReport = async () => {
        const report = await real.intervalReport();
        if (!real.isFrozen(1) && real.step >= 3) {
          report.losses[1] = Number.NaN;
          report.firstNonFiniteStep[1] = 3;
        }
        return report;
      };
      return {
        kind: real.kind, config: real.config, runs: real.runs, R: real.R, task: real.task, evalSet: real.evalSet,
        get step() { return real.step; },
        parameterCount: real.parameterCount, memoryBytes: real.memoryBytes,
        trainStep: () => real.trainStep(),
        lastBatch: () => real.lastBatch(),
        flush: () => real.flush(),
        intervalReport,
        evaluate: () => real.evaluate(),
        probe: (tokens, mask, rows) => real.probe(tokens, mask, rows),
        freezeRun(r) {
          real.freezeRun(r);
          frozenParams = real.model.readParams();
        },
        isFrozen: (r) => real.isFrozen(r),
        saveState: () => real.saveState(),
        restoreState: (state) => real.restoreState(state),
        dispose: () => real.dispose(),
      };
    };
    const h = harness({ createGpuEngine: poisoned, reportEveryMs: 0 });
    await h.session.handle({ type: 'configure', config: tinyStudy({ steps: 8 }) });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.state('done'));
    const failed = h.of('runFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ run: 1, step: 3 });
    expect(failed[0].message).toMatch(/Run 1 — MEAP \(mask ratio 0\.15\), seed 0 — stopped at step 3/);
    expect(failed[0].message).toMatch(/learning rate too high \(optimizer\.lr = 0\.01\)/);
    const after = h.of('trainLoss').filter((m) => m.step > 3);
    expect(after.length).toBeGreaterThan(2);
    for (const m of after) {
      expect(Number.isFinite(m.losses[0])).toBe(true);
      expect(m.losses[1]).toBeNaN();
    }
    const P = study!.model.layout.P;
    const [before, end] = [await frozenParams!, await study!.model.readParams()];
    expect(end.subarray(P, 2 * P)).toEqual(before.subarray(P, 2 * P));
    expect(end.subarray(0, P)).not.toEqual(before.subarray(0, P));
    expect(h.of('error')).toEqual([]);
    await h.session.dispose();
  });

  it('a learning rate of 1e6 stops every run (runFailed each) and the study fails without throwing', async () => {
    const h = harness({ reportEveryMs: 0 });
    await h.session.handle({ type: 'configure', config: tinyStudy({ optimizer: { ...tinyStudy().optimizer, lr: 1e6 } }) });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.state('failed'));
    const failed = h.of('runFailed');
    expect(failed.map((m) => m.run).sort()).toEqual([0, 1]);
    for (const m of failed) {
      expect(m.step).toBeGreaterThan(1);
      expect(m.message).toMatch(/not finite.*learning rate too high \(optimizer\.lr = 1000000\)/);
    }
    expect(h.of('error').at(-1)!.message).toMatch(/Every run has stopped/);
    const step = h.session.currentEngine!.step;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.session.currentEngine!.step).toBe(step);
    await h.session.handle({ type: 'start' });
    expect(h.of('error').at(-1)!.message).toMatch(/reset or configure/);
    await h.session.dispose();
  });

  it('an invalid config is refused with a readable message and leaves the current study alone', async () => {
    const h = harness();
    await h.session.handle({ type: 'start' });
    expect(h.of('error')[0].message).toBe('Cannot start training: configure a study first.');
    await h.session.handle({ type: 'configure', config: tinyStudy() });
    const mark = h.messages.length;
    await h.session.handle({ type: 'configure', config: tinyStudy({ optimizer: { ...tinyStudy().optimizer, lr: Number.NaN } }) });
    const refused = h.messages.slice(mark);
    expect(refused.map((m) => m.type)).toEqual(['error', 'state']);
    expect((refused[0] as Message<'error'>).message).toMatch(/optimizer\.lr must be .*NaN/);
    expect(refused[1]).toEqual({ type: 'state', state: 'idle', step: 0 });
    await h.session.handle({ type: 'step' });
    expect(h.session.currentEngine!.step).toBe(1);
    await h.session.dispose();
  });

  it('runs the kernel self-test on the GPU context, posting each check', async () => {
    const check = { kernel: 'demo.forward', shape: 'R=1', maxAbsError: 0, tolerance: 1e-6, pass: true };
    const h = harness({ runSelfTest: async (_ctx, onCheck) => {
      const rows = [check, { ...check, pass: false, maxAbsError: 1 }];
      rows.forEach(onCheck);
      return rows;
    } });
    await h.session.handle({ type: 'selftest' });
    expect(h.of('engine')).toHaveLength(1); // acquired on demand, and reported
    expect(h.of('check')).toHaveLength(2);
    expect(h.of('selftestDone')[0]).toMatchObject({ passed: 1, failed: 1 });
  });
});

describe('TrainingSession on the CPU fallback', () => {
  const noGpu = () => Promise.reject(new WebGpuUnavailableError('no adapter'));

  it('falls back to the CPU when there is no adapter, and trains the tiny preset to done', async () => {
    const h = harness({ createContext: noGpu });
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    const engine = h.of('engine')[0];
    expect(engine).toMatchObject({ engine: 'cpu', adapter: null });
    expect(engine.notice).toContain(noAdapterHelp('browser'));
    const config = tinyStudy({ steps: 4, evaluation: { every: 2, count: 4, buckets: 2, seed: 5 } });
    await h.session.handle({ type: 'configure', config });
    expect(h.of('built')[0].runs).toHaveLength(2);
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.state('done'));
    expect(h.of('evaluation').map((m) => m.step)).toEqual([2, 4]);
    expect(h.of('attention')).toEqual([]);
    await h.session.handle({ type: 'probe', run: 0, example: 0 });
    expectSnapshot(h.of('attention')[0].snapshot, config, 0, 0);
    expect(h.of('trainLoss').at(-1)!.step).toBe(4);

    await h.session.handle({ type: 'selftest' });
    expect(h.of('error').at(-1)!.message).toMatch(/self-test needs WebGPU/);
    await h.session.handle({ type: 'configure', config: preset('needle-s') });
    expect(h.of('error').at(-1)!.message).toMatch(/needs WebGPU; the CPU fallback trains the tiny preset/);
    expect(h.of('state').at(-1)).toEqual({ type: 'state', state: 'done', step: 4 });
    await h.session.dispose();
  });

  it('without the fallback, no adapter is an error with the fix, and the session fails', async () => {
    const h = harness({ createContext: noGpu });
    await h.session.handle({ type: 'init', allowCpuFallback: false });
    expect(h.messages).toEqual([
      { type: 'error', message: noAdapterHelp('browser') }, { type: 'state', state: 'failed', step: 0 }]);
  });
});

describe('snapshot mask positions and candidates', () => {
  it('masks ⌊0.15·T⌋ positions of 0..T−2, never the query, deterministically', () => {
    const T = 64;
    const segments = Array.from({ length: T }, (_, t) => (t >= T - 2 ? 3 : t < 20 ? 0 : t < 23 ? 1 : 2));
    const a = snapshotMaskPositions(segments, T - 1, T, 42);
    expect(a).toHaveLength(9);
    expect(a).toEqual([...a].sort((x, y) => x - y));
    expect(new Set(a).size).toBe(9);
    for (const t of a) expect(t).toBeLessThan(T - 2);
    expect(snapshotMaskPositions(segments, T - 1, T, 42)).toEqual(a);
    expect(snapshotMaskPositions(segments, T - 1, T, 43)).not.toEqual(a);
    // A task without segments (all 0): only the answer position itself is kept clear.
    const flat = new Array(T).fill(0);
    const union = new Set(Array.from({ length: 200 }, (_, s) => snapshotMaskPositions(flat, T - 1, T, s)).flat());
    expect(union.has(T - 2)).toBe(true);
    expect(union.has(T - 1)).toBe(false);
  });

  it('top candidates are the softmax probabilities in decreasing order, ties to the lower id', () => {
    const top = topCandidates([0, Math.log(3), 0, Math.log(2), Math.log(2)], 3);
    expect(top.map((c) => c.token)).toEqual([1, 3, 4]);
    expect(top[0].probability).toBeCloseTo(3 / 9, 12);
    expect(top[1].probability).toBeCloseTo(2 / 9, 12);
  });
});

describe('trainer client', () => {
  it('posts commands, fans messages out to subscribers, reports a failed worker as an error message', () => {
    const posted: unknown[] = [];
    let terminated = false;
    const fake: WorkerLike = {
      postMessage: (m) => posted.push(m), onmessage: null, onerror: null, onmessageerror: null,
      terminate: () => { terminated = true; },
    };
    const client = createTrainerClient(() => fake);
    const a: FromTrainer[] = [], b: FromTrainer[] = [];
    const stopA = client.subscribe((m) => a.push(m));
    client.subscribe((m) => b.push(m));
    client.send({ type: 'start' });
    expect(posted).toEqual([{ type: 'start' }]);
    fake.onmessage!({ data: { type: 'state', state: 'running', step: 0 } } as MessageEvent);
    stopA();
    fake.onerror!({ message: 'SyntaxError in worker.ts', preventDefault() {} } as ErrorEvent);
    expect(a).toEqual([{ type: 'state', state: 'running', step: 0 }]);
    expect(b.map((m) => m.type)).toEqual(['state', 'error']);
    expect((b[1] as Message<'error'>).message).toMatch(/training worker failed: SyntaxError/);
    client.terminate();
    expect(terminated).toBe(true);
    expect(() => client.send({ type: 'pause' })).toThrow(/terminated/);
  });
});

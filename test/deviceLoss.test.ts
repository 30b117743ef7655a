/**
 * Device loss (issue 7 item 4) with a real `device.destroy()` on Dawn: the session says so, acquires a
 * new device, rebuilds the runs from the last checkpoint (at most one checkpoint interval of steps lost)
 * and continues — and because a checkpoint resumes bit-identically, the study ends exactly where an
 * uninterrupted one does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createGpuContext, type GpuContext } from '../src/gpu/context';
import { nodeGpu } from '../src/gpu/node';
import { TrainingSession, type SessionOptions } from '../src/session/session';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import type { FromTrainer } from '../src/session/protocol';
import type { StudyState } from '../src/engine/checkpoint';
import { memoryCheckpointStore } from '../src/session/checkpointStore';
import { testContext } from './gpuContext';

type Message<K extends FromTrainer['type']> = Extract<FromTrainer, { type: K }>;

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 16, evaluation: { every: 8, count: 8, buckets: 2, seed: 5 }, ...overrides };
}

const contexts: GpuContext[] = [];
afterAll(() => { for (const ctx of contexts) ctx.destroy(); });

/** A session whose every context is new (so the test can destroy one), recorded in `contexts`. */
function harness(options: Partial<SessionOptions> = {}) {
  const messages: FromTrainer[] = [];
  const own: GpuContext[] = [];
  const session = new TrainingSession({
    post: (message) => { messages.push(message); },
    createContext: async () => {
      const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
      contexts.push(ctx);
      own.push(ctx);
      return ctx;
    },
    reportEveryMs: 0,
    ...options,
  });
  const of = <K extends FromTrainer['type']>(type: K) => messages.filter((m): m is Message<K> => m.type === type);
  const until = async (predicate: () => boolean, what: string) => {
    const deadline = performance.now() + 120_000;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${messages.map((m) => (m.type === 'state' ? m.state : m.type)).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const stateIs = (state: string) => () => messages.some((m) => m.type === 'state' && m.state === state);
  return { session, messages, of, until, stateIs, contexts: own };
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

/** The study trained straight through on the shared test context: its per-step losses and final state. */
async function uninterrupted(config: StudyConfig): Promise<{ losses: number[][]; final: StudyState }> {
  const study = await Study.create(await testContext(), config);
  const losses: number[][] = [];
  for (let s = 0; s < config.steps; s++) {
    study.trainStep();
    losses.push((await study.intervalReport()).losses);
  }
  const final = await study.saveState();
  study.dispose();
  return { losses, final };
}

describe('device loss', () => {
  it('device.destroy() while training: the session re-acquires a device, restores the last checkpoint and ends where an uninterrupted study ends', async () => {
    const config = tinyStudy();
    const reference = await uninterrupted(config);
    const h = harness({ checkpointStore: memoryCheckpointStore(), checkpointEvery: 4 });
    await h.session.handle({ type: 'configure', config });
    await h.session.handle({ type: 'start' });
    await h.until(() => h.of('checkpointSaved').length > 0 && h.of('trainLoss').some((m) => m.step >= 6), 'step 6');
    h.contexts[0].device.destroy();
    await h.until(() => h.of('restored').length > 0, 'restored');
    await h.until(h.stateIs('done'), 'done');

    const lost = h.of('deviceLost');
    expect(lost).toHaveLength(1);
    expect(lost[0].message).toMatch(/The GPU device was lost \(destroyed\).*acquiring a new GPU device and rebuilding the runs from the checkpoint of step \d+/);
    const restored = h.of('restored')[0];
    expect(restored.reason).toBe('deviceLost');
    expect(restored.step % 4).toBe(0);
    // At most one checkpoint interval is lost.
    expect(lost[0].step - restored.step).toBeLessThanOrEqual(4);
    expect(restored.lostSteps).toBe(lost[0].step - restored.step);
    expect(restored.message).toMatch(new RegExp(`rebuilt from the checkpoint of step ${restored.step}`));
    expect(restored.history.train.steps.at(-1)).toBe(restored.step);
    expect(h.contexts).toHaveLength(2);
    expect(h.of('engine')).toHaveLength(2); // the new device is reported (re-acquired, not the CPU)
    expect(h.of('engine')[1].engine).toBe('webgpu');
    // The state goes building → … → running again without the page doing anything, then to done.
    const states = h.of('state').map((m) => m.state);
    expect(states.slice(states.lastIndexOf('building'))).toEqual(['building', 'paused', 'running', 'done']);
    expect(h.of('error')).toEqual([]);

    // After the restore, the steps are the uninterrupted study's, bit for bit, to the end.
    const after = h.of('trainLoss').filter((m) => h.messages.indexOf(m) > h.messages.indexOf(restored));
    expect(after.map((m) => m.step)).toEqual(Array.from({ length: config.steps - restored.step }, (_, i) => restored.step + i + 1));
    for (const m of after) expect(sameBits(m.losses, reference.losses[m.step - 1]), `step ${m.step}`).toBe(true);
    const final = await h.session.currentEngine!.saveState();
    for (const name of ['params', 'm', 'v'] as const) expect(sameBits(final[name], reference.final[name]), name).toBe(true);
    await h.session.dispose();
  });

  it('lost before the first checkpoint: rebuilt from step 0 (fewer than one interval lost); a paused study stays paused; a command queued behind the recovery runs on the new device', async () => {
    const config = tinyStudy({ steps: 6 });
    const reference = await uninterrupted(config);
    const h = harness({ checkpointEvery: 100 });
    await h.session.handle({ type: 'configure', config });
    for (let i = 0; i < 3; i++) await h.session.handle({ type: 'step' });
    // The test hook the page's e2e uses: destroys the device as a driver reset would.
    await h.session.handle({ type: 'simulateDeviceLoss' });
    await h.until(() => h.of('deviceLost').length > 0, 'deviceLost');
    expect(h.of('deviceLost')[0]).toMatchObject({ step: 3 });
    expect(h.of('deviceLost')[0].message).toMatch(/rebuilding the runs from step 0 \(no checkpoint was saved yet\)/);
    await h.session.handle({ type: 'probe', run: 0, example: 0 });
    await h.until(() => h.of('restored').length > 0, 'restored');
    const restored = h.of('restored')[0];
    expect(restored).toMatchObject({ reason: 'deviceLost', step: 0, lostSteps: 3 });
    expect(restored.history.train.steps).toEqual([]);
    expect(h.of('state').at(-1)).toMatchObject({ state: 'idle', step: 0 });
    // A probe that was queued behind the recovery ran on the new device (no error); training continues on it.
    await h.session.handle({ type: 'start' });
    await h.until(h.stateIs('done'), 'done');
    const final = await h.session.currentEngine!.saveState();
    expect(sameBits(final.params, reference.final.params)).toBe(true);
    expect(h.of('error')).toEqual([]);
    await h.session.dispose();
  });

  it('no new device: the session says so and stops (the last checkpoint is kept); a disposed session does not recover', async () => {
    let calls = 0;
    const messages: FromTrainer[] = [];
    const store = memoryCheckpointStore();
    const session = new TrainingSession({
      post: (m) => { messages.push(m); },
      createContext: async () => {
        if (calls++ > 0) throw new Error('no adapter any more');
        const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
        contexts.push(ctx);
        return ctx;
      },
      checkpointStore: store, checkpointEvery: 2, reportEveryMs: 0,
    });
    await session.handle({ type: 'configure', config: tinyStudy() });
    for (let i = 0; i < 2; i++) await session.handle({ type: 'step' });
    await session.handle({ type: 'simulateDeviceLoss' });
    const deadline = performance.now() + 60_000;
    while (!messages.some((m) => m.type === 'state' && m.state === 'failed') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const errors = messages.filter((m): m is Message<'error'> => m.type === 'error');
    expect(errors.map((m) => m.message)).toEqual([expect.stringMatching(/no new one could be acquired \(no adapter any more\)\. Reload the page; the last checkpoint is kept/)]);
    expect((await store.list()).map((s) => s.step)).toEqual([2]);
    await session.dispose();

    // Disposed: destroying its device is not a loss to recover from.
    const h = harness();
    await h.session.handle({ type: 'configure', config: tinyStudy() });
    await h.session.dispose();
    h.contexts[0].device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.of('deviceLost')).toEqual([]);
    expect(h.contexts).toHaveLength(1);
  });
});

/**
 * Checkpoints saved before the structural move (issue 12) still resume, and continue exactly as the
 * uninterrupted run did before the move. test/fixtures/premove/ holds, per engine, what the page's
 * session stored in IndexedDB at step 6 of a 12-step tiny study (the record's bytes and summary), and
 * the uninterrupted run's per-step training losses, evaluations and sha256 of its final weights and
 * AdamW moments, all written by the code as it was before the move (commit b184b4a). A change that
 * alters the checkpoint format, the generators' streams or any number the engines compute fails here.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { TrainingSession } from '../src/session/session';
import type { FromTrainer } from '../src/session/protocol';
import { memoryCheckpointStore } from '../src/session/checkpointStore';
import type { CheckpointSummary } from '../src/session/checkpointStore';
import { WebGpuUnavailableError } from '../src/gpu/errors';
import type { StudyConfig } from '../src/config/presets';
import { testContext } from './gpuContext';

const FIXTURES = 'test/fixtures/premove';

interface Expected {
  config: StudyConfig;
  trainLoss: { step: number; losses: number[] }[];
  evaluations: { step: number; points: Record<string, unknown>[] }[];
  final: { step: number; params: string; m: string; v: string; dataRngStates: number[]; maskRngStates: number[] };
}

const sha256 = (a: Float32Array | Float64Array) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe.each(['webgpu', 'cpu'] as const)('a %s checkpoint saved before the move', (engine) => {
  it('resumes at step 6 and continues bit-identically to the run before the move', async () => {
    const expected = JSON.parse(readFileSync(`${FIXTURES}/${engine}.expected.json`, 'utf8')) as Expected;
    const summary = JSON.parse(readFileSync(`${FIXTURES}/${engine}.summary.json`, 'utf8')) as CheckpointSummary;
    const store = memoryCheckpointStore();
    await store.put({ ...summary, data: new Uint8Array(readFileSync(`${FIXTURES}/${engine}.checkpoint`)) });

    const messages: FromTrainer[] = [];
    const session = new TrainingSession({
      post: (message) => { messages.push(message); },
      createContext: engine === 'webgpu' ? testContext : () => Promise.reject(new WebGpuUnavailableError('no adapter')),
      reportEveryMs: 0, // a trainLoss message after every step
      checkpointStore: store,
      checkpointEvery: 1000,
    });
    try {
      await session.handle({ type: 'init', allowCpuFallback: true });
      await session.handle({ type: 'configure', config: expected.config, presetName: 'tiny' });
      await session.handle({ type: 'resume', key: summary.key });
      expect(messages.filter((m) => m.type === 'error')).toEqual([]);
      const restored = messages.find((m) => m.type === 'restored');
      expect(restored).toMatchObject({ reason: 'resume', step: 6, lostSteps: 0 });
      const from = messages.length;
      await session.handle({ type: 'start' });
      const deadline = performance.now() + 90_000;
      while (!messages.some((m) => m.type === 'state' && m.state === 'done')) {
        if (performance.now() > deadline) throw new Error(`not done: ${messages.slice(from).map((m) => m.type).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const after = messages.slice(from);
      const losses = after.flatMap((m) => (m.type === 'trainLoss' ? [m] : []));
      expect(losses.map((m) => m.step)).toEqual([7, 8, 9, 10, 11, 12]);
      for (const m of losses) {
        const before = expected.trainLoss.find((e) => e.step === m.step)!;
        expect(sameBits(m.losses, before.losses), `training losses of step ${m.step}`).toBe(true);
      }
      const evaluations = after.flatMap((m) => (m.type === 'evaluation' ? [m] : []));
      expect(evaluations.map((m) => m.step)).toEqual([8, 12]);
      for (const m of evaluations) {
        const before = expected.evaluations.find((e) => e.step === m.step)!;
        expect(m.points.map(({ tokensPerSec: _speed, ...rest }) => rest), `evaluation at step ${m.step}`).toEqual(before.points);
      }
      const state = await session.currentEngine!.saveState();
      expect(state.step).toBe(expected.final.step);
      expect({ params: sha256(state.params), m: sha256(state.m), v: sha256(state.v) })
        .toEqual({ params: expected.final.params, m: expected.final.m, v: expected.final.v });
      expect(state.dataRngStates).toEqual(expected.final.dataRngStates);
      expect(state.maskRngStates).toEqual(expected.final.maskRngStates);
    } finally {
      await session.dispose();
    }
  });
});

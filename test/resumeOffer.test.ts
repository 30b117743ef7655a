/**
 * The page's resume offer (src/store/checkpoints.ts, issue 16 item 7): after the user resumed a checkpoint,
 * no second "Resume from step N" offer stacks under "Resumed from…" — not the one being resumed while the
 * Worker rebuilds it, and not another study's; the study on screen's own checkpoint is still offered after a crash.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CheckpointSummary, FromTrainer, ToTrainer } from '../src/session/protocol';
import { preset, type StudyConfig } from '../src/config/presets';
import { checkpointKey } from '../src/session/checkpointKeys';

// The store's only link to the Worker, replaced by a recorder.
const sent: ToTrainer[] = [];
vi.mock('../src/store/trainer', () => ({
  sendToTrainer: (message: ToTrainer) => { sent.push(message); },
  subscribeToTrainer: () => () => undefined,
  restartTrainer: () => undefined,
}));

const { pickOffer, receiveCheckpointMessage, resumeCheckpoint, useCheckpoints } = await import('../src/store/checkpoints');
const { useDevice } = await import('../src/store/device');
const { useRuns } = await import('../src/store/runs');
const { useSession } = await import('../src/store/sessionState');

const studyA: StudyConfig = { ...preset('tiny'), steps: 40 };
const studyB: StudyConfig = { ...preset('tiny'), steps: 40, baseSeed: 9 };
const summary = (config: StudyConfig, step: number, savedAt: number): CheckpointSummary => ({
  key: checkpointKey('webgpu', config), engine: 'webgpu', config, presetName: 'tiny', step, savedAt, bytes: 1, reason: 'auto',
});
const listing = (list: CheckpointSummary[]): FromTrainer => ({
  type: 'checkpoints', list, unreadable: [], store: 'indexeddb', problem: null, everySteps: 10, maxIntervalMs: 30_000,
});

describe('the resume offer', () => {
  it('pickOffer: once resumed, only the study on screen is offered', () => {
    const a = summary(studyA, 20, 200), b = summary(studyB, 30, 300);
    const keyA = checkpointKey('webgpu', studyA);
    expect(pickOffer([b, a], 'webgpu', keyA, a, 20)?.step).toBe(30); // before any resume: another study
    expect(pickOffer([b, a], 'webgpu', keyA, a, 20, true)).toBeNull();
    expect(pickOffer([b, a], 'webgpu', keyA, null, 0, true)?.step).toBe(20); // after a crash: its own checkpoint
  });

  it('no second offer while resuming nor after the study is restored', () => {
    const a = summary(studyA, 20, 200), b = summary(studyB, 30, 100);
    useDevice.setState({ engine: 'webgpu' });
    useSession.setState({ applied: { presetName: 'tiny', config: studyA } });
    useRuns.setState({ state: 'idle', step: 0 });
    receiveCheckpointMessage(listing([a, b]));
    expect(useCheckpoints.getState().offer?.step).toBe(20); // the study on screen's own

    resumeCheckpoint(useCheckpoints.getState().offer!);
    expect(sent.at(-1)).toEqual({ type: 'resume', key: a.key });
    expect(useCheckpoints.getState().offer).toBeNull();
    // The list can come back while the Worker rebuilds (a new engine asks for it): the resumed one is not offered again.
    receiveCheckpointMessage(listing([a, b]));
    expect(useCheckpoints.getState().offer).toBeNull();

    useRuns.setState({ state: 'paused', step: 20 });
    receiveCheckpointMessage({ type: 'restored', reason: 'resume', step: 20, history: [], lostSteps: 0, message: 'Resumed from the checkpoint of step 20.' } as unknown as FromTrainer);
    expect(useCheckpoints.getState().notice).toBe('Resumed from the checkpoint of step 20.');
    expect(useCheckpoints.getState().offer).toBeNull(); // not study B's under the notice
    receiveCheckpointMessage(listing([a, b]));
    expect(useCheckpoints.getState().offer).toBeNull();
  });
});

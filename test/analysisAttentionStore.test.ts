import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttentionSnapshot, FromTrainer, ToTrainer } from '../src/train/protocol';
import type { RunInfo } from '../src/train/study';
import { preset } from '../src/train/presets';

// The store's only link to the Worker, replaced by a recorder.
const sent: ToTrainer[] = [];
vi.mock('../src/store/trainer', () => ({
  sendToTrainer: (message: ToTrainer) => { sent.push(message); },
  subscribeToTrainer: () => () => undefined,
}));

const { comparedRuns, defaultArms, receiveAttentionMessage, seriesKey, useAttention, withPoint } = await import('../src/store/attention');

const run = (arm: number, maskRatio: number, seed: number): RunInfo => ({ arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' : 'meap' });

/** A 1-layer, 1-head snapshot on T = 4 whose answer row (3) puts `needle` on key 1 and the rest on key 0. */
function snapshot(runIndex: number, step: number, needle: number, example = 0): AttentionSnapshot {
  const T = 4;
  const clean = new Float32Array(T * T);
  for (let i = 0; i < T; i++) clean[i * T] = 1;
  clean[3 * T] = 1 - needle;
  clean[3 * T + 1] = needle;
  return {
    step, run: runIndex, example, T, layers: 1, heads: 1, tokens: [8, 24, 3, 4], tokenNames: ['w0', 'K0', ':', '?'],
    segments: [0, 1, 2, 3], maskedPositions: [1], answerPosition: 3, clean, masked: clean.slice(),
  };
}

describe('which runs are compared', () => {
  const runs = [run(0, 0, 0), run(0, 0, 1), run(1, 0.05, 0), run(1, 0.05, 1), run(2, 0.15, 0), run(2, 0.15, 1)];

  it('defaults to the NTP arm against the first MEAP arm, and pairs runs by seed', () => {
    expect(defaultArms(runs)).toEqual({ baseArm: 0, meapArm: 1 });
    expect(comparedRuns(runs, 0, 1, 0)).toEqual([0, 2]);
    expect(comparedRuns(runs, 0, 2, 1)).toEqual([1, 5]);
  });

  it('copes with studies without NTP or with a single arm', () => {
    expect(defaultArms([run(0, 0.1, 0), run(1, 0.2, 0)])).toEqual({ baseArm: 0, meapArm: 1 });
    expect(defaultArms([run(0, 0, 0)])).toEqual({ baseArm: 0, meapArm: 0 });
    expect(comparedRuns([run(0, 0, 0)], 0, 0, 0)).toEqual([0]);
    expect(comparedRuns(runs, 0, 1, 7)).toEqual([]);
  });

  it('keeps a series in step order and restarts it when training is reset', () => {
    const p = (step: number) => ({ step, byLayer: [[step]] });
    let series = withPoint(undefined, p(10));
    series = withPoint(series, p(20));
    series = withPoint(series, p(20));
    expect(series.map((x) => x.step)).toEqual([10, 20]);
    expect(withPoint(series, p(0)).map((x) => x.step)).toEqual([0]);
  });
});

describe('the store follows the Worker', () => {
  const config = preset('tiny');
  const runs = [run(0, 0, 0), run(1, 0.15, 0)];
  const built: FromTrainer = { type: 'built', runs, parameterCount: 1, memoryBytes: 1, config };

  beforeEach(() => { sent.length = 0; });

  it('probes the compared runs when a study is built, and rebuilds the task for token names and examples', () => {
    receiveAttentionMessage(built);
    const s = useAttention.getState();
    // The default example is the first of the middle depth bucket (tiny: 4 buckets, example i in bucket i mod 4).
    expect(s.example).toBe(2);
    expect(s.examples[2].bucket).toBe(2);
    expect(sent).toEqual([{ type: 'probe', run: 0, example: 2 }, { type: 'probe', run: 1, example: 2 }]);
    expect(s.examples.length).toBe(config.evaluation.count);
    expect(s.examples[0].prompt.length).toBe(config.model.context);
    expect(s.task?.tokenName(s.examples[0].answer)).toMatch(/^V\d+$/);
  });

  it('keeps snapshots and the segment-mass series, and probes again after an evaluation', () => {
    receiveAttentionMessage(built);
    useAttention.getState().setExample(0);
    receiveAttentionMessage(built); // a reset of the same study keeps the selection
    expect(useAttention.getState().example).toBe(0);
    sent.length = 0;
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25) });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 0, 0.5) });
    let s = useAttention.getState();
    expect(s.snapshots[0].step).toBe(0);
    expect(s.massSeries[seriesKey(1, 0)][0].byLayer[0].slice(0, 4)).toEqual([0.5, 0.5, 0, 0]);

    receiveAttentionMessage({ type: 'evaluation', step: 10, points: [] });
    expect(sent).toEqual([{ type: 'probe', run: 0, example: 0 }, { type: 'probe', run: 1, example: 0 }]);
    // A second evaluation while those probes are unanswered sends nothing more; the answer triggers one re-probe.
    receiveAttentionMessage({ type: 'evaluation', step: 20, points: [] });
    expect(sent).toHaveLength(2);
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 10, 0.75) });
    expect(sent).toHaveLength(3);
    expect(sent[2]).toEqual({ type: 'probe', run: 0, example: 0 });
    s = useAttention.getState();
    expect(s.massSeries[seriesKey(0, 0)].map((p) => [p.step, p.byLayer[0][1]])).toEqual([[0, 0.25], [10, 0.75]]);
  });

  it('changing the example probes it and drops the old snapshots', () => {
    receiveAttentionMessage(built);
    useAttention.getState().setExample(0);
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25) });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 0, 0.25) });
    sent.length = 0;
    useAttention.getState().setExample(3);
    expect(sent).toEqual([{ type: 'probe', run: 0, example: 3 }, { type: 'probe', run: 1, example: 3 }]);
    expect(useAttention.getState().snapshots).toEqual({});
    // A snapshot of another example still extends that example's series but is not shown.
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25, 0) });
    expect(useAttention.getState().snapshots).toEqual({});
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25, 3) });
    expect(useAttention.getState().snapshots[0].example).toBe(3);
  });

  it('matches generation results to the latest request', () => {
    receiveAttentionMessage(built);
    useAttention.getState().generate([8, 9], 3);
    const request = sent.at(-1) as Extract<ToTrainer, { type: 'generate' }>;
    expect(request).toMatchObject({ type: 'generate', prompt: [8, 9], maxTokens: 3 });
    receiveAttentionMessage({ type: 'generation', result: { requestId: request.requestId - 1, runs: [] } });
    expect(useAttention.getState().generation.status).toBe('pending');
    receiveAttentionMessage({ type: 'generation', result: { requestId: request.requestId, runs: [{ continuation: [5], top: [] }] } });
    expect(useAttention.getState().generation).toMatchObject({ status: 'done', prompt: [8, 9] });
    useAttention.getState().generate([8], 1);
    receiveAttentionMessage({ type: 'error', message: 'Cannot generate: boom.' });
    expect(useAttention.getState().generation).toMatchObject({ status: 'failed', error: 'Cannot generate: boom.' });
  });
});

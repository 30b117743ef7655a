import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttentionSnapshot, FromTrainer, ToTrainer } from '../src/session/protocol';
import { preset } from '../src/config/presets';
import type { RunInfo } from '../src/engine/types';
import { createTask } from '../src/data/task';
import { taskView } from '../src/session/taskView';

// The store's only link to the Worker, replaced by a recorder.
const sent: ToTrainer[] = [];
vi.mock('../src/store/trainer', () => ({
  sendToTrainer: (message: ToTrainer) => { sent.push(message); },
  subscribeToTrainer: () => () => undefined,
}));

const { keepUnchanged } = await import('../src/ui/attention/useCompared');
const { COALESCE_MS, comparedRuns, defaultArms, receiveAttentionMessage, seriesKey, useAttention, withPoint } = await import('../src/store/attention');

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

describe('the compared runs the views get', () => {
  it('keeps the entries (and the list) that did not change, so memoised views skip them', () => {
    const info = run(0, 0, 0), other = run(1, 0.15, 0);
    const s0 = snapshot(0, 0, 0.25), s1 = snapshot(1, 0, 0.25);
    const entry = (r: number, i: RunInfo, snap: AttentionSnapshot | undefined) => ({ run: r, info: i, colour: '#000000', label: 'x', snapshot: snap });
    const first = [entry(0, info, s0), entry(1, other, s1)];
    const same = keepUnchanged(first, [entry(0, info, s0), entry(1, other, s1)]);
    expect(same).toBe(first);
    const newer = snapshot(1, 10, 0.5);
    const next = keepUnchanged(first, [entry(0, info, s0), entry(1, other, newer)]);
    expect(next).not.toBe(first);
    expect(next[0]).toBe(first[0]);
    expect(next[1]).not.toBe(first[1]);
    expect(next[1].snapshot).toBe(newer);
    expect(keepUnchanged(first, [entry(0, info, s0)])).toEqual([first[0]]);
  });
});

describe('the store follows the Worker', () => {
  const config = preset('tiny');
  const runs = [run(0, 0, 0), run(1, 0.15, 0)];
  // The task as the Worker describes it: from the task and evaluation set an engine of this config builds.
  const task = createTask(config.task, config.taskOptions);
  const { count, buckets, seed } = config.evaluation;
  const view = taskView({ task, evalSet: task.evalSet(count, config.model.context, buckets, seed) });
  const built: FromTrainer = { type: 'built', runs, parameterCount: 1, memoryBytes: 1, config, task: view };

  beforeEach(() => { sent.length = 0; });
  afterEach(() => { vi.useRealTimers(); });

  it('probes the compared runs when a study is built, and takes token names and examples from the Worker', () => {
    receiveAttentionMessage(built);
    const s = useAttention.getState();
    // The default example is the first of the middle depth bucket (tiny: 4 buckets, example i in bucket i mod 4).
    expect(s.example).toBe(2);
    expect(s.examples[2].bucket).toBe(2);
    expect(sent).toEqual([{ type: 'probe', run: 0, example: 2 }, { type: 'probe', run: 1, example: 2 }]);
    expect(s.examples.length).toBe(config.evaluation.count);
    expect(s.examples[0].prompt.length).toBe(config.model.context);
    expect(s.examples).toBe(view.examples);
    expect(s.task?.tokenNames[s.examples[0].answer]).toMatch(/^V\d+$/);
    expect(s.task?.segmentNames.slice(0, s.task.inputSegments)).toEqual(['context before', 'needle', 'context after', 'query']);
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
    // Run 0's answer waits for run 1's answer to the same round: both apply in one update.
    expect(useAttention.getState().snapshots[0].step).toBe(0);
    const updates: number[] = [];
    const unsubscribe = useAttention.subscribe((state) => updates.push(state.snapshots[0].step + state.snapshots[1].step));
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 10, 0.5) });
    unsubscribe();
    expect(updates).toEqual([20]);
    s = useAttention.getState();
    expect(s.massSeries[seriesKey(0, 0)].map((p) => [p.step, p.byLayer[0][1]])).toEqual([[0, 0.25], [10, 0.75]]);
    expect(s.massSeries[seriesKey(1, 0)].map((p) => p.step)).toEqual([0, 10]);
  });

  it('applies an answer alone when the other run\'s answer does not follow soon', () => {
    vi.useFakeTimers();
    receiveAttentionMessage(built);
    useAttention.getState().setExample(0);
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25) });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 0, 0.25) });
    receiveAttentionMessage({ type: 'evaluation', step: 10, points: [] });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 10, 0.5) });
    expect(useAttention.getState().snapshots[1].step).toBe(0);
    vi.advanceTimersByTime(COALESCE_MS - 1);
    expect(useAttention.getState().snapshots[1].step).toBe(0);
    vi.advanceTimersByTime(1);
    expect(useAttention.getState().snapshots[1].step).toBe(10);
    expect(useAttention.getState().snapshots[0].step).toBe(0);
    expect(useAttention.getState().massSeries[seriesKey(1, 0)].map((p) => p.step)).toEqual([0, 10]);
    // A reset drops answers that wait to be applied.
    receiveAttentionMessage({ type: 'evaluation', step: 20, points: [] });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 20, 0.5) });
    receiveAttentionMessage(built);
    vi.advanceTimersByTime(COALESCE_MS);
    expect(useAttention.getState().snapshots).toEqual({});
    expect(useAttention.getState().massSeries).toEqual({});
  });

  it('does not re-apply a snapshot it already shows (the Worker posts one by itself after each evaluation)', () => {
    receiveAttentionMessage(built);
    useAttention.getState().setExample(0);
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 0, 0.25) });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 0, 0.25) });
    receiveAttentionMessage({ type: 'evaluation', step: 10, points: [] });
    // The Worker's own snapshot of run 1, then the answers to the store's probes (run 1's repeats it).
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 10, 0.5) });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(0, 10, 0.5) });
    const shown = useAttention.getState().snapshots;
    expect([shown[0].step, shown[1].step]).toEqual([10, 10]);
    let updates = 0;
    const unsubscribe = useAttention.subscribe(() => { updates++; });
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 10, 0.5) });
    expect(updates).toBe(0);
    expect(useAttention.getState().snapshots).toBe(shown);
    // Different values at the same step (e.g. weights loaded into the run) are shown.
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 10, 0.75) });
    unsubscribe();
    expect(updates).toBe(1);
    expect(useAttention.getState().snapshots[1].clean[3 * 4 + 1]).toBe(0.75);
    expect(useAttention.getState().massSeries[seriesKey(1, 0)].map((p) => [p.step, p.byLayer[0][1]])).toEqual([[0, 0.25], [10, 0.75]]);
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
    receiveAttentionMessage({ type: 'attention', snapshot: snapshot(1, 0, 0.25, 3) });
    expect(useAttention.getState().snapshots[0].example).toBe(3);
    expect(useAttention.getState().massSeries[seriesKey(0, 3)].map((p) => p.step)).toEqual([0]);
    expect(useAttention.getState().massSeries[seriesKey(1, 3)].map((p) => p.step)).toEqual([0]);
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

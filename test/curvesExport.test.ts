import { describe, expect, it } from 'vitest';
import { applyMessages, type RunsState } from '../src/store/runs';
import { curveRows, curvesCsv, curvesJson } from '../src/store/curves';
import { presetConfig } from '../src/store/configCodec';
import type { FromTrainer, HistoryPoint } from '../src/session/protocol';

const runs = [
  { arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' as const },
  { arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' as const },
];
const task = {
  segmentNames: ['context before', 'needle', 'context after', 'query', 'answer'], inputSegments: 4,
  tokenNames: [], characters: null, bucketLabel: 'needle depth', examples: [],
};
const point = (step: number, r: number): HistoryPoint => ({
  step, trainLoss: 1, valLoss: 2.5 - step / 100 - r / 7, retrievalAcc: step / 40 + r / 3, accByDepth: [0.1 * r, 1 / 3], tokensPerSec: 1,
});

function trainedStore(): RunsState {
  const empty: RunsState = {
    state: 'idle', step: 0, study: null, error: null, train: { steps: [], loss: [] }, evals: { steps: [], points: [] },
    speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [], msPerStep: [] }, failures: [],
    optim: { gradNorm: [], learningRate: [], weightNorm: [] },
  };
  const messages: FromTrainer[] = [
    { type: 'built', runs, parameterCount: 10, memoryBytes: 100, config: presetConfig('tiny'), task },
    { type: 'evaluation', step: 0, points: [point(0, 0), point(0, 1)] },
    { type: 'trainLoss', step: 3, losses: [3.1234567890123, Number.NaN], stepsPerSecond: 7, tokensPerSecond: 1234.5 },
    { type: 'trainLoss', step: 10, losses: [2.5, 2.75], stepsPerSecond: 8, tokensPerSecond: 1300, gradNorms: [0.75, Number.NaN], learningRate: 3e-4 },
    { type: 'evaluation', step: 10, points: [point(10, 0), point(10, 1)], weightNorms: [41.5, 42.25] },
  ];
  return applyMessages(empty, messages);
}

/** A minimal CSV reader for the export's own output (quoted fields where needed). */
function parseCsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trimEnd().split('\n');
  const columns = head.split(',');
  return lines.map((line) => {
    const fields = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '')).map((f) => (f.startsWith('"') ? f.slice(1, -1).replace(/""/g, '"') : f));
    return Object.fromEntries(columns.map((c, i) => [c, fields[i]]));
  });
}

describe('curve export', () => {
  it('the CSV holds every value of the store, exactly, and nothing else', () => {
    const store = trainedStore();
    const rows = parseCsv(curvesCsv(store));
    const value = (series: string, run: string, step: number) => rows.find((r) => r.series === series && r.run === run && Number(r.step) === step)?.value;
    // Training loss: every run at every reported step (a non-finite loss is empty).
    store.train.steps.forEach((step, k) => store.train.loss.forEach((losses, r) => {
      expect(value('train_loss', String(r), step)).toBe(losses[k] === null ? '' : String(losses[k]));
    }));
    expect(value('train_loss', '0', 3)).toBe('3.1234567890123');
    expect(value('train_loss', '1', 3)).toBe('');
    // Evaluations: validation loss, accuracy and every bucket, read back as the same numbers.
    store.evals.steps.forEach((step, k) => store.evals.points.forEach((points, r) => {
      expect(Number(value('val_loss', String(r), step))).toBe(points[k].valLoss);
      expect(Number(value('retrieval_acc', String(r), step))).toBe(points[k].retrievalAcc);
      points[k].accByDepth.forEach((acc, b) => expect(Number(value(`acc_bucket_${b}`, String(r), step))).toBe(acc));
    }));
    store.speed.steps.forEach((step, k) => {
      expect(Number(value('tokens_per_s', '', step))).toBe(store.speed.tokensPerSecond[k]);
      expect(Number(value('ms_per_step', '', step))).toBe(store.speed.msPerStep[k]);
    });
    // Gradient norm, learning rate and weight norm where they were measured (step 3's message has none).
    expect(value('grad_norm', '0', 10)).toBe('0.75');
    expect(value('grad_norm', '1', 10)).toBeUndefined(); // not finite: no row
    expect(value('learning_rate', '', 10)).toBe('0.0003');
    expect(value('weight_norm', '0', 10)).toBe('41.5');
    expect(value('weight_norm', '1', 10)).toBe('42.25');
    expect(value('weight_norm', '0', 0)).toBeUndefined();
    const expected = 2 * 2 /* train */ + 2 * 2 * (2 + 2) /* evals: val, acc, 2 buckets */ + 2 * 2 /* speed */ + 1 + 1 + 2 /* optim */;
    expect(rows).toHaveLength(expected);
    expect(rows.find((r) => r.run === '1')).toMatchObject({ arm: 'MEAP 15%', maskRatio: '0.15', seed: '0' });
  });

  it('the JSON has the same rows, with the study', () => {
    const store = trainedStore();
    const parsed = JSON.parse(curvesJson(store)) as { rows: unknown[]; runs: unknown[]; bucketLabel: string };
    expect(parsed.rows).toEqual(curveRows(store));
    expect(parsed.runs).toEqual(runs);
    expect(parsed.bucketLabel).toBe('needle depth');
  });

  it('a task without retrieval exports no accuracy series', () => {
    const store = trainedStore();
    const text = { ...store, study: { ...store.study!, task: { ...task, bucketLabel: '' } } };
    expect(curveRows(text).some((r) => r.series.startsWith('retrieval') || r.series.startsWith('acc_'))).toBe(false);
  });
});

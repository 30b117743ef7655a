/**
 * The PyTorch twin draws exactly the engine's streams: for every task (needle, recall, multidoc, text; qa with the mask controls) and
 * three seeds (and the mask options: shared mask, protected query, replace: random / random-filler, protected segments, a shorter
 * cosine schedule), the first batches, masks, AdamW hyper rows, the evaluation set (with its segment labels) and the initial weights
 * equal the engine's RunPlan, token for token and bit for bit.
 * The qa task's data (training batches, evaluation set with answer lengths) is compared against createTask alone (no torch).
 */
import { describe, expect, it } from 'vitest';
import { preset, type StudyConfig } from '../src/config/presets';
import { DEFAULT_ALPHABET } from '../src/data/charTokenizer';
import { generateCorpus } from '../src/data/corpus';
import { probeSetFor } from '../src/engine/modelAnalysis';
import { quickDefinition, studyDefinition } from '../src/study/studies';
import type { TextSource } from '../src/data/task';
import { RunPlan } from '../src/engine/runPlan';
import { ADAMW_HYPER_STRIDE, AdamWHyperSlot } from '../src/kernels/adamw';
import { parameterLayout } from '../src/model/layout';
import { createTask, type QaTaskOptions } from '../src/data/task';
import { Rng } from '../src/util/random';
import { assertTorchAvailable, runPython, runTwin } from './torchTwinSupport';

interface TwinDraws {
  steps: { tokens: number[][]; masks: number[][]; lr: number; bc1: number; bc2: number }[];
  eval: { tokens: number[]; segments: number[]; answers: number[]; buckets: number[]; answerPositions: number[] };
  init: Record<string, Record<string, number[]>>;
}

const STEPS = 3;

function textStudyOf(source: TextSource, options: Partial<StudyConfig>): StudyConfig {
  const base = preset('tiny');
  return {
    ...base, task: 'text', taskOptions: { alphabet: DEFAULT_ALPHABET, source }, model: { ...base.model, vocabSize: 79 },
    arms: [0, 0.15, 0.3], seedsPerArm: 3, evaluation: { ...base.evaluation, count: 24, buckets: 1 }, ...options,
  } as StudyConfig;
}

/** A user text exercising normalisation: CR LF, a tab, a byte-order mark, a decomposed é (NFC), characters outside the alphabet. */
const USER_TEXT = '\uFEFF' + Array.from({ length: 12 }, (_, i) => `Line ${i}:\tcafe\u0301 — naïve 😀 text.\r\n`).join('');

function studyOf(task: 'needle' | 'recall' | 'multidoc' | 'qa', options: Partial<StudyConfig>): StudyConfig {
  if (task === 'qa') {
    const qa = preset('qa-tiny');
    return { ...qa, arms: [0, 0.15, 0.3], seedsPerArm: 3, evaluation: { ...qa.evaluation, count: 24 }, ...options } as StudyConfig;
  }
  const base = preset('tiny');
  const taskOptions = task === 'needle' ? base.taskOptions
    : task === 'recall' ? { ...base.taskOptions, pairs: 3 } : { ...base.taskOptions, documents: 3 };
  const buckets = task === 'needle' ? 4 : 3;
  return {
    ...base, task, taskOptions, arms: [0, 0.15, 0.3], seedsPerArm: 3,
    evaluation: { ...base.evaluation, count: 24, buckets }, ...options,
  } as StudyConfig;
}

function engineDraws(config: StudyConfig, count: number) {
  const plan = new RunPlan(config);
  const B = config.batch, T = config.model.context;
  const steps = Array.from({ length: count }, () => {
    const tokens = new Uint32Array(plan.R * B * (T + 1));
    const mask = new Uint32Array(plan.R * B * T);
    plan.nextStep(tokens, mask);
    return { tokens, mask, hyper: plan.hyper.slice() };
  });
  return { plan, steps };
}

/** [name, config, steps compared (default STEPS)]. */
const cases: [string, StudyConfig, number?][] = [];
for (const task of ['needle', 'recall', 'multidoc'] as const) {
  for (const baseSeed of [1, 7, 123456789]) cases.push([`${task} baseSeed ${baseSeed}`, studyOf(task, { baseSeed })]);
  cases.push([`${task} shared mask`, studyOf(task, { sharedMask: true })]);
  cases.push([`${task} protect query`, studyOf(task, { protectQuery: true, baseSeed: 5 })]);
}
// The mask-policy controls (issue 17): replacement draws after the positions, protected segments found per block.
for (const task of ['needle', 'recall', 'multidoc', 'qa'] as const) {
  cases.push([`${task} replace random`, studyOf(task, { replace: 'random', baseSeed: 11 })]);
  cases.push([`${task} replace random-filler`, studyOf(task, { replace: 'random-filler', baseSeed: 12 })]);
  cases.push([`${task} protect needle key and value`, studyOf(task, { protect: ['needle-key', 'needle-value'], baseSeed: 13 })]);
  cases.push([`${task} protect query marker`, studyOf(task, { protect: ['query-marker'], baseSeed: 14 })]);
}
cases.push(['needle replace random, protect every segment, protect query', studyOf('needle', {
  replace: 'random', protect: ['needle-key', 'needle-value', 'query-marker', 'query-key'], protectQuery: true, baseSeed: 15,
})]);
cases.push(['text replace random', textStudyOf({ kind: 'generated', seed: 3, documents: 30 }, { replace: 'random', baseSeed: 16 })]);
// A cosine over 3 of 6 steps: steps 3–6 sit at the floor (the rows past scheduleSteps are compared).
const SHORT_SCHEDULE = { ...preset('tiny').optimizer, warmupSteps: 1, scheduleSteps: 3 };
cases.push(['needle scheduleSteps 3 of 6', studyOf('needle', { steps: 6, optimizer: SHORT_SCHEDULE, baseSeed: 17 }), 6]);
for (const baseSeed of [1, 7, 123456789]) {
  cases.push([`text (generated corpus) baseSeed ${baseSeed}`, textStudyOf({ kind: 'generated', seed: baseSeed, documents: 30 }, { baseSeed })]);
}
cases.push(['text (user text) shared mask', textStudyOf({ kind: 'user', text: USER_TEXT }, { sharedMask: true })]);

describe('PyTorch twin: data streams', () => {
  it('has python3 with torch', () => assertTorchAvailable());

  it('writes the zero-shot text probe prompt for prompt (pretrain-then-probe and its quick version)', () => {
    const base = studyDefinition('pretrain-then-probe');
    for (const config of [base.config, quickDefinition(base).config]) {
      const twin = runTwin<{ tokens: number[]; segments: number[]; answerStart: number[]; buckets: number[] }>('parity', ['probe', 'CONFIG'], config);
      const engine = probeSetFor(config)!;
      expect(twin.tokens).toEqual(Array.from(engine.tokens));
      expect(twin.segments).toEqual(Array.from(engine.segments));
      expect(twin.answerStart).toEqual(Array.from(engine.answerStart));
      expect(twin.buckets).toEqual(Array.from(engine.buckets));
    }
  });

  it.each([
    [{ fillerWords: 16, keys: 8, values: 12, documents: 4, answerMin: 2, answerMax: 5 }, 48, 4, 1],
    [{ fillerWords: 9, keys: 20, values: 20, documents: 7, answerMin: 3, answerMax: 3 }, 46, 3, 123456789], // the shortest context: no filler
    [{ fillerWords: 128, keys: 64, values: 64, documents: 20, answerMin: 3, answerMax: 8 }, 256, 5, 7],
  ] as [QaTaskOptions, number, number, number][])('qa task data (%j, T %i): training batches and evaluation set equal the engine\'s', (options, T, buckets, seed) => {
    // Data only (no torch): the twin's create_task("qa") against createTask('qa').
    const script = [
      'import json, sys',
      'from meap_torch.tasks import create_task',
      'from meap_torch.rng import Rng',
      'o, T, buckets, seed = json.loads(sys.argv[1])',
      'task = create_task("qa", o)',
      'rng = Rng(seed)',
      'batches = [task.training_batch(rng, 5, T) for _ in range(2)]',
      'ev = task.eval_set(2 * buckets + 1, T, buckets, seed)',
      'print(json.dumps({"batches": batches, "tokens": ev.tokens, "segments": ev.segments, "answers": ev.answers, "buckets": ev.buckets,',
      '  "answerPositions": ev.answer_positions, "answerLengths": ev.answer_lengths, "vocab": task.vocab_size, "queryLength": task.query_length}))',
    ].join('\n');
    const twin = JSON.parse(runPython(['-c', script, JSON.stringify([options, T, buckets, seed])]));
    const task = createTask('qa', options);
    const rng = new Rng(seed);
    for (const batch of twin.batches) expect(batch).toEqual(Array.from(task.trainingBatch(rng, 5, T)));
    const ev = task.evalSet(2 * buckets + 1, T, buckets, seed);
    expect(twin.tokens).toEqual(Array.from(ev.tokens));
    expect(twin.segments).toEqual(Array.from(ev.segments));
    expect(twin.answers).toEqual(Array.from(ev.answers));
    expect(twin.buckets).toEqual(Array.from(ev.buckets));
    expect(twin.answerPositions).toEqual(Array.from(ev.answerPositions));
    expect(twin.answerLengths).toEqual(Array.from(ev.answerLengths!));
    expect([twin.vocab, twin.queryLength]).toEqual([task.vocabSize, task.queryLength]);
  });

  it('generates the text corpus document for document (every sentence kind, names, ages)', () => {
    for (const seed of [1, 99]) expect(runTwin<string[]>('parity', ['corpus', seed, 300])).toEqual(generateCorpus(seed, 300));
  });

  it.each(cases)('%s: batches, masks, hyper rows, evaluation set and init equal the engine', (_, config, count = STEPS) => {
    const twin = runTwin<TwinDraws>('parity', ['draws', 'CONFIG', count], config);
    const { plan, steps } = engineDraws(config, count);
    expect(twin.steps).toHaveLength(count);
    const B = config.batch, T = config.model.context;
    steps.forEach((step, s) => {
      for (let r = 0; r < plan.R; r++) {
        expect(twin.steps[s].tokens[r], `step ${s + 1} run ${r} tokens`).toEqual(Array.from(step.tokens.subarray(r * B * (T + 1), (r + 1) * B * (T + 1))));
        expect(twin.steps[s].masks[r], `step ${s + 1} run ${r} mask`).toEqual(Array.from(step.mask.subarray(r * B * T, (r + 1) * B * T)));
        expect(twin.steps[s].lr).toBe(step.hyper[r * ADAMW_HYPER_STRIDE + AdamWHyperSlot.lr]);
        expect(twin.steps[s].bc1).toBe(step.hyper[r * ADAMW_HYPER_STRIDE + AdamWHyperSlot.biasCorrection1]);
        expect(twin.steps[s].bc2).toBe(step.hyper[r * ADAMW_HYPER_STRIDE + AdamWHyperSlot.biasCorrection2]);
      }
      // The masked arms really mask something (a twin drawing no masks would otherwise pass the NTP rows only): [MASK]
      // entries (1), or with a replace control only replacement entries (2 + id).
      const replaced = config.replace === 'random' || config.replace === 'random-filler';
      expect(step.mask.some((x) => x === 1)).toBe(!replaced);
      expect(step.mask.some((x) => x >= 2)).toBe(replaced);
    });
    const scheduleSteps = config.optimizer.scheduleSteps;
    if (scheduleSteps !== undefined) {
      // Past scheduleSteps the rate stays at the floor, which the default schedule (over `steps`) does not reach before the end.
      const floor = Math.fround(config.optimizer.lr * config.optimizer.minLrRatio);
      expect(twin.steps.slice(scheduleSteps - 1).map((s) => s.lr)).toEqual(Array(count - scheduleSteps + 1).fill(floor));
      expect(count).toBeGreaterThan(scheduleSteps);
    }
    const ev = plan.evalSet;
    expect(twin.eval.tokens).toEqual(Array.from(ev.tokens));
    expect(twin.eval.segments, 'evaluation segment labels').toEqual(Array.from(ev.segments));
    expect(twin.eval.answers).toEqual(Array.from(ev.answers));
    expect(twin.eval.buckets).toEqual(Array.from(ev.buckets));
    expect(twin.eval.answerPositions).toEqual(Array.from(ev.answerPositions));
    const layout = parameterLayout(config.model);
    const initial = plan.initialParameters(layout);
    plan.runs.forEach((run, r) => {
      if (run.arm !== 0) return;
      for (const t of layout.tensors) {
        expect(twin.init[run.seed][t.name], `seed ${run.seed} ${t.name}`).toEqual(Array.from(initial[r].subarray(t.offset, t.offset + t.size)));
      }
    });
  });
});

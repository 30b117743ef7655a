/**
 * Issue 17's mask-policy controls: `replace` (what a chosen input becomes) and `protect` (segments never
 * chosen), in the policy, the tasks' segment finder, the run plan and both engines.
 */
import { describe, expect, it } from 'vitest';
import { MASK_ENTRY, fillMask, maskCount } from '../src/data/maskPolicy';
import { protectedInputPositions, segmentPositions } from '../src/data/protectedSegments';
import { createTask } from '../src/data/task';
import { needleVocab } from '../src/data/needleVocab';
import { preset } from '../src/config/presets';
import type { StudyConfig } from '../src/config/presets';
import { validateStudyConfig } from '../src/config/validate';
import { RunPlan } from '../src/engine/runPlan';
import { Rng } from '../src/util/random';

function planMasks(config: StudyConfig, steps: number): { tokens: Uint32Array[]; masks: Uint32Array[] } {
  const plan = new RunPlan(config);
  const B = config.batch, T = config.model.context;
  const out = { tokens: [] as Uint32Array[], masks: [] as Uint32Array[] };
  for (let s = 0; s < steps; s++) {
    const tokens = new Uint32Array(plan.R * B * (T + 1)), mask = new Uint32Array(plan.R * B * T);
    plan.nextStep(tokens, mask);
    out.tokens.push(tokens);
    out.masks.push(mask);
  }
  return out;
}

const needleStudy = (over: Partial<StudyConfig> = {}): StudyConfig => ({ ...preset('quick'), arms: [0, 0.15], seedsPerArm: 2, ...over });

describe('replace: what a chosen input becomes', () => {
  it('mask (default) writes entry 1; random / random-filler write 2 + an id of the given list, at the same positions', () => {
    const B = 64, T = 16;
    const ids = [10, 11, 12];
    const masked = new Uint32Array(B * T), replaced = new Uint32Array(B * T);
    fillMask(masked, B, T, { ratio: 0.2, sharedAcrossBatch: false }, new Rng(3));
    fillMask(replaced, B, T, { ratio: 0.2, sharedAcrossBatch: false, replace: 'random', replacementIds: ids }, new Rng(3));
    expect(new Set(masked)).toEqual(new Set([MASK_ENTRY.CLEAN, MASK_ENTRY.MASK]));
    const seen = new Set<number>();
    // Each sequence draws its positions first, so sequence 0's positions agree; later ones shift with the extra draws.
    for (let t = 0; t < T; t++) expect(replaced[t] !== 0).toBe(masked[t] !== 0);
    for (let b = 0; b < B; b++) {
      const row = replaced.subarray(b * T, (b + 1) * T);
      expect(row.filter((m) => m !== 0).length).toBe(maskCount(0.2, T));
      for (const m of row) if (m !== 0) { expect(ids).toContain(m - 2); seen.add(m - 2); }
    }
    expect([...seen].sort()).toEqual(ids);
  });

  it('needs the ids to draw from', () => {
    expect(() => fillMask(new Uint32Array(16), 1, 16, { ratio: 0.2, sharedAcrossBatch: false, replace: 'random' }, new Rng(1)))
      .toThrow(/needs the ids/);
  });

  it('the needle tasks offer ordinary ids (filler, keys, values) and filler ids; text has no filler', () => {
    const task = createTask('needle', { fillerWords: 16, keys: 8, values: 8 });
    const v = needleVocab(16, 8, 8);
    expect(task.ordinaryIds).toEqual(Array.from({ length: 32 }, (_, i) => v.fillerStart + i));
    expect(task.fillerIds).toEqual(Array.from({ length: 16 }, (_, i) => v.fillerStart + i));
    expect(task.ordinaryIds).not.toContain(v.maskId);
    const text = createTask('text', preset('text-s').taskOptions as StudyConfig<'text'>['taskOptions']);
    expect(text.fillerIds).toBeUndefined();
    expect(text.ordinaryIds).not.toContain(text.maskId);
  });

  it('in a study: the MEAP arm\'s chosen inputs become random filler words; NTP stays clean', () => {
    const config = needleStudy({ replace: 'random-filler' });
    validateStudyConfig(config);
    const { masks } = planMasks(config, 3);
    const task = createTask('needle', config.taskOptions as StudyConfig<'needle'>['taskOptions']);
    const BT = config.batch * config.model.context;
    for (const mask of masks) {
      expect(mask.subarray(0, 2 * BT).every((m) => m === 0)).toBe(true); // NTP runs (arm 0)
      const meap = mask.subarray(2 * BT);
      expect(meap.some((m) => m !== 0)).toBe(true);
      for (const m of meap) if (m !== 0) expect(task.fillerIds).toContain(m - 2);
    }
  });

  it('validation: random-filler needs filler words; an unknown mode is named', () => {
    const text = { ...preset('text-s'), replace: 'random-filler' } as StudyConfig;
    expect(() => validateStudyConfig(text)).toThrow(/random-filler needs a task with filler words/);
    expect(() => validateStudyConfig({ ...needleStudy(), replace: 'zero' } as unknown as StudyConfig)).toThrow(/replace.*mask, random, random-filler/);
  });
});

describe('protect: segments never masked', () => {
  it('finds the needle and query of needle, recall, multidoc and qa blocks', () => {
    const T = 40;
    for (const [name, options] of [
      ['needle', { fillerWords: 16, keys: 8, values: 8 }],
      ['recall', { fillerWords: 16, keys: 8, values: 8, pairs: 3 }],
      ['multidoc', { fillerWords: 16, keys: 8, values: 8, documents: 3 }],
      ['qa', { fillerWords: 16, keys: 8, values: 8, documents: 3, answerMin: 2, answerMax: 4 }],
    ] as const) {
      const task = createTask(name, options as never);
      const evalSet = task.evalSet(30, T, 3, 5);
      for (let i = 0; i < evalSet.count; i++) {
        const block = evalSet.tokens.subarray(i * (T + 1), (i + 1) * (T + 1));
        const segments = evalSet.segments.subarray(i * (T + 1), (i + 1) * (T + 1));
        const answerStart = evalSet.answerPositions[i] + 1;
        const found = segmentPositions(block, T, answerStart);
        // The needle segment is key, ':', value(s); the query segment is '?', key.
        const needle = [...segments].flatMap((s, p) => (s === 1 ? [p] : []));
        const query = [...segments].flatMap((s, p) => (s === 3 ? [p] : []));
        expect([...found['needle-key'], needle[1], ...found['needle-value']], name).toEqual(needle);
        expect([...found['query-marker'], ...found['query-key']], name).toEqual(query);
        expect(task.protectedInputs!(block, T, ['needle-key', 'needle-value'])).toEqual(
          protectedInputPositions(block, T, answerStart, ['needle-value', 'needle-key']));
      }
    }
  });

  it('a block without its key earlier is refused', () => {
    expect(() => segmentPositions([9, 9, 4, 7, 1], 4, 4)).toThrow(/queried key earlier/);
  });

  it('never masks the protected needle, keeps k per sequence and draws uniformly from the rest', () => {
    const config = needleStudy({ protect: ['needle-key', 'needle-value'], arms: [0.15], seedsPerArm: 1, batch: 256 });
    validateStudyConfig(config);
    const { tokens, masks } = planMasks(config, 2);
    const T = config.model.context, B = config.batch;
    const task = createTask('needle', config.taskOptions as StudyConfig<'needle'>['taskOptions']);
    let maskedBeside = 0;
    for (let s = 0; s < 2; s++) {
      for (let b = 0; b < B; b++) {
        const block = tokens[s].subarray(b * (T + 1), (b + 1) * (T + 1));
        const row = masks[s].subarray(b * T, (b + 1) * T);
        const keep = task.protectedInputs!(block, T, config.protect!);
        expect(keep.length).toBe(2);
        for (const p of keep) expect(row[p]).toBe(0);
        expect(row[T - 1]).toBe(0);
        expect(row.filter((m) => m !== 0).length).toBe(maskCount(0.15, T));
        // The colon between key and value is not protected: it is masked now and then.
        maskedBeside += row[keep[0] + 1];
      }
    }
    expect(maskedBeside).toBeGreaterThan(0);
  });

  it('protect [query-marker, query-key] draws exactly the masks of protectQuery (bit for bit)', () => {
    const a = planMasks(needleStudy({ protectQuery: true }), 4);
    const b = planMasks(needleStudy({ protect: ['query-marker', 'query-key'] }), 4);
    expect(b.masks).toEqual(a.masks);
    expect(b.tokens).toEqual(a.tokens);
  });

  it('without protect and with replace: mask the streams are those of the paper\'s policy (nothing else drawn)', () => {
    const a = planMasks(needleStudy(), 3);
    const b = planMasks(needleStudy({ replace: 'mask', protect: [] }), 3);
    expect(b.masks).toEqual(a.masks);
  });

  it('validation: protect needs a retrieval task and masks per sequence; unknown segments are named', () => {
    expect(() => validateStudyConfig({ ...preset('text-s'), protect: ['needle-key'] } as StudyConfig)).toThrow(/protect needs a retrieval task/);
    expect(() => validateStudyConfig(needleStudy({ protect: ['needle-key'], sharedMask: true }))).toThrow(/turn off sharedMask/);
    expect(() => validateStudyConfig(needleStudy({ protect: ['needle'] } as never))).toThrow(/needle-key, needle-value, query-marker, query-key/);
    expect(() => validateStudyConfig(needleStudy({ protect: ['query-key', 'query-key'] }))).toThrow(/twice/);
  });
});

describe('scheduleSteps: a longer run on a shorter run\'s schedule', () => {
  it('equals the short run\'s learning rate up to its end, then stays at the floor', () => {
    const short = new RunPlan(needleStudy({ steps: 800 }));
    const long = needleStudy({ steps: 2000 });
    long.optimizer = { ...long.optimizer, scheduleSteps: 800 };
    validateStudyConfig(long);
    const plan = new RunPlan(long);
    for (const step of [1, 40, 41, 400, 799, 800]) expect(plan.learningRateAt(step)).toBe(short.learningRateAt(step));
    const floor = long.optimizer.lr * long.optimizer.minLrRatio;
    expect(plan.learningRateAt(801)).toBeCloseTo(floor, 15);
    expect(plan.learningRateAt(2000)).toBeCloseTo(floor, 15);
    const bad = needleStudy();
    bad.optimizer = { ...bad.optimizer, scheduleSteps: 10 };
    expect(() => validateStudyConfig(bad)).toThrow(/scheduleSteps \(10\) must be ≥ optimizer.warmupSteps/);
  });
});

describe('the controls in both engines', () => {
  it('GPU and CPU engines train the same replaced-and-protected inputs: losses agree, and differ from [MASK]\'s', async () => {
    const { Study } = await import('../src/engine/gpuStudy');
    const { CpuStudy } = await import('../src/engine/cpuStudy');
    const { testContext } = await import('./gpuContext');
    const base: StudyConfig = { ...preset('tiny'), steps: 6, arms: [0.15], evaluation: { every: 3, count: 8, buckets: 2, seed: 5 } };
    const control: StudyConfig = { ...base, replace: 'random', protect: ['needle-key', 'needle-value'] };
    const ctx = await testContext();
    const losses = async (config: StudyConfig) => {
      const gpu = await Study.create(ctx, config);
      const cpu = CpuStudy.create(config);
      try {
        const out: [number, number][] = [];
        for (let s = 0; s < 3; s++) {
          gpu.trainStep();
          cpu.trainStep();
          out.push([(await gpu.lastLosses())[0], (await cpu.intervalReport()).losses[0]]);
        }
        return out;
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
    };
    const controlled = await losses(control);
    for (const [g, c] of controlled) expect(Math.abs(g - c)).toBeLessThan(1e-4);
    const masked = await losses(base);
    expect(controlled[0][0]).not.toBe(masked[0][0]);
  });
});

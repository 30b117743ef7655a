import { describe, expect, it } from 'vitest';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import { learningRate } from '../src/engine/schedule';
import { validateStudyConfig } from '../src/config/validate';
import { testContext } from './gpuContext';
import { referenceForward } from '../src/reference/model';

function tinyStudy(overrides: Partial<StudyConfig> = {}): StudyConfig {
  return { ...preset('tiny'), steps: 12, evaluation: { every: 6, count: 12, buckets: 3, seed: 5 }, ...overrides };
}

async function train(config: StudyConfig, steps: number) {
  const ctx = await testContext();
  const study = await Study.create(ctx, config);
  try {
    const losses: Float32Array[] = [];
    for (let s = 0; s < steps; s++) {
      study.trainStep();
      losses.push(await study.lastLosses());
    }
    return { losses, params: await study.model.readParams(), P: study.model.layout.P, evaluation: await study.evaluate(), runs: study.runs };
  } finally {
    study.dispose();
  }
}

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays by cosine to the floor', () => {
    const s = { peak: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
    expect(learningRate(s, 1)).toBeCloseTo(0.1);
    expect(learningRate(s, 10)).toBeCloseTo(1);
    expect(learningRate(s, 60)).toBeCloseTo(0.55);
    expect(learningRate(s, 110)).toBeCloseTo(0.1);
    expect(learningRate(s, 500)).toBeCloseTo(0.1);
  });
});

describe('study config validation', () => {
  it('names the field at fault', () => {
    expect(() => validateStudyConfig({ ...tinyStudy(), arms: [0, 1.5] })).toThrow(/mask ratio must be in \[0, 1\)/);
    expect(() => validateStudyConfig({ ...tinyStudy(), optimizer: { ...tinyStudy().optimizer, lr: Number.NaN } })).toThrow(/optimizer\.lr/);
    expect(() => validateStudyConfig({ ...tinyStudy(), steps: -1 })).toThrow(/steps/);
    expect(() => validateStudyConfig({ ...tinyStudy(), model: { ...tinyStudy().model, vocabSize: 50 } })).toThrow(/vocabulary/);
    expect(() => preset('huge')).toThrow(/unknown preset "huge"/);
  });
});

describe('study: arms × seeds trained together', () => {
  it('both arms start equal, see the same batches and their loss falls; P = 0 arms are bit-identical', async () => {
    const { losses, params, P } = await train(tinyStudy({ arms: [0, 0, 0.15] }), 12);
    const first = losses[0], last = losses.at(-1)!;
    // Step 1: identical weights and batches; only the mask differs, so the NTP arms agree exactly.
    expect(first[1]).toBe(first[0]);
    expect(first[2]).not.toBe(first[0]);
    for (let r = 0; r < 3; r++) expect(last[r]).toBeLessThan(first[r] - 0.2);
    for (const l of losses) expect(l[1]).toBe(l[0]);
    expect(params.subarray(P, 2 * P)).toEqual(params.subarray(0, P));
  });

  it('is a pure function of the config, and a run trained among many equals the same seed trained alone', async () => {
    const many = await train(tinyStudy({ arms: [0, 0.15], seedsPerArm: 3 }), 4);
    const again = await train(tinyStudy({ arms: [0, 0.15], seedsPerArm: 3 }), 4);
    expect(again.params).toEqual(many.params);
    expect(again.evaluation).toEqual(many.evaluation);
    // Seeds differ from each other…
    expect(many.params.subarray(0, many.P)).not.toEqual(many.params.subarray(many.P, 2 * many.P));
    // …and seed 0 of each arm matches a study with one seed per arm, bit for bit.
    const alone = await train(tinyStudy({ arms: [0, 0.15], seedsPerArm: 1 }), 4);
    expect(many.params.subarray(0, many.P)).toEqual(alone.params.subarray(0, alone.P));
    expect(many.params.subarray(3 * many.P, 4 * many.P)).toEqual(alone.params.subarray(alone.P, 2 * alone.P));
  });

  it('evaluates clean validation loss and retrieval accuracy by depth', async () => {
    const { evaluation, runs } = await train(tinyStudy(), 2);
    expect(runs.map((r) => r.objective)).toEqual(['ntp', 'meap']);
    for (const e of evaluation) {
      expect(e.valLoss).toBeGreaterThan(0);
      expect(e.valLoss).toBeLessThan(10);
      expect(e.retrievalAcc).toBeGreaterThanOrEqual(0);
      expect(e.retrievalAcc).toBeLessThanOrEqual(1);
      expect(e.accByDepth).toHaveLength(3);
    }
  });
});

describe('probing the trained models', () => {
  it('returns every run\'s attention and logits on one example, equal to the CPU reference', async () => {
    const ctx = await testContext();
    const config = tinyStudy();
    const study = await Study.create(ctx, config);
    try {
      for (let s = 0; s < 3; s++) study.trainStep();
      const T = config.model.context, L = config.model.layers, H = config.model.heads, V = config.model.vocabSize;
      const example = study.evalSet.tokens.subarray(0, T + 1);
      const mask = [1, 4];
      const { probs, logits } = await study.probe(example, mask, [T - 1]);
      expect(probs).toHaveLength(study.R * L * H * T * T);
      const params = await study.model.readParams();
      const P = study.model.layout.P;
      const maskRow = new Uint32Array(T);
      for (const t of mask) maskRow[t] = 1;
      for (let r = 0; r < study.R; r++) {
        const reference = referenceForward(config.model, study.model.layout, params.subarray(r * P, (r + 1) * P),
          { B: 1, tokens: example, mask: maskRow });
        for (let l = 0; l < L; l++) {
          const gpu = probs.subarray((r * L + l) * H * T * T, (r * L + l + 1) * H * T * T);
          let worst = 0;
          for (let i = 0; i < gpu.length; i++) worst = Math.max(worst, Math.abs(gpu[i] - reference.probs[l][i]));
          expect(worst, `run ${r} layer ${l}`).toBeLessThan(1e-5);
        }
        let worst = 0;
        for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[r * V + v] - reference.logits[(T - 1) * V + v]));
        expect(worst).toBeLessThan(1e-4);
      }
      await expect(study.probe(example, [T + 3])).rejects.toThrow(/mask position/);
    } finally {
      study.dispose();
    }
  });
});

describe('protectQuery', () => {
  it('keeps the query `? K` unmasked in MEAP arms, and is the paper policy when absent', async () => {
    const ctx = await testContext();
    const study = await Study.create(ctx, { ...tinyStudy(), arms: [0.5], protectQuery: true });
    try {
      const T = study.config.model.context, B = study.config.batch;
      for (let s = 0; s < 3; s++) {
        study.trainStep();
        const mask = (study as unknown as { mask: Uint32Array }).mask;
        for (let b = 0; b < B; b++) {
          expect(mask[b * T + T - 2], `step ${s} row ${b}: the "?" token`).toBe(0);
          expect(mask[b * T + T - 1]).toBe(0);
        }
      }
    } finally {
      study.dispose();
    }
    const paper = await Study.create(ctx, { ...tinyStudy(), arms: [0.5] });
    try {
      const T = paper.config.model.context, B = paper.config.batch;
      let queryMasked = 0;
      for (let s = 0; s < 3; s++) {
        paper.trainStep();
        const mask = (paper as unknown as { mask: Uint32Array }).mask;
        for (let b = 0; b < B; b++) queryMasked += mask[b * T + T - 2];
      }
      expect(queryMasked).toBeGreaterThan(0);
    } finally {
      paper.dispose();
    }
  });
});

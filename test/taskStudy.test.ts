import { describe, expect, it } from 'vitest';
import { DEFAULT_ALPHABET } from '../src/data/charTokenizer';
import { Study } from '../src/engine/gpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import { testContext } from './gpuContext';

/** The tiny model and schedule with another task (small enough for SwiftShader). */
function tinyWith(choice: Pick<StudyConfig, 'task' | 'taskOptions'>, vocabSize: number, buckets: number): StudyConfig {
  const tiny = preset('tiny');
  return {
    ...tiny, ...choice, steps: 4,
    model: { ...tiny.model, vocabSize },
    evaluation: { every: 4, count: 12, buckets, seed: 5 },
  } as StudyConfig;
}

const configs: [string, StudyConfig][] = [
  ['recall', tinyWith({ task: 'recall', taskOptions: { fillerWords: 16, keys: 8, values: 8, pairs: 2 } }, 40, 2)],
  ['multidoc', tinyWith({ task: 'multidoc', taskOptions: { fillerWords: 16, keys: 8, values: 8, documents: 3 } }, 40, 3)],
  ['text', tinyWith({ task: 'text', taskOptions: { alphabet: DEFAULT_ALPHABET, source: { kind: 'generated', seed: 3, documents: 20 } } }, 79, 1)],
];

describe('the new tasks through the study', () => {
  it.each(configs)('%s trains and evaluates', async (_, config) => {
    const ctx = await testContext();
    const study = await Study.create(ctx, config);
    try {
      expect(study.task.name).toBe(config.task);
      for (let s = 0; s < 4; s++) study.trainStep();
      const losses = await study.lastLosses();
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      const evaluation = await study.evaluate();
      expect(evaluation).toHaveLength(study.R);
      for (const e of evaluation) {
        expect(e.valLoss).toBeGreaterThan(0);
        expect(e.valLoss).toBeLessThan(2 * Math.log(config.model.vocabSize));
        if (study.evalSet.hasRetrieval) {
          expect(e.retrievalAcc).toBeGreaterThanOrEqual(0);
          expect(e.retrievalAcc).toBeLessThanOrEqual(1);
          expect(e.accByDepth).toHaveLength(config.evaluation.buckets);
        }
      }
    } finally {
      study.dispose();
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  attentionOnKeys, headEntropy, meanOverHeads, probabilityHistogram, relativeChange, segmentMass, unmaskedKeyVariance,
  type AttentionMap,
} from '../src/analysis/attention';
import { bandByStep, learnedStep, shareLearnedByStep } from '../src/analysis/retrieval';

/** Uniform causal attention over T positions for H heads. */
function uniform(H: number, T: number): AttentionMap {
  const probs = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) probs[(h * T + i) * T + j] = 1 / (i + 1);
  return { probs, H, T };
}

describe('attention analyses on hand-built matrices', () => {
  it('segment mass from the answer position', () => {
    const T = 4;
    // head 0: the last row puts 0.5 on key 1 (needle) and 0.5 on key 3 (query); head 1: uniform.
    const probs = new Float64Array(2 * T * T);
    probs.set([0.1, 0.5, 0, 0.4].map((v, j) => (j === 0 ? 0 : v)), 3 * T);
    probs[3 * T + 3] = 0.5;
    probs[3 * T + 1] = 0.5;
    probs[3 * T + 2] = 0;
    for (let j = 0; j < T; j++) probs[(T + 3) * T + j] = 0.25;
    const segments = [0, 1, 2, 3];
    const mass = segmentMass({ probs, H: 2, T }, segments, [3], 4);
    expect(mass[0]).toEqual([0, 0.5, 0, 0.5]);
    expect(mass[1]).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(meanOverHeads(mass)).toEqual([0.125, 0.375, 0.125, 0.375]);
    expect(() => segmentMass({ probs, H: 2, T }, segments, [], 4)).toThrow(/query/);
  });

  it('attention on masked keys and its relative change', () => {
    const map = uniform(1, 3);
    // Key 1 receives 1/2 from row 1 and 1/3 from row 2.
    expect(attentionOnKeys(map, [1])).toBeCloseTo((1 / 2 + 1 / 3) / 2, 12);
    expect(relativeChange(0.4, 0.2)).toBeCloseTo(-0.5);
    expect(attentionOnKeys(map, [])).toBeNaN();
  });

  it('variance over unmasked keys is 0 for uniform rows and grows when scores spread', () => {
    expect(unmaskedKeyVariance(uniform(2, 5), [])).toBeCloseTo(0, 15);
    const T = 3;
    const probs = new Float64Array(T * T);
    probs.set([1, 0, 0, 0.9, 0.1, 0, 0.8, 0.1, 0.1]);
    // Row 1: values 0.9, 0.1 → variance 0.16; row 2: 0.8, 0.1, 0.1 → variance 0.1088…; row 0 has one key.
    const expected = (0.16 + ((0.8 - 1 / 3) ** 2 + 2 * (0.1 - 1 / 3) ** 2) / 3) / 2;
    expect(unmaskedKeyVariance({ probs, H: 1, T }, [])).toBeCloseTo(expected, 12);
    // Masking key 2 leaves rows 1 and 2 with keys {0, 1}.
    expect(unmaskedKeyVariance({ probs, H: 1, T }, [2])).toBeCloseTo((0.16 + 0.1225) / 2, 12);
  });

  it('entropy of uniform rows is the mean log of the row lengths', () => {
    const [e] = headEntropy(uniform(1, 4));
    expect(e).toBeCloseTo((0 + Math.log(2) + Math.log(3) + Math.log(4)) / 4, 12);
  });

  it('histogram counts every causal entry in log-spaced bins', () => {
    const h = probabilityHistogram(uniform(1, 4), 6, 1e-3);
    expect(h.edges).toHaveLength(7);
    expect(h.edges[0]).toBeCloseTo(1e-3);
    expect(h.edges[6]).toBeCloseTo(1);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(10);
    // Half-decade bins: the four 1/4's fall in [0.1, 0.316); 1/3, 1/2 and 1 in [0.316, 1] (1 is clamped in).
    expect(h.counts).toEqual([0, 0, 0, 0, 4, 3 + 2 + 1]);
  });
});

describe('retrieval statistics over seeds', () => {
  const a = [{ step: 100, retrievalAcc: 0.1 }, { step: 200, retrievalAcc: 0.6 }, { step: 300, retrievalAcc: 0.9 }];
  const b = [{ step: 100, retrievalAcc: 0.1 }, { step: 200, retrievalAcc: 0.2 }, { step: 300, retrievalAcc: 0.7 }];
  const c = [{ step: 100, retrievalAcc: 0.0 }, { step: 200, retrievalAcc: 0.1 }, { step: 300, retrievalAcc: 0.2 }];

  it('finds the step each seed learned retrieval and the share by step', () => {
    expect(learnedStep(a, 0.5)).toBe(200);
    expect(learnedStep(c, 0.5)).toBeNull();
    expect(shareLearnedByStep([a, b, c], 0.5)).toEqual([{ step: 100, share: 0 }, { step: 200, share: 1 / 3 }, { step: 300, share: 2 / 3 }]);
  });

  it('gives the mean and band across seeds', () => {
    const band = bandByStep([a, b, c], (p) => p.retrievalAcc);
    expect(band[1]).toEqual({ step: 200, mean: 0.3, min: 0.1, max: 0.6 });
  });
});

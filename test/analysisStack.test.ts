import { describe, expect, it } from 'vitest';
import {
  entropyByLayer, headMatrix, headsMap, histogramShares, layerHistogram, layerMap, meanRows, pairedMaskAnalysis,
  positionMassByLayer, segmentCountOf, segmentMassByLayer, uniformEntropy, type AttentionStack,
} from '../src/analysis/attentionStack';
import { attentionOnKeys, unmaskedKeyVariance } from '../src/analysis/attention';
import { hasHead, snapshotEntropy, snapshotHistogram, snapshotMatrix, snapshotPaired } from '../src/ui/attention/snapshotAnalysis';
import type { AttentionSnapshot } from '../src/session/protocol';

/** A stack whose heads are given as T×T row lists: heads[layer][head][query][key]. */
function stackFrom(heads: number[][][][]): AttentionStack {
  const layers = heads.length, H = heads[0].length, T = heads[0][0].length;
  const probs = new Float32Array(layers * H * T * T);
  heads.forEach((layer, l) => layer.forEach((head, h) => head.forEach((row, i) => row.forEach((p, j) => {
    probs[((l * H + h) * T + i) * T + j] = p;
  }))));
  return { probs, layers, heads: H, T };
}

function uniformHead(T: number): number[][] {
  return Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
}

/** Every row puts all of its attention on key 0. */
function firstKeyHead(T: number): number[][] {
  return Array.from({ length: T }, () => Array.from({ length: T }, (_, j) => (j === 0 ? 1 : 0)));
}

describe('selecting layers and heads of a [layers, heads, T, T] snapshot', () => {
  const a = [[1, 0], [0.25, 0.75]];
  const b = [[1, 0], [0.75, 0.25]];
  const c = [[1, 0], [0.5, 0.5]];
  const d = [[1, 0], [0.1, 0.9]];
  const stack = stackFrom([[a, b], [c, d]]);

  it('finds the right block of a layer and a head', () => {
    expect(Array.from(layerMap(stack, 1).probs)).toEqual([1, 0, 0.5, 0.5, 1, 0, 0.1, 0.9].map(Math.fround));
    expect(headsMap(stack, 0, 1).H).toBe(1);
    expect(Array.from(headMatrix(stack, 0, 1))).toEqual([1, 0, 0.75, 0.25]);
    expect(Array.from(headMatrix(stack, 1, 1))).toEqual([1, 0, 0.1, 0.9].map(Math.fround));
  });

  it('averages the heads of a layer for "all"', () => {
    const mean = headMatrix(stack, 0, 'all');
    expect(mean[2]).toBeCloseTo(0.5, 7);
    expect(mean[3]).toBeCloseTo(0.5, 7);
    expect(mean[0]).toBe(1);
  });

  it('refuses layers and heads outside the snapshot', () => {
    expect(() => layerMap(stack, 2)).toThrow(/layer 2/);
    expect(() => headMatrix(stack, 0, 2)).toThrow(/head 2/);
    expect(() => headMatrix(stack, -1, 0)).toThrow(/layer -1/);
  });

  it('works on plain arrays as well as typed arrays', () => {
    const plain = { ...stack, probs: Array.from(stack.probs) };
    expect(Array.from(headMatrix(plain, 1, 0))).toEqual(Array.from(headMatrix(stack, 1, 0)));
  });
});

describe('segment mass from the answer position, per layer', () => {
  // T = 4, segments: before, needle, after, query; the answer position is 3.
  const segments = [0, 1, 2, 3];
  const onNeedle = firstKeyHead(4).map((row, i) => (i === 3 ? [0, 1, 0, 0] : row));
  const stack = stackFrom([[onNeedle, onNeedle], [uniformHead(4), onNeedle]]);

  it('is the share of each segment, mean over heads', () => {
    const mass = segmentMassByLayer(stack, segments, [3], 4);
    expect(mass[0]).toEqual([0, 1, 0, 0]);
    expect(mass[1]).toEqual([0.125, 0.625, 0.125, 0.125]);
    expect(meanRows(mass)).toEqual([0.0625, 0.8125, 0.0625, 0.0625]);
    for (const row of mass) expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
  });

  it('splits into single key positions, mean over heads; a key after the query gets 0', () => {
    expect(positionMassByLayer(stack, 3, [0, 1, 2, 3])).toEqual(segmentMassByLayer(stack, segments, [3], 4));
    const early = positionMassByLayer(stack, 2, [2, 3]);
    expect(early[0]).toEqual([0, 0]);
    expect(early[1][0]).toBeCloseTo(1 / 6, 7); // one uniform head of two (float32), the other on key 1
    expect(early[1][1]).toBe(0);
  });

  it('counts segments and refuses to average nothing or ragged rows', () => {
    expect(segmentCountOf([0, 0, 1, 3, 2])).toBe(4);
    expect(segmentCountOf([])).toBe(0);
    expect(() => meanRows([])).toThrow();
    expect(() => meanRows([[1, 2], [1]])).toThrow(/equal length/);
  });
});

describe('paired clean vs masked analysis', () => {
  // T = 3, position 1 masked. Clean rows and the same model's rows with position 1 replaced by [MASK].
  const clean = [[1, 0, 0], [0.6, 0.4, 0], [0.5, 0.3, 0.2]];
  const masked = [[1, 0, 0], [0.9, 0.1, 0], [0.7, 0.05, 0.25]];

  it('measures the score decay on masked keys and the variance over the other keys', () => {
    const a = pairedMaskAnalysis(stackFrom([[clean]]), stackFrom([[masked]]), [1]);
    // Key 1 gets 0.4 and 0.3 from rows 1 and 2 (clean), 0.1 and 0.05 (masked).
    expect(a.onMaskedClean).toBeCloseTo(0.35, 6);
    expect(a.onMaskedMasked).toBeCloseTo(0.075, 6);
    expect(a.scoreDecay).toBeCloseTo((0.075 - 0.35) / 0.35, 6);
    // Only row 2 has two unmasked keys (0 and 2): variances 0.0225 (0.5, 0.2) and 0.050625 (0.7, 0.25).
    expect(a.varianceClean).toBeCloseTo(0.0225, 6);
    expect(a.varianceMasked).toBeCloseTo(0.050625, 6);
    expect(a.varianceIncrease).toBeCloseTo(1.25, 5);
  });

  it('averages over layers before taking the relative change', () => {
    const a = pairedMaskAnalysis(stackFrom([[clean], [clean]]), stackFrom([[masked], [clean]]), [1]);
    expect(a.onMaskedMasked).toBeCloseTo((0.075 + 0.35) / 2, 6);
    expect(a.scoreDecay).toBeCloseTo(((0.075 + 0.35) / 2 - 0.35) / 0.35, 6);
  });

  it('gives the single-layer analyses of ./attention.ts bit for bit (row-order fast path), on random maps', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    for (const [layers, H, T, keys] of [[1, 1, 3, [1]], [2, 2, 17, [3, 1, 9, 9]], [2, 3, 40, [0, 5, 6, 39, 40]], [1, 2, 65, []]] as const) {
      const rows = (L: number) => Array.from({ length: L }, () => Array.from({ length: H }, () => Array.from({ length: T }, (_, i) => {
        const row = Array.from({ length: T }, (_, j) => (j <= i ? Math.exp(3 * rnd()) : 0));
        const sum = row.reduce((a, b) => a + b, 0);
        return row.map((v) => v / sum);
      })));
      const clean = stackFrom(rows(layers)), masked = stackFrom(rows(layers));
      const mean = (f: (l: number) => number) => {
        let sum = 0;
        for (let l = 0; l < layers; l++) sum += f(l);
        return sum / layers;
      };
      const a = pairedMaskAnalysis(clean, masked, keys);
      const expected = {
        onMaskedClean: mean((l) => attentionOnKeys(layerMap(clean, l), keys)),
        onMaskedMasked: mean((l) => attentionOnKeys(layerMap(masked, l), keys)),
        varianceClean: mean((l) => unmaskedKeyVariance(layerMap(clean, l), keys)),
        varianceMasked: mean((l) => unmaskedKeyVariance(layerMap(masked, l), keys)),
      };
      expect({ onMaskedClean: a.onMaskedClean, onMaskedMasked: a.onMaskedMasked, varianceClean: a.varianceClean, varianceMasked: a.varianceMasked }).toEqual(expected);
      if (keys.length > 0) expect(a.onMaskedClean).toBeGreaterThan(0);
      // Plain arrays take the single-layer functions themselves.
      expect(pairedMaskAnalysis({ ...clean, probs: Array.from(clean.probs) }, { ...masked, probs: Array.from(masked.probs) }, keys)).toEqual(a);
    }
  });

  it('is zero change when masking changes nothing, and refuses mismatched shapes', () => {
    const a = pairedMaskAnalysis(stackFrom([[clean]]), stackFrom([[clean]]), [1]);
    expect(a.scoreDecay).toBe(0);
    expect(a.varianceIncrease).toBe(0);
    expect(() => pairedMaskAnalysis(stackFrom([[clean]]), stackFrom([[clean, clean]]), [1])).toThrow(/same shape/);
  });
});

describe('per-head entropy and histograms', () => {
  it('gives uniform heads the uniform entropy and focused heads zero', () => {
    const T = 5;
    const [[uniform, focused]] = entropyByLayer(stackFrom([[uniformHead(T), firstKeyHead(T)]]));
    expect(uniform).toBeCloseTo(uniformEntropy(T), 6);
    expect(uniformEntropy(T)).toBeCloseTo((Math.log(2) + Math.log(3) + Math.log(4) + Math.log(5)) / 5, 12);
    expect(focused).toBe(0);
    expect(uniformEntropy(0)).toBe(0);
  });

  it('bins one head or every head of a layer', () => {
    const stack = stackFrom([[firstKeyHead(3), uniformHead(3)]]);
    // Head 0: 3 ones (bin 5) and 3 causal zeros (bin 0) on the causal triangle.
    const one = layerHistogram(stack, 0, 0, 6, 1e-3);
    expect(one.counts).toEqual([3, 0, 0, 0, 0, 3]);
    expect(histogramShares(one)).toEqual([0.5, 0, 0, 0, 0, 0.5]);
    // Both heads: head 1 adds 1 (row 0), 1/2 ×2 and 1/3 ×3, all in the top half-decade bin [0.316, 1].
    const all = layerHistogram(stack, 0, 'all', 6, 1e-3);
    expect(all.counts.reduce((x, y) => x + y, 0)).toBe(12);
    expect(all.counts).toEqual([3, 0, 0, 0, 0, 9]);
    expect(histogramShares({ edges: [0, 1], counts: [0] })).toEqual([0]);
  });
});

describe('per-snapshot analyses of the attention views (computed once, same values)', () => {
  const T = 5;
  const cleanStack = stackFrom([[uniformHead(T), firstKeyHead(T)], [firstKeyHead(T), uniformHead(T)]]);
  const maskedStack = stackFrom([[firstKeyHead(T), firstKeyHead(T)], [uniformHead(T), uniformHead(T)]]);
  const snapshot = (maskedPositions: number[]): AttentionSnapshot => ({
    step: 10, run: 0, example: 0, T, layers: 2, heads: 2, tokens: [0, 1, 2, 3, 4], tokenNames: ['a', 'b', 'c', 'd', 'e'],
    segments: [0, 0, 1, 2, 3], maskedPositions, answerPosition: 4,
    clean: cleanStack.probs as Float32Array, masked: maskedStack.probs as Float32Array,
  });

  it('gives the analyses of the whole stack, and the same object when asked again', () => {
    const s = snapshot([1, 2]);
    for (const input of ['clean', 'masked'] as const) {
      const stack = input === 'clean' ? cleanStack : maskedStack;
      expect(snapshotEntropy(s, input)).toEqual(entropyByLayer(stack));
      expect(snapshotEntropy(s, input)).toBe(snapshotEntropy(s, input));
      for (const [layer, head] of [[0, 0], [1, 1], [1, 'all']] as const) {
        expect(Array.from(snapshotMatrix(s, input, layer, head))).toEqual(Array.from(headMatrix(stack, layer, head)));
        const histogram = layerHistogram(stack, layer, head, 6, 1e-3);
        expect(snapshotHistogram(s, input, layer, head, 6, 1e-3)).toEqual({ edges: histogram.edges, shares: histogramShares(histogram) });
      }
    }
    expect(snapshotMatrix(s, 'clean', 1, 0)).toBe(snapshotMatrix(s, 'clean', 1, 0));
    expect(snapshotMatrix(s, 'clean', 1, 0)).not.toBe(snapshotMatrix(s, 'masked', 1, 0));
    expect(snapshotMatrix(s, 'clean', 1, 0)).not.toBe(snapshotMatrix(s, 'clean', 1, 'all'));
    expect(snapshotPaired(s)).toEqual(pairedMaskAnalysis(cleanStack, maskedStack, [1, 2]));
    expect(snapshotPaired(s)).toBe(snapshotPaired(s));
    expect(snapshotPaired(snapshot([]))).toBeNull();
  });

  it('keeps results per snapshot object, and says which layers and heads a snapshot has', () => {
    const a = snapshot([1]);
    const b = { ...snapshot([1]), clean: maskedStack.probs as Float32Array };
    expect(snapshotEntropy(a, 'clean')).toEqual(entropyByLayer(cleanStack));
    expect(snapshotEntropy(b, 'clean')).toEqual(entropyByLayer(maskedStack));
    expect(hasHead(a, 1, 1)).toBe(true);
    expect(hasHead(a, 1, 'all')).toBe(true);
    expect(hasHead(a, 2, 0)).toBe(false);
    expect(hasHead(a, 0, 2)).toBe(false);
  });
});

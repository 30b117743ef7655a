/**
 * Analyses over a whole attention snapshot of one example: every layer's probabilities stacked as
 * [layers, heads, T, T] (the layout of AttentionSnapshot.clean / .masked). They select layers and heads
 * and combine the single-layer analyses of ./attention.ts the way the attention views show them.
 */
import {
  attentionOnKeys, headEntropy, meanOverHeads, probabilityHistogram, relativeChange, segmentMass, unmaskedKeyVariance,
  type AttentionMap, type Histogram,
} from './attention';

export interface AttentionStack {
  /** [layers, heads, T, T] row-major; row i (query) over keys j ≤ i. */
  probs: ArrayLike<number>;
  layers: number;
  heads: number;
  T: number;
}

/** Which heads a view looks at: one head, or all of them (averaged or pooled, depending on the view). */
export type HeadSelection = number | 'all';

function checkLayer(stack: AttentionStack, layer: number): void {
  if (!(Number.isInteger(layer) && layer >= 0 && layer < stack.layers)) {
    throw new RangeError(`layer ${layer} is outside 0..${stack.layers - 1}`);
  }
}

function checkHead(heads: number, head: HeadSelection): void {
  if (head !== 'all' && !(Number.isInteger(head) && head >= 0 && head < heads)) {
    throw new RangeError(`head ${head} is outside 0..${heads - 1}`);
  }
}

function slice(values: ArrayLike<number>, start: number, end: number): ArrayLike<number> {
  if (ArrayBuffer.isView(values)) return (values as unknown as Float32Array).subarray(start, end);
  return Array.prototype.slice.call(values, start, end) as number[];
}

/** One layer's [H, T, T] probabilities, as the single-layer analyses take them (no copy for typed arrays). */
export function layerMap(stack: AttentionStack, layer: number): AttentionMap {
  checkLayer(stack, layer);
  const size = stack.heads * stack.T * stack.T;
  return { probs: slice(stack.probs, layer * size, (layer + 1) * size), H: stack.heads, T: stack.T };
}

/** One head's map of one layer, or the whole layer for 'all'. */
export function headsMap(stack: AttentionStack, layer: number, head: HeadSelection): AttentionMap {
  checkHead(stack.heads, head);
  const map = layerMap(stack, layer);
  if (head === 'all') return map;
  const size = stack.T * stack.T;
  return { probs: slice(map.probs, head * size, (head + 1) * size), H: 1, T: stack.T };
}

/** The [T, T] matrix a heatmap draws: one head's probabilities, or the mean over heads for 'all'. */
export function headMatrix(stack: AttentionStack, layer: number, head: HeadSelection): Float64Array {
  const map = headsMap(stack, layer, head);
  const size = stack.T * stack.T;
  const out = new Float64Array(size);
  for (let h = 0; h < map.H; h++) {
    for (let k = 0; k < size; k++) out[k] += map.probs[h * size + k] / map.H;
  }
  return out;
}

/** Number of segments a label array refers to (largest label + 1). */
export function segmentCountOf(segments: ArrayLike<number>): number {
  let max = -1;
  for (let i = 0; i < segments.length; i++) max = Math.max(max, segments[i]);
  return max + 1;
}

/**
 * The paper's Figure-6 measure for every layer: share of attention each key segment receives from the
 * query positions, averaged over heads: result[layer][segment]. `segments` labels the T input positions.
 */
export function segmentMassByLayer(stack: AttentionStack, segments: ArrayLike<number>, queries: readonly number[], segmentCount: number): number[][] {
  return Array.from({ length: stack.layers }, (_, l) => meanOverHeads(segmentMass(layerMap(stack, l), segments, queries, segmentCount)));
}

/**
 * Attention from one query position onto each of the given key positions, for every layer, averaged over
 * heads: result[layer][k] for keys[k]. Keys after the query (which it cannot see) get 0.
 */
export function positionMassByLayer(stack: AttentionStack, query: number, keys: readonly number[]): number[][] {
  const { heads: H, T } = stack;
  return Array.from({ length: stack.layers }, (_, l) => keys.map((j) => {
    if (j > query) return 0;
    let sum = 0;
    for (let h = 0; h < H; h++) sum += stack.probs[((l * H + h) * T + query) * T + j];
    return sum / H;
  }));
}

/** Element-wise mean of equal-length rows (e.g. over layers). */
export function meanRows(rows: readonly (readonly number[])[]): number[] {
  if (rows.length === 0) throw new RangeError('meanRows needs at least one row');
  const out = new Array<number>(rows[0].length).fill(0);
  for (const row of rows) {
    if (row.length !== out.length) throw new RangeError('meanRows needs rows of equal length');
    row.forEach((v, k) => (out[k] += v / rows.length));
  }
  return out;
}

/**
 * attentionOnKeys (./attention.ts), bit for bit, reading the probabilities row by row. It sums each key's
 * column, which for a long context reads one value per row: a cache miss each (T = 256: 3-4 ms a layer).
 * Here each row's values on the keys are first copied out in row order, then summed in the same order
 * as attentionOnKeys (head, key, query), so the result is the same number.
 */
function onKeysInRowOrder(map: AttentionMap, keys: readonly number[]): number {
  if (!ArrayBuffer.isView(map.probs)) return attentionOnKeys(map, keys);
  const { probs, H, T } = map;
  const K = keys.length;
  const columns = new Float64Array(K * T);
  let sum = 0;
  let count = 0;
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      for (let k = 0; k < K; k++) if (keys[k] <= i) columns[k * T + i] = probs[row + keys[k]];
    }
    for (let k = 0; k < K; k++) {
      for (let i = keys[k]; i < T; i++) {
        sum += columns[k * T + i];
        count++;
      }
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

export interface PairedMaskAnalysis {
  /** Mean attention on the masked key positions with the clean input, and with those positions masked. */
  onMaskedClean: number;
  onMaskedMasked: number;
  /** (masked − clean) / clean of the above: the paper's "score decay" (≈ −53 %). */
  scoreDecay: number;
  /** Mean variance of attention over the unmasked keys, clean and masked input. */
  varianceClean: number;
  varianceMasked: number;
  /** (masked − clean) / clean: the paper's "variance increase" (positive = more distinguishable scores). */
  varianceIncrease: number;
}

/**
 * The paired clean-vs-masked analysis of one model on one example, averaged over layers (and heads):
 * `clean` and `masked` are the same model's attention with the clean input and with `maskedPositions`
 * replaced by [MASK]. The relative changes are taken of the layer means.
 */
export function pairedMaskAnalysis(clean: AttentionStack, masked: AttentionStack, maskedPositions: readonly number[]): PairedMaskAnalysis {
  if (clean.layers !== masked.layers || clean.heads !== masked.heads || clean.T !== masked.T) {
    throw new RangeError('clean and masked attention must have the same shape');
  }
  const mean = (f: (l: number) => number) => {
    let sum = 0;
    for (let l = 0; l < clean.layers; l++) sum += f(l);
    return sum / clean.layers;
  };
  const onMaskedClean = mean((l) => onKeysInRowOrder(layerMap(clean, l), maskedPositions));
  const onMaskedMasked = mean((l) => onKeysInRowOrder(layerMap(masked, l), maskedPositions));
  const varianceClean = mean((l) => unmaskedKeyVariance(layerMap(clean, l), maskedPositions));
  const varianceMasked = mean((l) => unmaskedKeyVariance(layerMap(masked, l), maskedPositions));
  return {
    onMaskedClean, onMaskedMasked, scoreDecay: relativeChange(onMaskedClean, onMaskedMasked),
    varianceClean, varianceMasked, varianceIncrease: relativeChange(varianceClean, varianceMasked),
  };
}

/** Mean row entropy (nats) of every head of every layer: result[layer][head]. */
export function entropyByLayer(stack: AttentionStack): number[][] {
  return Array.from({ length: stack.layers }, (_, l) => headEntropy(layerMap(stack, l)));
}

/**
 * Entropy (nats) of a head that attends uniformly to every causal key, averaged over the T rows: the
 * largest mean row entropy any head can have (mean of ln(i + 1)).
 */
export function uniformEntropy(T: number): number {
  let total = 0;
  for (let i = 0; i < T; i++) total += Math.log(i + 1);
  return T === 0 ? 0 : total / T;
}

/** Histogram of one layer's probabilities: one head's, or every head's pooled for 'all'. */
export function layerHistogram(stack: AttentionStack, layer: number, head: HeadSelection, bins = 24, min = 1e-6): Histogram {
  return probabilityHistogram(headsMap(stack, layer, head), bins, min);
}

/** Counts as fractions of their total (so histograms of different sizes overlay); zeros when empty. */
export function histogramShares(histogram: Histogram): number[] {
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  return histogram.counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * The analyses the attention views show, computed at most once per snapshot and question (input, layer,
 * head) and kept as long as the snapshot object lives. A snapshot never changes after it arrives, so a
 * view that re-renders because the other run's snapshot, the selection or the training series changed
 * finds the unchanged run's results here instead of recomputing them over the whole [layers, heads, T, T].
 */
import {
  entropyByLayer, headMatrix, histogramShares, layerHistogram, pairedMaskAnalysis, type AttentionStack, type HeadSelection,
  type PairedMaskAnalysis,
} from '../../analysis/attentionStack';
import type { AttentionSnapshot } from '../../session/protocol';
import type { InputKind } from '../../store/attention';

const cache = new WeakMap<AttentionSnapshot, Map<string, unknown>>();

function memo<T>(snapshot: AttentionSnapshot, key: string, compute: () => T): T {
  let entries = cache.get(snapshot);
  if (!entries) {
    entries = new Map();
    cache.set(snapshot, entries);
  }
  if (entries.has(key)) return entries.get(key) as T;
  const value = compute();
  entries.set(key, value);
  return value;
}

/** One input's [layers, heads, T, T] attention of a snapshot. */
export function stackOf(snapshot: AttentionSnapshot, input: InputKind): AttentionStack {
  return { probs: input === 'clean' ? snapshot.clean : snapshot.masked, layers: snapshot.layers, heads: snapshot.heads, T: snapshot.T };
}

/** Whether the snapshot has this layer and head (a selection can outlive a study with more of them). */
export function hasHead(snapshot: AttentionSnapshot, layer: number, head: HeadSelection): boolean {
  return layer < snapshot.layers && (head === 'all' || head < snapshot.heads);
}

/** The [T, T] matrix a heatmap draws (see headMatrix): one head's probabilities exactly, or the mean over heads. */
export function snapshotMatrix(snapshot: AttentionSnapshot, input: InputKind, layer: number, head: HeadSelection): Float64Array {
  return memo(snapshot, `matrix:${input}:${layer}:${head}`, () => headMatrix(stackOf(snapshot, input), layer, head));
}

/** Mean row entropy of every head of every layer: [layer][head]. */
export function snapshotEntropy(snapshot: AttentionSnapshot, input: InputKind): number[][] {
  return memo(snapshot, `entropy:${input}`, () => entropyByLayer(stackOf(snapshot, input)));
}

export interface HistogramShares {
  edges: number[];
  /** Share of the probabilities in each bin. */
  shares: number[];
}

/** Log-spaced histogram of one layer's probabilities (one head, or all heads pooled), as shares of the total. */
export function snapshotHistogram(snapshot: AttentionSnapshot, input: InputKind, layer: number, head: HeadSelection,
  bins: number, min: number): HistogramShares {
  return memo(snapshot, `histogram:${input}:${layer}:${head}:${bins}:${min}`, () => {
    const histogram = layerHistogram(stackOf(snapshot, input), layer, head, bins, min);
    return { edges: histogram.edges, shares: histogramShares(histogram) };
  });
}

/** The paired clean-vs-masked analysis of the snapshot, or null when it masks no position. */
export function snapshotPaired(snapshot: AttentionSnapshot): PairedMaskAnalysis | null {
  return memo(snapshot, 'paired', () => (snapshot.maskedPositions.length === 0 ? null
    : pairedMaskAnalysis(stackOf(snapshot, 'clean'), stackOf(snapshot, 'masked'), snapshot.maskedPositions)));
}

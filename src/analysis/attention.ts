/**
 * Analyses of attention probabilities (pure functions, no GPU): the paper's Figure-6 segment mass, the
 * paired clean-vs-masked "score decay" and "variance increase", per-head entropy and score histograms.
 * `probs` is one example of one layer, [H, T, T] row-major: row i (query) over keys j ≤ i, zero above.
 */

export interface AttentionMap {
  probs: ArrayLike<number>;
  H: number;
  T: number;
}

function at(map: AttentionMap, h: number, i: number, j: number): number {
  return map.probs[(h * map.T + i) * map.T + j];
}

/**
 * Share of attention each key segment receives from the given query positions (e.g. the position that
 * generates the answer), per head: result[h][s]. Each head's row sums to 1 when the segments cover 0..T-1.
 */
export function segmentMass(map: AttentionMap, segments: ArrayLike<number>, queries: readonly number[], segmentCount: number): number[][] {
  if (queries.length === 0) throw new RangeError('segmentMass needs at least one query position');
  return Array.from({ length: map.H }, (_, h) => {
    const mass = new Array<number>(segmentCount).fill(0);
    for (const i of queries) {
      for (let j = 0; j <= i; j++) mass[segments[j]] += at(map, h, i, j);
    }
    return mass.map((m) => m / queries.length);
  });
}

/** Mean over heads of per-head vectors. */
export function meanOverHeads(perHead: number[][]): number[] {
  const out = new Array<number>(perHead[0].length).fill(0);
  for (const row of perHead) row.forEach((v, s) => (out[s] += v / perHead.length));
  return out;
}

/**
 * Mean attention probability that queries at or after a masked key give to the masked key positions,
 * averaged over heads. Comparing the same model on clean and masked inputs gives the paper's
 * "score decay" ((masked − clean) / clean ≈ −53 %).
 */
export function attentionOnKeys(map: AttentionMap, keys: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (let h = 0; h < map.H; h++) {
    for (const j of keys) {
      for (let i = j; i < map.T; i++) {
        sum += at(map, h, i, j);
        count++;
      }
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/**
 * Mean (over heads and query rows with at least two unmasked keys) of the variance of the attention
 * probabilities over the unmasked keys j ≤ i. Higher = more distinguishable scores (the paper's
 * "variance increase" when inputs are masked).
 */
export function unmaskedKeyVariance(map: AttentionMap, masked: readonly number[]): number {
  const { probs, H, T } = map;
  // A flag per key and direct row indexing: this runs over every layer of a snapshot (attentionStack.ts).
  const isMasked = new Uint8Array(T);
  for (const p of masked) if (p >= 0 && p < T) isMasked[p] = 1;
  let total = 0;
  let rows = 0;
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < T; i++) {
      const row = (h * T + i) * T;
      let n = 0, mean = 0, m2 = 0;
      for (let j = 0; j <= i; j++) {
        if (isMasked[j]) continue;
        const x = probs[row + j];
        n++;
        const delta = x - mean;
        mean += delta / n;
        m2 += delta * (x - mean);
      }
      if (n >= 2) {
        total += m2 / n;
        rows++;
      }
    }
  }
  return rows === 0 ? Number.NaN : total / rows;
}

/** Relative change (after − before) / before, the form in which the paper reports both effects. */
export function relativeChange(before: number, after: number): number {
  return (after - before) / before;
}

/** Mean entropy (nats) of each head's attention rows. */
export function headEntropy(map: AttentionMap): number[] {
  return Array.from({ length: map.H }, (_, h) => {
    let total = 0;
    for (let i = 0; i < map.T; i++) {
      let e = 0;
      for (let j = 0; j <= i; j++) {
        const p = at(map, h, i, j);
        if (p > 0) e -= p * Math.log(p);
      }
      total += e;
    }
    return total / map.T;
  });
}

export interface Histogram {
  /** Bin edges, length bins + 1, log-spaced from `min` to 1. */
  edges: number[];
  counts: number[];
}

/**
 * Histogram of attention probabilities on the causal (lower) triangle with log-spaced bins between
 * `min` and 1; probabilities below `min` (including exact zeros) fall in the first bin.
 */
export function probabilityHistogram(map: AttentionMap, bins = 24, min = 1e-6): Histogram {
  const logMin = Math.log10(min);
  const edges = Array.from({ length: bins + 1 }, (_, k) => 10 ** (logMin + (-logMin * k) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (let h = 0; h < map.H; h++) {
    for (let i = 0; i < map.T; i++) {
      for (let j = 0; j <= i; j++) {
        const p = at(map, h, i, j);
        const k = p <= min ? 0 : Math.min(bins - 1, Math.floor(((Math.log10(p) - logMin) / -logMin) * bins));
        counts[k]++;
      }
    }
  }
  return { edges, counts };
}

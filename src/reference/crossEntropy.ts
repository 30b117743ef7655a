/**
 * CPU reference of shaders/cross_entropy.wgsl, in float64, same layouts (run dimension R first):
 * logits/dLogits [R, B·T, V], tokens u32 [R, B, T+1], rowLoss [R, B·T], lossMean [R].
 * Row n = b·T + t predicts the clean next token tokens[r, b, t+1].
 */

export interface CrossEntropyReferenceShape {
  R: number;
  B: number;
  T: number;
  V: number;
}

export interface CrossEntropyReference {
  /** logsumexp(logits[r,n,:]) − logits[r,n,target]; 0 for a target id >= V. */
  rowLoss: Float64Array;
  /** Mean of rowLoss over the N rows of each run. */
  lossMean: Float64Array;
  /** (softmax − onehot(target)) · gradScale; a zero row for a target id >= V. */
  dLogits: Float64Array;
}

/** Target ids [R, B·T]: tokens[r, b, t+1]. */
export function nextTokenTargets(tokens: ArrayLike<number>, shape: CrossEntropyReferenceShape): Uint32Array {
  const { R, B, T } = shape;
  const targets = new Uint32Array(R * B * T);
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) targets[(r * B + b) * T + t] = tokens[(r * B + b) * (T + 1) + t + 1];
    }
  }
  return targets;
}

/**
 * rowLoss, lossMean and dLogits; gradScale defaults to 1/N (the gradient of lossMean).
 * With `weights` ([R, B·T], 0 or 1: which rows count, as in supervised fine-tuning) lossMean is the mean over
 * the weighted rows (0 when a run has none) and dLogits its gradient: row n of run r is scaled by
 * w[r, n] / Σ_n w[r, n] (gradScale is ignored). rowLoss is the same either way.
 */
export function crossEntropyReference(
  logits: ArrayLike<number>, tokens: ArrayLike<number>, shape: CrossEntropyReferenceShape, gradScale?: number,
  weights?: ArrayLike<number>,
): CrossEntropyReference {
  if (weights) return weightedCrossEntropyReference(logits, tokens, shape, weights);
  const { R, B, T, V } = shape;
  const N = B * T;
  const scale = gradScale ?? 1 / N;
  const targets = nextTokenTargets(tokens, shape);
  const rowLoss = new Float64Array(R * N);
  const lossMean = new Float64Array(R);
  const dLogits = new Float64Array(R * N * V);
  for (let r = 0; r < R; r++) {
    let total = 0;
    for (let n = 0; n < N; n++) {
      const row = r * N + n;
      const base = row * V;
      const tgt = targets[row];
      if (tgt < V) {
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[base + v]);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v] - max);
        rowLoss[row] = max + Math.log(sum) - logits[base + tgt];
        for (let v = 0; v < V; v++) {
          dLogits[base + v] = (Math.exp(logits[base + v] - max) / sum - (v === tgt ? 1 : 0)) * scale;
        }
      }
      total += rowLoss[row];
    }
    lossMean[r] = total / N;
  }
  return { rowLoss, lossMean, dLogits };
}

function weightedCrossEntropyReference(
  logits: ArrayLike<number>, tokens: ArrayLike<number>, shape: CrossEntropyReferenceShape, weights: ArrayLike<number>,
): CrossEntropyReference {
  const { R, B, T, V } = shape;
  const N = B * T;
  if (weights.length !== R * N) throw new RangeError(`weights must hold R·B·T = ${R * N} values, got ${weights.length}`);
  // Unit scale: dLogits = softmax − onehot per row, then scaled by each row's share below.
  const plain = crossEntropyReference(logits, tokens, shape, 1);
  const lossMean = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let total = 0, count = 0;
    for (let n = 0; n < N; n++) {
      const w = weights[r * N + n];
      total += w * plain.rowLoss[r * N + n];
      count += w;
    }
    lossMean[r] = count > 0 ? total / count : 0;
    for (let n = 0; n < N; n++) {
      const share = count > 0 ? weights[r * N + n] / count : 0;
      const base = (r * N + n) * V;
      for (let v = 0; v < V; v++) plain.dLogits[base + v] *= share;
    }
  }
  return { rowLoss: plain.rowLoss, lossMean, dLogits: plain.dLogits };
}

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

/** rowLoss, lossMean and dLogits; gradScale defaults to 1/N (the gradient of lossMean). */
export function crossEntropyReference(
  logits: ArrayLike<number>, tokens: ArrayLike<number>, shape: CrossEntropyReferenceShape, gradScale?: number,
): CrossEntropyReference {
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

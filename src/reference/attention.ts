/**
 * CPU reference of shaders/attention.wgsl in float64, same layouts (see src/kernels/attention.ts):
 * q, k, v, out, dOut, dq, dk, dv `[R, B·T, C]` with C = H·headDim; probs `[R, B, H, T, T]` (0 for j > i).
 */
import type { AttentionShape } from '../kernels/attention';

function activationIndex(s: AttentionShape, r: number, b: number, t: number, h: number, d: number): number {
  return ((r * s.B + b) * s.T + t) * s.H * s.headDim + h * s.headDim + d;
}

function probsIndex(s: AttentionShape, r: number, b: number, h: number, i: number, j: number): number {
  return (((r * s.B + b) * s.H + h) * s.T + i) * s.T + j;
}

/** probs = causal softmax(q·kᵀ / sqrt(headDim)), out = probs · v, per run, sequence and head. */
export function attentionForwardReference(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, shape: AttentionShape,
): { out: Float64Array; probs: Float64Array } {
  const { R, B, T, H, headDim } = shape;
  const scale = 1 / Math.sqrt(headDim);
  const out = new Float64Array(R * B * T * H * headDim);
  const probs = new Float64Array(R * B * H * T * T);
  const scores = new Float64Array(T);
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let d = 0; d < headDim; d++) {
              s += q[activationIndex(shape, r, b, i, h, d)] * k[activationIndex(shape, r, b, j, h, d)];
            }
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
          }
          let total = 0;
          for (let j = 0; j <= i; j++) {
            scores[j] = Math.exp(scores[j] - max);
            total += scores[j];
          }
          for (let j = 0; j <= i; j++) probs[probsIndex(shape, r, b, h, i, j)] = scores[j] / total;
          for (let d = 0; d < headDim; d++) {
            let acc = 0;
            for (let j = 0; j <= i; j++) {
              acc += probs[probsIndex(shape, r, b, h, i, j)] * v[activationIndex(shape, r, b, j, h, d)];
            }
            out[activationIndex(shape, r, b, i, h, d)] = acc;
          }
        }
      }
    }
  }
  return { out, probs };
}

/**
 * Gradients of Σ dOut ⊙ out with respect to q, k, v, given the forward's probs:
 * dv_j = Σ_i P_ij dO_i; dP_ij = dO_i·v_j; dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij');
 * dq_i = scale Σ_j dS_ij k_j; dk_j = scale Σ_i dS_ij q_i. Also returns dScores (the kernel's scratch).
 */
export function attentionBackwardReference(
  dOut: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  probs: ArrayLike<number>, shape: AttentionShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array; dScores: Float64Array } {
  const { R, B, T, H, headDim } = shape;
  const scale = 1 / Math.sqrt(headDim);
  const size = R * B * T * H * headDim;
  const dq = new Float64Array(size);
  const dk = new Float64Array(size);
  const dv = new Float64Array(size);
  const dScores = new Float64Array(R * B * H * T * T);
  const dP = new Float64Array(T);
  const a = (r: number, b: number, t: number, h: number, d: number) => activationIndex(shape, r, b, t, h, d);
  for (let r = 0; r < R; r++) {
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < T; i++) {
          let rowDot = 0;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let d = 0; d < headDim; d++) s += dOut[a(r, b, i, h, d)] * v[a(r, b, j, h, d)];
            dP[j] = s;
            rowDot += probs[probsIndex(shape, r, b, h, i, j)] * s;
          }
          for (let j = 0; j <= i; j++) {
            const p = probs[probsIndex(shape, r, b, h, i, j)];
            const dS = p * (dP[j] - rowDot);
            dScores[probsIndex(shape, r, b, h, i, j)] = dS;
            for (let d = 0; d < headDim; d++) {
              dv[a(r, b, j, h, d)] += p * dOut[a(r, b, i, h, d)];
              dq[a(r, b, i, h, d)] += scale * dS * k[a(r, b, j, h, d)];
              dk[a(r, b, j, h, d)] += scale * dS * q[a(r, b, i, h, d)];
            }
          }
        }
      }
    }
  }
  return { dq, dk, dv, dScores };
}

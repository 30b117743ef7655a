/**
 * What autotune times: each candidate (a matmul variant at one tile configuration, or a row-kernel
 * variant) builds its kernels on small representative shapes of the training step, in buffers of the
 * measuring arena.
 */
import type { BufferArena } from '../gpu/arena';
import type { GpuContext, MatmulTiles } from '../gpu/context';
import type { Dispatch } from '../gpu/dispatch';
import { MATMUL_DEFAULT_TILES, MATMUL_EXTRA_TILES, MATMUL_VARIANTS, matmul } from '../kernels/matmul';
import { hasSubgroups } from '../gpu/context';
import { rmsnormBackwardInput, rmsnormForward, type RmsNormVariant } from '../kernels/rmsnorm';
import { attentionBackward, attentionForward, type AttentionShape } from '../kernels/attention';
import { crossEntropyMean, crossEntropyRows } from '../kernels/crossEntropy';
import { embeddingBackward, embeddingBackwardScratchWords } from '../kernels/embedding';
import { ROWS_VARIANTS, type AutotuneKernel, type AutotuneMeasurement } from './decision';

export interface Candidate {
  kernel: AutotuneKernel;
  variant: string;
  tiles?: MatmulTiles;
  defaultTiles?: boolean;
  workload: string;
  build(tctx: GpuContext): Promise<Dispatch[]>;
}

export function describeCandidate(c: Candidate): Omit<AutotuneMeasurement, 'milliseconds' | 'samples'> {
  const d: Omit<AutotuneMeasurement, 'milliseconds' | 'samples'> = { kernel: c.kernel, variant: c.variant, workload: c.workload };
  if (c.tiles) {
    d.tiles = c.tiles;
    d.defaultTiles = c.defaultTiles;
  }
  return d;
}

export function tilesText(t: MatmulTiles): string {
  return `${t.workgroupX}×${t.workgroupY}${t.tileK ? ` k${t.tileK}` : ''}`;
}

/**
 * The candidates on small shapes of the needle-s training step (so that measuring takes well under a
 * second on a real GPU and ~1–2 s on SwiftShader):
 * - matmul: a linear layer 512 rows × 64 → 176 forward (X·Wᵀ), input gradient (dY·W) and weight
 *   gradient (dYᵀ·X): every transposition the model uses;
 * - rows: RMSNorm forward + input backward (128 rows × 64), causal attention forward + backward
 *   (B 2 × T 64, 2 heads of 32), the loss rows with their gradient and mean (128 rows × 264), and the
 *   embedding backward (128 positions, 264 × 64 table): every builder that follows `preferences.rows`;
 * - subgroupRows (only where the device has 'subgroups'): the row kernels that have a 'subgroup' variant —
 *   RMSNorm forward + input backward (512 rows × 64) and attention forward + backward (the rows shape) —
 *   with each row variant and with 'subgroup'; autotune times the chosen row variant's and subgroup's.
 */
export function buildCandidates(device: GPUDevice, arena: BufferArena): Candidate[] {
  const rows = 512, inDim = 64, outDim = 176;
  const floats = (n: number) => arena.buffer('autotune', 4 * n);
  const x = floats(rows * inDim), w = floats(outDim * inDim), y = floats(rows * outDim);
  const dx = floats(rows * inDim), dw = floats(outDim * inDim);
  const candidates: Candidate[] = [];
  for (const variant of MATMUL_VARIANTS) {
    for (const tiles of [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]]) {
      candidates.push({
        kernel: 'matmul', variant, tiles: { ...tiles }, defaultTiles: tiles === MATMUL_DEFAULT_TILES[variant],
        workload: `linear ${rows}×${inDim}→${outDim} fwd+bwd (3 matmuls)`,
        build: async (tctx) => [
          await matmul(tctx, { a: x, b: w, c: y, R: 1, M: rows, N: outDim, K: inDim, transB: true, variant, tiles }),
          await matmul(tctx, { a: y, b: w, c: dx, R: 1, M: rows, N: inDim, K: outDim, variant, tiles }),
          await matmul(tctx, { a: y, b: x, c: dw, R: 1, M: outDim, N: inDim, K: rows, transA: true, variant, tiles }),
        ],
      });
    }
  }

  const B = 2, T = 64, H = 2, hd = 32, C = H * hd, V = 264, N = B * T;
  const shape: AttentionShape = { R: 1, B, T, H, headDim: hd };
  const act = () => floats(N * C);
  const hx = act(), hy = act(), hdy = act(), hdx = act(), weight = floats(C), rstd = floats(N);
  const q = act(), k = act(), v = act(), out = act(), dq = act(), dk = act(), dv = act();
  const probs = floats(B * H * T * T), dScores = floats(B * H * T * T);
  const logits = floats(N * V), dLogits = floats(N * V), rowLoss = floats(N), lossMean = floats(1);
  const dTable = floats(V * C);
  const tokens = arena.buffer('autotune.tokens', 4 * B * (T + 1));
  const mask = arena.buffer('autotune.mask', 4 * N);
  const scratch = arena.buffer('autotune.scratch', 4 * embeddingBackwardScratchWords({ R: 1, B, T, V }));
  // Valid ids and a sparse mask (contents matter only to the embedding's counting sort); weights of 1.
  const ids = new Uint32Array(B * (T + 1)).map((_, i) => (i * 7919) % V);
  device.queue.writeBuffer(tokens, 0, ids);
  device.queue.writeBuffer(mask, 0, new Uint32Array(N).map((_, i) => (i % 7 === 3 ? 1 : 0)));
  device.queue.writeBuffer(weight, 0, new Float32Array(C).fill(1));
  for (const variant of ROWS_VARIANTS) {
    candidates.push({
      kernel: 'rows', variant,
      workload: `rmsnorm fwd+bwd ${N}×${C}, attention fwd+bwd B${B} T${T} H${H}×${hd}, loss rows ${N}×${V}, embedding bwd`,
      build: async (tctx) => [
        await rmsnormForward(tctx, { x: hx, weight, y: hy, rstd, eps: 1e-5, R: 1, N, C, variant }),
        await rmsnormBackwardInput(tctx, { dy: hdy, x: hx, weight, rstd, dx: hdx, R: 1, N, C, variant }),
        await attentionForward(tctx, { q, k, v, probs, out, shape, variant }),
        ...await attentionBackward(tctx, { dOut: out, q, k, v, probs, dScores, dq, dk, dv, shape, variant }),
        await crossEntropyRows(tctx, { R: 1, B, T, V, logits, tokens, rowLoss, dLogits, variant }),
        await crossEntropyMean(tctx, { rowLoss, lossMean, R: 1, N, variant }),
        ...await embeddingBackward(tctx, { R: 1, B, T, V, C, maskId: 2, tokens, mask, dOut: hdx, dTable, scratch, variant }),
      ],
    });
  }
  if (hasSubgroups({ device })) {
    // Reuses the matmul workload's [512, 64] buffers (x, dx) and the row workload's weight (C = 64).
    const nx = x, ny = floats(rows * inDim), ndy = floats(rows * inDim), nrstd = floats(rows);
    const variants: RmsNormVariant[] = [...ROWS_VARIANTS, 'subgroup'];
    for (const variant of variants) {
      candidates.push({
        kernel: 'subgroupRows', variant,
        workload: `rmsnorm fwd+bwd ${rows}×${inDim}, attention fwd+bwd B${B} T${T} H${H}×${hd}`,
        build: async (tctx) => [
          await rmsnormForward(tctx, { x: nx, weight, y: ny, rstd: nrstd, eps: 1e-5, R: 1, N: rows, C: inDim, variant }),
          await rmsnormBackwardInput(tctx, { dy: ndy, x: nx, weight, rstd: nrstd, dx, R: 1, N: rows, C: inDim, variant }),
          await attentionForward(tctx, { q, k, v, probs, out, shape, variant }),
          ...await attentionBackward(tctx, { dOut: out, q, k, v, probs, dScores, dq, dk, dv, shape, variant }),
        ],
      });
    }
  }
  return candidates;
}

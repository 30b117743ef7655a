import type { GpuContext, KernelPreferences } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Must match SERIAL_ROWS in shaders/cross_entropy.wgsl: rows (one invocation each) per workgroup of the serial variant. */
export const CROSS_ENTROPY_SERIAL_ROWS = 64;

/**
 * How a row (or the mean) is reduced: `workgroup` = one 64-thread workgroup per row with fixed-tree
 * reductions in workgroup memory; `serial` = one invocation per row looping over v in order, no barriers
 * (much faster on SwiftShader; fine on GPUs for small V). Both deterministic; they agree to a few ulp.
 */
export type RowVariant = KernelPreferences['rows'];

function rowVariant(label: string, ctx: GpuContext, variant: RowVariant | undefined): RowVariant {
  const v = variant ?? ctx.preferences.rows;
  if (v !== 'workgroup' && v !== 'serial') throw new Error(`${label}: variant must be 'workgroup' or 'serial', got ${String(v)}`);
  return v;
}

/**
 * Loss weights of the weighted entry points (supervised fine-tuning): `lossWeights` f32 [R, B·T], 0 or 1 per
 * row (1 = the row's target counts), and `lossScale` f32 [R] = 1 / Σ_n lossWeights[r, n] (0 for a run without
 * weighted rows). The caller writes both with each batch (see lossScales).
 */
export interface LossWeightBuffers {
  lossWeights: GPUBuffer;
  lossScale: GPUBuffer;
}

/** lossScale [R] for lossWeights [R, N]: 1 / (weighted rows of the run), rounded to f32; 0 when it has none. */
export function lossScales(weights: ArrayLike<number>, R: number, N: number, out: Float32Array = new Float32Array(R)): Float32Array {
  for (let r = 0; r < R; r++) {
    let count = 0;
    for (let n = 0; n < N; n++) count += weights[r * N + n];
    out[r] = count > 0 ? 1 / count : 0;
  }
  return out;
}

/** R runs, B sequences of T predicted positions (N = B·T rows), vocabulary V. */
export interface CrossEntropyShape {
  R: number;
  B: number;
  T: number;
  V: number;
}

function validate(label: string, shape: CrossEntropyShape): void {
  const { R, B, T, V } = shape;
  for (const [name, value] of Object.entries({ R, B, T, V })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer (got ${value})`);
  }
}

/**
 * Fused softmax + next-token loss per row (shaders/cross_entropy.wgsl `rows` / `rowsGrad`):
 *
 *   rowLoss[r, n] = logsumexp(logits[r, n, :]) − logits[r, n, target],  target = tokens[r, b, t+1], n = b·T+t
 *   dLogits[r, n, :] = (softmax(logits[r, n, :]) − onehot(target)) · gradScale   (only when `dLogits` is given)
 *
 * - logits:  f32 [R, B·T, V] (read only)
 * - tokens:  u32 [R, B, T+1] (the CLEAN block: targets are positions 1..T, never the [MASK] id)
 * - rowLoss: f32 [R, B·T] (written)
 * - dLogits: f32 [R, B·T, V] (written; a separate buffer from logits). Omit it for the evaluation path:
 *   the builder then uses the `rows` entry point, whose layout has no dLogits binding at all.
 *   (This replaces a WRITE_GRAD override constant: an override cannot drop a binding from the 'auto'
 *   layout. Both entry points run the same code and give bit-identical rowLoss.)
 * Params (uniform): R, B, T, V (u32), gradScale (f32, default 1/(B·T) = gradient of the mean loss).
 * A target id >= V gives rowLoss 0 and a zero dLogits row (never an out-of-bounds read).
 * `variant` (default `ctx.preferences.rows`): 'workgroup' = one workgroup (64 threads) per row, grid
 * [grid2d(B·T), R], fixed-tree reductions (`rows` / `rowsGrad`); 'serial' = one invocation per row, 64 rows
 * per workgroup, grid [grid2d(ceil(B·T/64)), R], in-order loops (`rowsSerial` / `rowsGradSerial`).
 * Both deterministic; within a variant the loss-only and the grad path give bit-identical rowLoss.
 * Dispatch label `crossEntropyRows.<variant>` / `crossEntropyRowsGrad.<variant>`.
 * With `weights` (and dLogits) the `rowsGradWeighted` entry points instead scale row n of run r by
 * lossWeights[r, n] · lossScale[r] (gradScale unused): the gradient of the mean over the weighted rows.
 * Label `crossEntropyRowsGradWeighted.<variant>`. With every weight 1 and lossScale 1/N it is bit-identical.
 */
export async function crossEntropyRows(
  ctx: GpuContext,
  io: CrossEntropyShape & {
    logits: GPUBuffer; tokens: GPUBuffer; rowLoss: GPUBuffer; dLogits?: GPUBuffer; gradScale?: number;
    weights?: LossWeightBuffers; variant?: RowVariant;
  },
): Promise<Dispatch> {
  const grad = io.dLogits !== undefined;
  const weighted = io.weights !== undefined;
  const label = weighted ? 'crossEntropyRowsGradWeighted' : grad ? 'crossEntropyRowsGrad' : 'crossEntropyRows';
  if (weighted && !grad) throw new Error(`${label}: loss weights apply to the gradient; pass dLogits with them`);
  validate(label, io);
  const variant = rowVariant(label, ctx, io.variant);
  const serial = variant === 'serial';
  const N = io.B * io.T;
  const words = new ArrayBuffer(5 * 4);
  new Uint32Array(words, 0, 4).set([io.R, io.B, io.T, io.V]);
  new Float32Array(words, 16, 1)[0] = io.gradScale ?? 1 / N;
  const bindings = [ctx.arena.uniform(`${label}.params`, new Uint32Array(words)), io.logits, io.tokens, io.rowLoss];
  if (io.dLogits !== undefined) bindings.push(io.dLogits);
  if (io.weights !== undefined) bindings.push(io.weights.lossWeights, io.weights.lossScale);
  const [x, y] = grid2d(serial ? ceilDiv(N, CROSS_ENTROPY_SERIAL_ROWS) : N);
  const entry = weighted ? 'rowsGradWeighted' : grad ? 'rowsGrad' : 'rows';
  return makeDispatch(ctx, {
    label: `${label}.${variant}`, shader: 'cross_entropy', entryPoint: entry + (serial ? 'Serial' : ''),
    bindings,
    workgroups: [x, y, io.R],
  });
}

/**
 * Mean loss per run (shaders/cross_entropy.wgsl `mean`): lossMean[r] = (1/N) Σ_n rowLoss[r, n].
 *
 * - rowLoss:  f32 [R, N] (read), N = B·T
 * - lossMean: f32 [R] (written)
 * Params (uniform, u32): R, N. `variant` (default `ctx.preferences.rows`): 'workgroup' = one workgroup
 * (64 threads) per run, grid [1, 1, R], strided partial sums in a fixed order + fixed tree (`mean`);
 * 'serial' = one invocation per run summing the N rows in order, 64 runs per workgroup (`meanSerial`).
 * Either way the result is bit-identical run to run. Dispatch label `crossEntropyMean.<variant>`.
 * With `weights` (f32 [R, N], 0 or 1): lossMean[r] = Σ w·rowLoss / Σ w, 0 when Σ w = 0 (`meanWeighted`,
 * label `crossEntropyMeanWeighted.<variant>`); bit-identical to the plain mean when every weight is 1.
 */
export async function crossEntropyMean(
  ctx: GpuContext,
  io: { rowLoss: GPUBuffer; lossMean: GPUBuffer; R: number; N: number; weights?: GPUBuffer; variant?: RowVariant },
): Promise<Dispatch> {
  const weighted = io.weights !== undefined;
  const label = weighted ? 'crossEntropyMeanWeighted' : 'crossEntropyMean';
  for (const [name, value] of Object.entries({ R: io.R, N: io.N })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer (got ${value})`);
  }
  const variant = rowVariant(label, ctx, io.variant);
  const serial = variant === 'serial';
  const [x, y] = grid2d(ceilDiv(io.R, CROSS_ENTROPY_SERIAL_ROWS));
  return makeDispatch(ctx, {
    label: `${label}.${variant}`, shader: 'cross_entropy', entryPoint: (weighted ? 'meanWeighted' : 'mean') + (serial ? 'Serial' : ''),
    bindings: [ctx.arena.uniform(`${label}.params`, new Uint32Array([io.R, io.N])), io.rowLoss, io.lossMean,
      ...(io.weights ? [io.weights] : [])],
    workgroups: serial ? [x, y, 1] : [1, 1, io.R],
  });
}

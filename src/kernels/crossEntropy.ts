import type { GpuContext } from '../gpu/context';
import { grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

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
 * One workgroup (64 threads) per row; grid [grid2d(B·T), R]. Deterministic fixed-tree reductions.
 */
export async function crossEntropyRows(
  ctx: GpuContext,
  io: CrossEntropyShape & {
    logits: GPUBuffer; tokens: GPUBuffer; rowLoss: GPUBuffer; dLogits?: GPUBuffer; gradScale?: number;
  },
): Promise<Dispatch> {
  const grad = io.dLogits !== undefined;
  const label = grad ? 'crossEntropyRowsGrad' : 'crossEntropyRows';
  validate(label, io);
  const N = io.B * io.T;
  const words = new ArrayBuffer(5 * 4);
  new Uint32Array(words, 0, 4).set([io.R, io.B, io.T, io.V]);
  new Float32Array(words, 16, 1)[0] = io.gradScale ?? 1 / N;
  const bindings = [ctx.arena.uniform(`${label}.params`, new Uint32Array(words)), io.logits, io.tokens, io.rowLoss];
  if (io.dLogits !== undefined) bindings.push(io.dLogits);
  const [x, y] = grid2d(N);
  return makeDispatch(ctx, {
    label, shader: 'cross_entropy', entryPoint: grad ? 'rowsGrad' : 'rows',
    bindings,
    workgroups: [x, y, io.R],
  });
}

/**
 * Mean loss per run (shaders/cross_entropy.wgsl `mean`): lossMean[r] = (1/N) Σ_n rowLoss[r, n].
 *
 * - rowLoss:  f32 [R, N] (read), N = B·T
 * - lossMean: f32 [R] (written)
 * Params (uniform, u32): R, N. One workgroup (64 threads) per run, grid [1, 1, R]; strided partial
 * sums in a fixed order + fixed tree, so the result is bit-identical run to run.
 */
export async function crossEntropyMean(
  ctx: GpuContext, io: { rowLoss: GPUBuffer; lossMean: GPUBuffer; R: number; N: number },
): Promise<Dispatch> {
  for (const [name, value] of Object.entries({ R: io.R, N: io.N })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`crossEntropyMean: ${name} must be a positive integer (got ${value})`);
  }
  return makeDispatch(ctx, {
    label: 'crossEntropyMean', shader: 'cross_entropy', entryPoint: 'mean',
    bindings: [ctx.arena.uniform('crossEntropyMean.params', new Uint32Array([io.R, io.N])), io.rowLoss, io.lossMean],
    workgroups: [1, 1, io.R],
  });
}

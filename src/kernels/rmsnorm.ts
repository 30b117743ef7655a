import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Must match WEIGHT_WORKGROUP in shaders/rmsnorm.wgsl. */
const WEIGHT_WORKGROUP = 64;

/** Per-run shape: N rows (B·T) of C channels; R runs. */
export interface RmsNormDims { R: number; N: number; C: number }

function checkDims(label: string, dims: RmsNormDims): void {
  for (const [name, value] of Object.entries({ R: dims.R, N: dims.N, C: dims.C })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer, got ${value}`);
  }
}

function checkSize(label: string, name: string, buffer: GPUBuffer, floats: number): void {
  if (buffer.size < floats * 4) {
    throw new Error(`${label}: buffer ${name} holds ${buffer.size} bytes, needs ${floats * 4} (${floats} f32)`);
  }
}

/** Params { R, N, C: u32; eps: f32 }. */
function params(ctx: GpuContext, label: string, dims: RmsNormDims, eps: number): GPUBuffer {
  const data = new ArrayBuffer(16);
  new Uint32Array(data, 0, 3).set([dims.R, dims.N, dims.C]);
  new Float32Array(data, 12, 1)[0] = eps;
  return ctx.arena.uniform(`${label}.params`, new Uint8Array(data));
}

/** One workgroup per row: rows over x/y, run index over z. */
function rowGrid(dims: RmsNormDims): [number, number, number] {
  const [x, y] = grid2d(dims.N);
  return [x, y, dims.R];
}

/**
 * RMSNorm forward (LLaMA): y[r,n,c] = x[r,n,c] · rstd[r,n] · weight[r,c],
 * rstd[r,n] = 1 / sqrt(mean_c x[r,n,c]² + eps).
 * Layouts: x, y [R, N, C]; weight [R, C]; rstd [R, N] (written; saved for the backward).
 * y must not alias x. One workgroup of 128 threads per row; deterministic tree reduction.
 */
export async function rmsnormForward(
  ctx: GpuContext,
  io: { x: GPUBuffer; weight: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer; eps: number } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormForward';
  checkDims(label, io);
  if (!(io.eps >= 0) || !Number.isFinite(io.eps)) throw new Error(`${label}: eps must be a finite number ≥ 0, got ${io.eps}`);
  const { R, N, C } = io;
  checkSize(label, 'x', io.x, R * N * C);
  checkSize(label, 'weight', io.weight, R * C);
  checkSize(label, 'y', io.y, R * N * C);
  checkSize(label, 'rstd', io.rstd, R * N);
  return makeDispatch(ctx, {
    label, shader: 'rmsnorm', entryPoint: 'forward',
    bindings: [params(ctx, label, io, io.eps), io.x, io.weight, io.y, io.rstd],
    workgroups: rowGrid(io),
  });
}

/**
 * RMSNorm backward to the input (overwrites dx):
 * dx[r,n,c] = rstd · (dy·w[r,c] − x · rstd² · mean_c(dy·w·x)).
 * Layouts: dy, x, dx [R, N, C]; weight [R, C]; rstd [R, N] (from the forward).
 * dx must not alias dy or x. One workgroup per row; deterministic tree reduction.
 */
export async function rmsnormBackwardInput(
  ctx: GpuContext,
  io: { dy: GPUBuffer; x: GPUBuffer; weight: GPUBuffer; rstd: GPUBuffer; dx: GPUBuffer } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormBackwardInput';
  checkDims(label, io);
  const { R, N, C } = io;
  checkSize(label, 'dy', io.dy, R * N * C);
  checkSize(label, 'x', io.x, R * N * C);
  checkSize(label, 'weight', io.weight, R * C);
  checkSize(label, 'rstd', io.rstd, R * N);
  checkSize(label, 'dx', io.dx, R * N * C);
  return makeDispatch(ctx, {
    label, shader: 'rmsnorm', entryPoint: 'backwardInput',
    bindings: [params(ctx, label, io, 0), io.dy, io.x, io.weight, io.rstd, io.dx],
    workgroups: rowGrid(io),
  });
}

/**
 * RMSNorm backward to the weight (OVERWRITES dWeight, does not accumulate):
 * dWeight[r,c] = Σ_n dy[r,n,c] · x[r,n,c] · rstd[r,n], one owner thread per (r, c) summing rows in order.
 * Layouts: dy, x [R, N, C]; rstd [R, N]; dWeight [R, C].
 */
export async function rmsnormBackwardWeight(
  ctx: GpuContext,
  io: { dy: GPUBuffer; x: GPUBuffer; rstd: GPUBuffer; dWeight: GPUBuffer } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormBackwardWeight';
  checkDims(label, io);
  const { R, N, C } = io;
  checkSize(label, 'dy', io.dy, R * N * C);
  checkSize(label, 'x', io.x, R * N * C);
  checkSize(label, 'rstd', io.rstd, R * N);
  checkSize(label, 'dWeight', io.dWeight, R * C);
  const [x, y] = grid2d(ceilDiv(C, WEIGHT_WORKGROUP));
  return makeDispatch(ctx, {
    label, shader: 'rmsnorm', entryPoint: 'backwardWeight',
    bindings: [params(ctx, label, io, 0), io.dy, io.x, io.rstd, io.dWeight],
    workgroups: [x, y, R],
  });
}

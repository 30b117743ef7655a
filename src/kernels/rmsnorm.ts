import { hasSubgroups, prefersSubgroupRows, type GpuContext, type KernelPreferences } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Must match WEIGHT_WORKGROUP in shaders/rmsnorm.wgsl. */
const WEIGHT_WORKGROUP = 64;
/** Must match SERIAL_ROWS in shaders/rmsnorm.wgsl: rows (one invocation each) per workgroup of the serial variant. */
export const RMSNORM_SERIAL_ROWS = 64;

/**
 * How a row kernel reduces over its C channels: `workgroup` = one 128-thread workgroup per row with a
 * fixed tree in workgroup memory (good on GPUs for large C); `serial` = one invocation per row looping over
 * the channels in order, no barriers (much faster on SwiftShader; fine on GPUs for small C). Both are
 * deterministic and agree to a few ulp (only the summation order differs).
 */
export type RowVariant = KernelPreferences['rows'];

/**
 * RMSNorm's row kernels also have `subgroup` (shaders/rmsnorm_subgroup.wgsl): one 64-thread workgroup per
 * row, subgroupAdd within each subgroup and one barrier to add the subgroup sums in a fixed order. Only on
 * a device with the 'subgroups' feature; deterministic for a given device (see the shader).
 */
export type RmsNormVariant = RowVariant | 'subgroup';

/** Whether the device can run the 'subgroup' variant (re-exported from gpu/context). */
export { hasSubgroups };

/**
 * The variant to build: the explicit option, else 'subgroup' where `ctx.preferences.subgroupRows` says so
 * and the device has the feature, else `ctx.preferences.rows`; anything else is an error.
 */
function rowVariant(label: string, ctx: GpuContext, variant: RmsNormVariant | undefined): RmsNormVariant {
  const v = variant ?? (prefersSubgroupRows(ctx) ? 'subgroup' : ctx.preferences.rows);
  if (v !== 'workgroup' && v !== 'serial' && v !== 'subgroup') {
    throw new Error(`${label}: variant must be 'workgroup' or 'serial' (or 'subgroup'), got ${String(v)}`);
  }
  if (v === 'subgroup' && !hasSubgroups(ctx)) {
    throw new Error(`${label}: variant 'subgroup' needs the device feature 'subgroups', which this device lacks; use 'workgroup' or 'serial'`);
  }
  return v;
}

/** Per-run shape: N rows (B·T) of C channels; R runs. */
export interface RmsNormDims { R: number; N: number; C: number }

function checkDims(label: string, dims: RmsNormDims): void {
  for (const [name, value] of Object.entries({ R: dims.R, N: dims.N, C: dims.C })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer, got ${value}`);
  }
}

function checkSize(label: string, name: string, buffer: GPUBuffer, floats: number): void {
  if (floats > 0xffffffff) throw new Error(`${label}: ${name} needs ${floats} elements, beyond u32 indexing`);
  if (buffer.size < floats * 4) {
    throw new Error(`${label}: buffer ${name} holds ${buffer.size} bytes, needs ${floats * 4} (${floats} f32)`);
  }
}

/**
 * Where one run's [C] weight (or weight gradient) sits inside a flat per-model buffer [R, P]: element (r, c)
 * is at `offset + r·runStride + c`. Defaults (offset 0, runStride C) give a dense [R, C] buffer.
 */
export interface RmsNormParamPlacement { offset: number; runStride: number }

/** Resolves an optional offset / run stride (defaults: dense [R, C]), checks it and the buffer's size. */
function placement(
  label: string, name: string, dims: RmsNormDims, buffer: GPUBuffer, offset?: number, runStride?: number,
): RmsNormParamPlacement {
  const p = { offset: offset ?? 0, runStride: runStride ?? dims.C };
  if (!Number.isInteger(p.offset) || p.offset < 0) {
    throw new Error(`${label}: ${name}Offset must be an integer ≥ 0, got ${p.offset}`);
  }
  if (!Number.isInteger(p.runStride) || p.runStride < dims.C) {
    throw new Error(`${label}: ${name}RunStride must be an integer ≥ C = ${dims.C}, got ${p.runStride}; runs must not overlap`);
  }
  checkSize(label, name, buffer, p.offset + (dims.R - 1) * p.runStride + dims.C);
  return p;
}

/**
 * Params (uniform, 32 bytes): { R, N, C: u32; eps: f32; weightOffset, weightRunStride, dWeightOffset,
 * dWeightRunStride: u32 }. An entry point's unused pair (undefined) is written dense (0, C).
 */
function params(
  ctx: GpuContext, label: string, dims: RmsNormDims, eps: number,
  weight: RmsNormParamPlacement | undefined, dWeight: RmsNormParamPlacement | undefined,
): GPUBuffer {
  const data = new ArrayBuffer(32);
  new Uint32Array(data, 0, 3).set([dims.R, dims.N, dims.C]);
  new Float32Array(data, 12, 1)[0] = eps;
  const dense = { offset: 0, runStride: dims.C };
  const w = weight ?? dense;
  const dw = dWeight ?? dense;
  new Uint32Array(data, 16, 4).set([w.offset, w.runStride, dw.offset, dw.runStride]);
  return ctx.arena.uniform(`${label}.params`, new Uint8Array(data));
}

/**
 * Shader, entry point and grid of a row kernel: workgroup and subgroup = one workgroup per row (rows over
 * x/y); serial = one invocation per row, RMSNORM_SERIAL_ROWS rows per workgroup (row blocks over x/y). Run
 * index over z.
 */
function rowKernel(base: 'forward' | 'backwardInput', variant: RmsNormVariant, dims: RmsNormDims):
  { shader: string; entryPoint: string; workgroups: [number, number, number] } {
  const serial = variant === 'serial';
  const [x, y] = grid2d(serial ? ceilDiv(dims.N, RMSNORM_SERIAL_ROWS) : dims.N);
  return {
    shader: variant === 'subgroup' ? 'rmsnorm_subgroup' : 'rmsnorm',
    entryPoint: serial ? `${base}Serial` : base, workgroups: [x, y, dims.R],
  };
}

/**
 * RMSNorm forward (LLaMA): y[r,n,c] = x[r,n,c] · rstd[r,n] · weight[r,c],
 * rstd[r,n] = 1 / sqrt(mean_c x[r,n,c]² + eps).
 * Layouts: x, y [R, N, C]; rstd [R, N] (written; saved for the backward); weight [C] per run, element (r, c)
 * at `weightOffset + r·weightRunStride + c` (defaults 0 and C: dense [R, C]; weightRunStride ≥ C), so the weight
 * can live inside a flat parameter buffer [R, P]. y must not alias x.
 * `variant` (default `ctx.preferences.rows`, or 'subgroup' under `ctx.preferences.subgroupRows`): 'workgroup'
 * = one workgroup of 128 threads per row with a deterministic tree reduction (entry point `forward`);
 * 'serial' = one invocation per row summing the channels in order, 64 rows per workgroup (entry point
 * `forwardSerial`); 'subgroup' = one workgroup of 64 threads per row, subgroupAdd + one barrier
 * (rmsnorm_subgroup.wgsl `forward`; devices with 'subgroups' only). All deterministic.
 * Dispatch label `rmsnormForward.<variant>`.
 */
export async function rmsnormForward(
  ctx: GpuContext,
  io: {
    x: GPUBuffer; weight: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer; eps: number;
    weightOffset?: number; weightRunStride?: number; variant?: RmsNormVariant;
  } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormForward';
  checkDims(label, io);
  const variant = rowVariant(label, ctx, io.variant);
  if (!(io.eps >= 0) || !Number.isFinite(io.eps)) throw new Error(`${label}: eps must be a finite number ≥ 0, got ${io.eps}`);
  const { R, N, C } = io;
  checkSize(label, 'x', io.x, R * N * C);
  const weight = placement(label, 'weight', io, io.weight, io.weightOffset, io.weightRunStride);
  checkSize(label, 'y', io.y, R * N * C);
  checkSize(label, 'rstd', io.rstd, R * N);
  return makeDispatch(ctx, {
    label: `${label}.${variant}`, ...rowKernel('forward', variant, io),
    bindings: [params(ctx, label, io, io.eps, weight, undefined), io.x, io.weight, io.y, io.rstd],
  });
}

/**
 * RMSNorm backward to the input (overwrites dx):
 * dx[r,n,c] = rstd · (dy·w[r,c] − x · rstd² · mean_c(dy·w·x)).
 * Layouts: dy, x, dx [R, N, C]; rstd [R, N] (from the forward); weight [C] per run at
 * `weightOffset + r·weightRunStride + c` (defaults 0 and C: dense [R, C]; weightRunStride ≥ C).
 * dx must not alias dy or x. `variant` as in rmsnormForward ('workgroup': `backwardInput`, one workgroup per
 * row with a tree reduction; 'serial': `backwardInputSerial`, one invocation per row; 'subgroup':
 * rmsnorm_subgroup.wgsl `backwardInput`; default as in rmsnormForward). All deterministic. Dispatch label `rmsnormBackwardInput.<variant>`.
 */
export async function rmsnormBackwardInput(
  ctx: GpuContext,
  io: {
    dy: GPUBuffer; x: GPUBuffer; weight: GPUBuffer; rstd: GPUBuffer; dx: GPUBuffer;
    weightOffset?: number; weightRunStride?: number; variant?: RmsNormVariant;
  } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormBackwardInput';
  checkDims(label, io);
  const variant = rowVariant(label, ctx, io.variant);
  const { R, N, C } = io;
  checkSize(label, 'dy', io.dy, R * N * C);
  checkSize(label, 'x', io.x, R * N * C);
  const weight = placement(label, 'weight', io, io.weight, io.weightOffset, io.weightRunStride);
  checkSize(label, 'rstd', io.rstd, R * N);
  checkSize(label, 'dx', io.dx, R * N * C);
  return makeDispatch(ctx, {
    label: `${label}.${variant}`, ...rowKernel('backwardInput', variant, io),
    bindings: [params(ctx, label, io, 0, weight, undefined), io.dy, io.x, io.weight, io.rstd, io.dx],
  });
}

/**
 * RMSNorm backward to the weight (OVERWRITES dWeight, does not accumulate):
 * dWeight[r,c] = Σ_n dy[r,n,c] · x[r,n,c] · rstd[r,n], one owner thread per (r, c) summing rows in order.
 * Layouts: dy, x [R, N, C]; rstd [R, N]; dWeight [C] per run at `dWeightOffset + r·dWeightRunStride + c`
 * (defaults 0 and C: dense [R, C]; dWeightRunStride ≥ C). Writes exactly those R·C elements and nothing else
 * of the buffer, so dWeight can be a slice of a flat gradient buffer [R, P].
 */
export async function rmsnormBackwardWeight(
  ctx: GpuContext,
  io: {
    dy: GPUBuffer; x: GPUBuffer; rstd: GPUBuffer; dWeight: GPUBuffer;
    dWeightOffset?: number; dWeightRunStride?: number;
  } & RmsNormDims,
): Promise<Dispatch> {
  const label = 'rmsnormBackwardWeight';
  checkDims(label, io);
  const { R, N, C } = io;
  checkSize(label, 'dy', io.dy, R * N * C);
  checkSize(label, 'x', io.x, R * N * C);
  checkSize(label, 'rstd', io.rstd, R * N);
  const dWeight = placement(label, 'dWeight', io, io.dWeight, io.dWeightOffset, io.dWeightRunStride);
  const [x, y] = grid2d(ceilDiv(C, WEIGHT_WORKGROUP));
  return makeDispatch(ctx, {
    label, shader: 'rmsnorm', entryPoint: 'backwardWeight',
    bindings: [params(ctx, label, io, 0, undefined, dWeight), io.dy, io.x, io.rstd, io.dWeight],
    workgroups: [x, y, R],
  });
}

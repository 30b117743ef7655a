import { hasSubgroups, prefersSubgroupRows, type GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';
import type { OverrideConstants } from '../gpu/registry';

/**
 * Three implementations of the same three entry points, same layouts and semantics:
 * - 'workgroup' (shaders/attention.wgsl): one 64-thread workgroup per (r, b, h, row), keys spread over the
 *   threads, fixed-tree reductions in workgroup memory (fastest on real GPUs, long T).
 * - 'serial' (shaders/attention_serial.wgsl): one invocation per (r, b, h, row) — per key column for
 *   backwardColumns — looping serially; no workgroup memory, no barriers (fastest on software adapters
 *   such as SwiftShader, where barriers are expensive; fine on real GPUs for T ≤ ~256).
 * - 'subgroup' (shaders/attention_subgroup.wgsl; devices with the 'subgroups' feature only): 'workgroup'
 *   with its softmax-row reductions done by subgroupMax / subgroupAdd and one barrier each instead of a
 *   barrier tree. Built by default where `ctx.preferences.subgroupRows` is set (and the device has the
 *   feature); an explicit 'subgroup' on a device without it is refused.
 * All are deterministic (every sum in a fixed order; subgroup operations fixed per device); they agree to
 * rounding, not bit for bit.
 */
export type AttentionVariant = 'workgroup' | 'serial' | 'subgroup';
export const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['workgroup', 'serial', 'subgroup'];

/** The variants this device can run ('subgroup' only with the 'subgroups' feature). */
export function attentionVariants(ctx: Pick<GpuContext, 'device'>): AttentionVariant[] {
  return ATTENTION_VARIANTS.filter((v) => v !== 'subgroup' || hasSubgroups(ctx));
}

/** The explicit variant, else 'subgroup' under `preferences.subgroupRows` (with the feature), else `preferences.rows`. */
function chooseVariant(ctx: GpuContext, label: string, variant: AttentionVariant | undefined): AttentionVariant {
  const v = variant ?? (prefersSubgroupRows(ctx) ? 'subgroup' : ctx.preferences.rows);
  if (v === 'subgroup' && !hasSubgroups(ctx)) {
    throw new Error(`${label}: variant 'subgroup' needs the device feature 'subgroups', which this device lacks; use 'workgroup' or 'serial'`);
  }
  return v;
}

/** Invocations per workgroup of the serial variant (the shader's `WG` override). */
const SERIAL_WORKGROUP = 64;

/**
 * Causal multi-head self-attention. Per-run shape: B sequences of T tokens,
 * H heads of headDim channels, C = H·headDim; R runs stored contiguously (run dimension first).
 *
 * Layouts (all f32, row-major):
 * - q, k, v, out, dOut, dq, dk, dv: `[R, B·T, C]`, element (r, b·T + t, h·headDim + d).
 *   q and k are already RoPE-rotated.
 * - probs and the backward scratch dScores: `[R, B, H, T, T]`, element (r, b, h, i, j);
 *   entries with j > i are written as exactly 0.
 *
 * scale = 1/sqrt(headDim). Grid z = R (so R ≤ 65535); (x, y) = grid2d(B·H·T) workgroups of 64 threads, one per
 * (b, h, t), for 'workgroup' and 'subgroup'; grid2d(ceil(B·H·T / 64)) workgroups of 64 invocations, one
 * invocation per (b, h, t), for 'serial'. The variant defaults to `ctx.preferences.rows` ('subgroup' under
 * `ctx.preferences.subgroupRows` where the device has the feature).
 */
export interface AttentionShape {
  R: number;
  B: number;
  T: number;
  H: number;
  headDim: number;
}

/** Floats in one probs (or dScores) buffer: R·B·H·T·T. */
export function attentionProbsFloats(shape: AttentionShape): number {
  return shape.R * shape.B * shape.H * shape.T * shape.T;
}

/** Floats the caller must allocate for `attentionBackward`'s `dScores` scratch: R·B·H·T·T. */
export function attentionBackwardScratchFloats(shape: AttentionShape): number {
  return attentionProbsFloats(shape);
}

/** Floats in one activation buffer (q, k, v, out and their gradients): R·B·T·H·headDim. */
export function attentionActivationFloats(shape: AttentionShape): number {
  return shape.R * shape.B * shape.T * shape.H * shape.headDim;
}

/** Params (binding 0): { B: u32, T: u32, H: u32, headDim: u32, scale: f32 = 1/sqrt(headDim) }. */
function params(ctx: GpuContext, label: string, shape: AttentionShape): GPUBuffer {
  for (const [name, value] of Object.entries(shape)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name}=${value} must be a positive integer`);
  }
  if (attentionProbsFloats(shape) >= 2 ** 32) throw new Error(`${label}: R·B·H·T·T exceeds 2^32 elements (u32 indices)`);
  const words = new ArrayBuffer(20);
  const u32 = new Uint32Array(words);
  u32[0] = shape.B;
  u32[1] = shape.T;
  u32[2] = shape.H;
  u32[3] = shape.headDim;
  new Float32Array(words)[4] = 1 / Math.sqrt(shape.headDim);
  return ctx.arena.uniform(`${label}.params`, u32);
}

/** Shader module, override constants and grid of one variant (identical bindings and entry point names). */
function kernel(
  variant: AttentionVariant, shape: AttentionShape,
): { shader: string; constants: OverrideConstants; workgroups: readonly [number, number, number] } {
  const items = shape.B * shape.H * shape.T;
  if (variant === 'serial') {
    const [x, y] = grid2d(ceilDiv(items, SERIAL_WORKGROUP));
    return { shader: 'attention_serial', constants: { WG: SERIAL_WORKGROUP }, workgroups: [x, y, shape.R] };
  }
  if (variant !== 'workgroup' && variant !== 'subgroup') throw new Error(`attention: unknown variant ${String(variant)}`);
  const [x, y] = grid2d(items);
  return { shader: variant === 'subgroup' ? 'attention_subgroup' : 'attention', constants: {}, workgroups: [x, y, shape.R] };
}

/**
 * Forward: probs[r,b,h,i,j] = softmax_{j ≤ i}(q_i·k_j / sqrt(headDim)) (numerically stable, 0 for j > i),
 * out[r, b·T+i, h·hd+d] = Σ_j probs[r,b,h,i,j] · v[r, b·T+j, h·hd+d].
 * Reads q, k, v `[R, B·T, C]`; writes (overwrites) probs `[R, B, H, T, T]` and out `[R, B·T, C]`.
 * Bindings: 0 params, 1 q, 2 k, 3 v, 4 probs, 5 out. Dispatch label `attentionForward.<variant>`.
 */
export async function attentionForward(
  ctx: GpuContext,
  io: {
    q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; probs: GPUBuffer; out: GPUBuffer; shape: AttentionShape;
    variant?: AttentionVariant;
  },
): Promise<Dispatch> {
  const variant = chooseVariant(ctx, 'attentionForward', io.variant);
  const label = `attentionForward.${variant}`;
  return makeDispatch(ctx, {
    label, entryPoint: 'forward', ...kernel(variant, io.shape),
    bindings: [params(ctx, label, io.shape), io.q, io.k, io.v, io.probs, io.out],
  });
}

/**
 * Backward: given dOut `[R, B·T, C]`, q, k, v `[R, B·T, C]` and the forward's probs `[R, B, H, T, T]`,
 * writes (overwrites) dq, dk, dv `[R, B·T, C]`. Returns TWO dispatches, to be encoded in this order
 * (same compute pass is fine):
 * 1. `backwardRows` (bindings 0 params, 1 dOut, 2 v, 3 probs, 4 k, 5 dScores, 6 dq), one workgroup
 *    ('workgroup') or invocation ('serial') per query row i:
 *    dScores[r,b,h,i,j] = P_ij (dO_i·v_j − Σ_j' P_ij' dO_i·v_j') (0 for j > i), and dq_i = scale Σ_j dScores_ij k_j.
 * 2. `backwardColumns` (bindings 0 params, 1 dOut, 2 q, 3 probs, 4 dScores, 5 dk, 6 dv), one workgroup
 *    or invocation per key column j: dv_j = Σ_{i ≥ j} P_ij dO_i, dk_j = scale Σ_{i ≥ j} dScores_ij q_i.
 * `dScores` is caller-owned scratch of `attentionBackwardScratchFloats(shape)` floats (R·B·H·T·T);
 * its contents afterwards are the score gradients (may be reused by anything else after the step).
 * Dispatch labels `attentionBackwardRows.<variant>`, `attentionBackwardColumns.<variant>`.
 */
export async function attentionBackward(
  ctx: GpuContext,
  io: {
    dOut: GPUBuffer; q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; probs: GPUBuffer;
    dScores: GPUBuffer; dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer; shape: AttentionShape;
    variant?: AttentionVariant;
  },
): Promise<Dispatch[]> {
  const variant = chooseVariant(ctx, 'attentionBackward', io.variant);
  const rowsLabel = `attentionBackwardRows.${variant}`;
  const rows = await makeDispatch(ctx, {
    label: rowsLabel, entryPoint: 'backwardRows', ...kernel(variant, io.shape),
    bindings: [params(ctx, rowsLabel, io.shape), io.dOut, io.v, io.probs, io.k, io.dScores, io.dq],
  });
  const columnsLabel = `attentionBackwardColumns.${variant}`;
  const columns = await makeDispatch(ctx, {
    label: columnsLabel, entryPoint: 'backwardColumns', ...kernel(variant, io.shape),
    bindings: [params(ctx, columnsLabel, io.shape), io.dOut, io.q, io.probs, io.dScores, io.dk, io.dv],
  });
  return [rows, columns];
}

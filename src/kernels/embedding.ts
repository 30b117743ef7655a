import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

const WORKGROUP_SIZE = 256;

/**
 * Shape of the embedding kernels: R runs, B sequences of T input positions (N = B·T rows), vocabulary V
 * (including the reserved [MASK] id), C channels.
 */
export interface EmbeddingShape {
  R: number;
  B: number;
  T: number;
  V: number;
  C: number;
}

function validate(label: string, shape: EmbeddingShape, maskId: number): void {
  const { R, B, T, V, C } = shape;
  for (const [name, value] of Object.entries({ R, B, T, V, C })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer (got ${value})`);
  }
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= shape.V) {
    throw new Error(`${label}: maskId ${maskId} must be a token id in 0..${shape.V - 1}`);
  }
}

function params(ctx: GpuContext, label: string, shape: EmbeddingShape, maskId: number): GPUBuffer {
  const { R, B, T, V, C } = shape;
  return ctx.arena.uniform(`${label}.params`, new Uint32Array([R, B, T, V, C, maskId]));
}

/**
 * Embedding forward with the masked input formed on the fly (shaders/embedding.wgsl `forward`):
 *
 *   out[r, b·T+t, :] = table[r, id, :],  id = mask[r,b,t] != 0 ? maskId : tokens[r, b, t]
 *
 * - tokens: u32 [R, B, T+1] (the clean block; only positions 0..T-1 are read here)
 * - mask:   u32 [R, B, T]   (nonzero = masked; all zeros = plain embedding)
 * - table:  f32 [R, V, C]
 * - out:    f32 [R, B·T, C] (written)
 * Params (uniform, u32): R, B, T, V, C, maskId. An id >= V gives a zero row (never an out-of-bounds read).
 * One thread per output element; grid [grid2d(ceil(B·T·C / 256)), R].
 */
export async function embeddingForward(
  ctx: GpuContext,
  io: EmbeddingShape & { tokens: GPUBuffer; mask: GPUBuffer; table: GPUBuffer; out: GPUBuffer; maskId: number },
): Promise<Dispatch> {
  validate('embeddingForward', io, io.maskId);
  const [x, y] = grid2d(ceilDiv(io.B * io.T * io.C, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label: 'embeddingForward', shader: 'embedding', entryPoint: 'forward',
    bindings: [params(ctx, 'embeddingForward', io, io.maskId), io.tokens, io.mask, io.table, io.out],
    workgroups: [x, y, io.R],
  });
}

/**
 * Embedding backward (shaders/embedding.wgsl `backward`), OVERWRITING dTable:
 *
 *   dTable[r, v, :] = Σ_{(b,t) : id(r,b,t) == v} dOut[r, b·T+t, :]   (rows never used are 0)
 *
 * - tokens: u32 [R, B, T+1], mask: u32 [R, B, T] (same id rule as the forward; ids >= V are ignored)
 * - dOut:   f32 [R, B·T, C]
 * - dTable: f32 [R, V, C] (written; no need to clear it first)
 * Params (uniform, u32): R, B, T, V, C, maskId.
 * Deterministic (no atomics): one workgroup per (r, v, 256-channel chunk), grid
 * [grid2d(V · ceil(C / 256)), R]; each owner thread sums the matching positions in increasing order.
 */
export async function embeddingBackward(
  ctx: GpuContext,
  io: EmbeddingShape & { tokens: GPUBuffer; mask: GPUBuffer; dOut: GPUBuffer; dTable: GPUBuffer; maskId: number },
): Promise<Dispatch> {
  validate('embeddingBackward', io, io.maskId);
  const [x, y] = grid2d(io.V * ceilDiv(io.C, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label: 'embeddingBackward', shader: 'embedding', entryPoint: 'backward',
    bindings: [params(ctx, 'embeddingBackward', io, io.maskId), io.tokens, io.mask, io.dOut, io.dTable],
    workgroups: [x, y, io.R],
  });
}

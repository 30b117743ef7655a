import type { GpuContext, KernelPreferences } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Must match WORKGROUP_SIZE in shaders/embedding.wgsl (forward; channel chunk of the 'workgroup' backward). */
const WORKGROUP_SIZE = 256;
/** Must match SUM_WORKGROUP in shaders/embedding.wgsl (`backwardSum`). */
const SUM_WORKGROUP = 256;

/**
 * How the backward finds the positions of each id: 'workgroup' = one workgroup per (r, v, 256-channel chunk)
 * compacting tiles of positions with workgroup barriers (good on GPUs); 'serial' = a barrier-free counting
 * sort of the positions into a scratch index, then one invocation per (r, v, c) (much faster on
 * SwiftShader). Both deterministic and bit-identical (same additions in the same order).
 */
export type EmbeddingVariant = KernelPreferences['rows'];

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

/**
 * Where one run's [V, C] parameter tensor sits inside a flat per-model buffer [R, P]: element (r, v, c) is at
 * `offset + r·runStride + v·C + c`. Defaults (offset 0, runStride V·C) give a dense [R, V, C] buffer.
 */
export interface EmbeddingParamPlacement {
  offset: number;
  runStride: number;
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

/** Resolves the optional offset / run stride of a parameter operand (defaults: dense [R, V, C]) and checks them. */
function placement(label: string, name: string, shape: EmbeddingShape, offset?: number, runStride?: number): EmbeddingParamPlacement {
  const size = shape.V * shape.C;
  const p = { offset: offset ?? 0, runStride: runStride ?? size };
  if (!Number.isInteger(p.offset) || p.offset < 0) {
    throw new Error(`${label}: ${name}Offset must be an integer ≥ 0 (got ${p.offset})`);
  }
  if (!Number.isInteger(p.runStride) || p.runStride < size) {
    throw new Error(`${label}: ${name}RunStride must be an integer ≥ V·C = ${size} (got ${p.runStride}); runs must not overlap`);
  }
  return p;
}

/** Elements a buffer must hold for R runs of `size` elements placed at offset + r·runStride. */
function placedElements(R: number, size: number, p: EmbeddingParamPlacement): number {
  return p.offset + (R - 1) * p.runStride + size;
}

function checkSize(label: string, name: string, buffer: GPUBuffer, elements: number): void {
  if (elements > 0xffffffff) throw new Error(`${label}: ${name} needs ${elements} elements, beyond u32 indexing`);
  if (buffer.size < elements * 4) {
    throw new Error(`${label}: buffer ${name} holds ${buffer.size} bytes, needs ${elements * 4} (${elements} × 4 bytes)`);
  }
}

/**
 * Params (uniform, 12 × u32 = 48 bytes): R, B, T, V, C, maskId, tableOffset, tableRunStride, dTableOffset,
 * dTableRunStride, pad, pad. Each builder fills its own operand's placement; the other pair is left dense.
 */
function params(
  ctx: GpuContext, label: string, shape: EmbeddingShape, maskId: number,
  table: EmbeddingParamPlacement, dTable: EmbeddingParamPlacement,
): GPUBuffer {
  const { R, B, T, V, C } = shape;
  return ctx.arena.uniform(`${label}.params`, new Uint32Array([
    R, B, T, V, C, maskId, table.offset, table.runStride, dTable.offset, dTable.runStride, 0, 0,
  ]));
}

/**
 * Embedding forward with the masked input formed on the fly (shaders/embedding.wgsl `forward`):
 *
 *   out[r, b·T+t, :] = table[r, id, :],  id = tokens[r,b,t] (mask 0), maskId (mask 1) or mask − 2 (mask ≥ 2)
 *
 * - tokens: u32 [R, B, T+1] (the clean block; only positions 0..T-1 are read here)
 * - mask:   u32 [R, B, T]   (0 = clean, 1 = [MASK], m ≥ 2 = token m − 2; all zeros = plain embedding)
 * - table:  f32 [V, C] per run, element (r, v, c) at `tableOffset + r·tableRunStride + v·C + c` (so the table can
 *           live inside a flat parameter buffer [R, P]); defaults tableOffset = 0, tableRunStride = V·C (dense
 *           [R, V, C]). tableRunStride must be ≥ V·C; the buffer must hold tableOffset + (R−1)·tableRunStride + V·C.
 * - out:    f32 [R, B·T, C] (written)
 * Params (uniform, 12 × u32): R, B, T, V, C, maskId, tableOffset, tableRunStride, dTableOffset, dTableRunStride
 * (unused here: 0, V·C), pad, pad. An id >= V gives a zero row (never an out-of-bounds read).
 * One thread per output element; grid [grid2d(ceil(B·T·C / 256)), R].
 */
export async function embeddingForward(
  ctx: GpuContext,
  io: EmbeddingShape & {
    tokens: GPUBuffer; mask: GPUBuffer; table: GPUBuffer; out: GPUBuffer; maskId: number;
    tableOffset?: number; tableRunStride?: number;
  },
): Promise<Dispatch> {
  const label = 'embeddingForward';
  validate(label, io, io.maskId);
  const { R, B, T, V, C } = io;
  const table = placement(label, 'table', io, io.tableOffset, io.tableRunStride);
  checkSize(label, 'tokens', io.tokens, R * B * (T + 1));
  checkSize(label, 'mask', io.mask, R * B * T);
  checkSize(label, 'table', io.table, placedElements(R, V * C, table));
  checkSize(label, 'out', io.out, R * B * T * C);
  const [x, y] = grid2d(ceilDiv(B * T * C, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label, shader: 'embedding', entryPoint: 'forward',
    bindings: [params(ctx, label, io, io.maskId, table, { offset: 0, runStride: V * C }), io.tokens, io.mask, io.table, io.out],
    workgroups: [x, y, io.R],
  });
}

/**
 * u32 words of the scratch buffer `embeddingBackward` needs: R·(V + B·T) (per run: V list ends, then the
 * B·T positions sorted by input id). The same size whichever variant is built, so a caller can allocate
 * it without knowing the variant.
 */
export function embeddingBackwardScratchWords(shape: Pick<EmbeddingShape, 'R' | 'B' | 'T' | 'V'>): number {
  return shape.R * (shape.V + shape.B * shape.T);
}

/**
 * Embedding backward, OVERWRITING dTable:
 *
 *   dTable[r, v, :] = Σ_{(b,t) : id(r,b,t) == v} dOut[r, b·T+t, :]   (rows never used are 0)
 *
 * summed in increasing position order n = b·T + t (acc = 0, then acc += row by row), so the result is
 * bit-identical run to run and between the variants.
 * - tokens: u32 [R, B, T+1], mask: u32 [R, B, T] (same id rule as the forward; ids >= V are ignored)
 * - dOut:   f32 [R, B·T, C]
 * - dTable: f32 [V, C] per run, element (r, v, c) at `dTableOffset + r·dTableRunStride + v·C + c` (defaults 0 and
 *           V·C: dense [R, V, C]). Written (no need to clear it first), and ONLY those R·V·C elements: the rest of
 *           a flat gradient buffer [R, P] is left untouched. dTableRunStride must be ≥ V·C; the buffer must hold
 *           dTableOffset + (R−1)·dTableRunStride + V·C elements.
 * - scratch: u32, at least `embeddingBackwardScratchWords(shape)` = R·(V + B·T) words, caller-owned, contents
 *           irrelevant (the 'serial' variant overwrites it; 'workgroup' does not touch it). Per run r:
 *           scratch[r·(V+N) + v] = end of v's list, scratch[r·(V+N) + V + k] = k-th position sorted by id.
 * Params (uniform, 12 × u32): R, B, T, V, C, maskId, tableOffset, tableRunStride (unused here: 0, V·C),
 * dTableOffset, dTableRunStride, pad, pad.
 *
 * `variant` (default `ctx.preferences.rows`, i.e. 'serial' on SwiftShader):
 * - 'serial': two dispatches, no barriers, no atomics. `embeddingBackward.index` (shader `backwardIndex`,
 *   bindings 0 params, 1 tokens, 2 mask, 3 scratch; grid [1, 1, R], one invocation per run): counting sort of
 *   the positions by id, O(N + V) per run. `embeddingBackward.sum` (shader `backwardSum`, bindings 0 params,
 *   1 scratch, 2 dOut, 3 dTable; grid [grid2d(ceil(V·C / 256)), R]): one invocation per (r, v, c) adds v's rows.
 *   Encode both in order (the returned array) in one pass; nothing may write the scratch in between.
 * - 'workgroup': one dispatch `embeddingBackward.workgroup` (shader `backward`, bindings 0 params, 1 tokens,
 *   2 mask, 3 dOut, 4 dTable): one workgroup per (r, v, 256-channel chunk), grid [grid2d(V · ceil(C / 256)), R],
 *   scanning the positions in tiles of 256 compacted with workgroup barriers.
 */
export async function embeddingBackward(
  ctx: GpuContext,
  io: EmbeddingShape & {
    tokens: GPUBuffer; mask: GPUBuffer; dOut: GPUBuffer; dTable: GPUBuffer; scratch: GPUBuffer; maskId: number;
    dTableOffset?: number; dTableRunStride?: number; variant?: EmbeddingVariant;
  },
): Promise<Dispatch[]> {
  const label = 'embeddingBackward';
  validate(label, io, io.maskId);
  const variant = io.variant ?? ctx.preferences.rows;
  if (variant !== 'serial' && variant !== 'workgroup') {
    throw new Error(`${label}: variant must be 'workgroup' or 'serial', got ${String(variant)}`);
  }
  const { R, B, T, V, C } = io;
  const dTable = placement(label, 'dTable', io, io.dTableOffset, io.dTableRunStride);
  checkSize(label, 'tokens', io.tokens, R * B * (T + 1));
  checkSize(label, 'mask', io.mask, R * B * T);
  checkSize(label, 'dOut', io.dOut, R * B * T * C);
  checkSize(label, 'dTable', io.dTable, placedElements(R, V * C, dTable));
  checkSize(label, 'scratch', io.scratch, embeddingBackwardScratchWords(io));
  const uniform = params(ctx, label, io, io.maskId, { offset: 0, runStride: V * C }, dTable);
  if (variant === 'workgroup') {
    const [x, y] = grid2d(V * ceilDiv(C, WORKGROUP_SIZE));
    return [await makeDispatch(ctx, {
      label: `${label}.workgroup`, shader: 'embedding', entryPoint: 'backward',
      bindings: [uniform, io.tokens, io.mask, io.dOut, io.dTable],
      workgroups: [x, y, R],
    })];
  }
  const [x, y] = grid2d(ceilDiv(V * C, SUM_WORKGROUP));
  return [
    await makeDispatch(ctx, {
      label: `${label}.index`, shader: 'embedding', entryPoint: 'backwardIndex',
      bindings: [uniform, io.tokens, io.mask, io.scratch],
      workgroups: [1, 1, R],
    }),
    await makeDispatch(ctx, {
      label: `${label}.sum`, shader: 'embedding', entryPoint: 'backwardSum',
      bindings: [uniform, io.scratch, io.dOut, io.dTable],
      workgroups: [x, y, R],
    }),
  ];
}

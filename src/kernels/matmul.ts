import type { GpuContext, MatmulTiles } from '../gpu/context';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch';

/**
 * 'blocked': 4×4 register blocks straight from global memory, no workgroup memory (fastest on CPU
 * adapters such as SwiftShader). 'tiled': workgroup-memory tiles plus 4×4 register blocks, scalar loads.
 * 'vec4': workgroup-memory tiles of 64×64 outputs (default) filled with vec4 loads, 8×4 register blocks
 * (meant for real GPUs); where an operand is not vec4-aligned (see `matmulVec4Aligned`) it builds its
 * scalar-load entry point, same tiles and same summation order. Autotune picks among them by measurement.
 */
export type MatmulVariant = 'blocked' | 'tiled' | 'vec4';
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['blocked', 'tiled', 'vec4'];


/**
 * Defaults per variant (autotune may replace them per adapter: `ctx.preferences.matmulTiles`). blocked: 32×32 outputs per workgroup (8×8, 16×4
 * and 4×4 threads measured alike on SwiftShader, 16×16 slower); tiled: 64×64 outputs, k-slice 16 (8 KiB);
 * vec4: 16×8 threads of 8×4 outputs = 64×64 outputs, k-slice 16 (8 KiB). (vec4's defaults and extras are
 * not measured on a real GPU here: they are the usual shapes, and autotune times them where it runs.)
 */
export const MATMUL_DEFAULT_TILES: Readonly<Record<MatmulVariant, MatmulTiles>> = {
  blocked: { workgroupX: 8, workgroupY: 8, tileK: 0 },
  tiled: { workgroupX: 16, workgroupY: 16, tileK: 16 },
  vec4: { workgroupX: 16, workgroupY: 8, tileK: 16 },
};

/**
 * The other tile configurations autotune may time and apply (`ctx.preferences.matmulTiles`): a wider,
 * flatter blocked workgroup (16×64 outputs), a smaller tiled workgroup (32×32 outputs, 4 KiB of
 * workgroup memory) that suits GPUs with few lanes per core, and a taller and a smaller vec4 workgroup. Only configurations that
 * test/matmul.test.ts checks against the reference belong here (it iterates over this list), and all
 * stay within WebGPU's minimum limits (≤ 256 invocations, ≤ 16 KiB of workgroup memory).
 */
export const MATMUL_EXTRA_TILES: Readonly<Record<MatmulVariant, readonly MatmulTiles[]>> = {
  blocked: [{ workgroupX: 16, workgroupY: 4, tileK: 0 }],
  tiled: [{ workgroupX: 8, workgroupY: 8, tileK: 16 }],
  // 64×32 outputs with 64 threads (6 KiB), and 128×64 outputs with 256 threads (12 KiB).
  vec4: [{ workgroupX: 8, workgroupY: 8, tileK: 16 }, { workgroupX: 16, workgroupY: 16, tileK: 16 }],
};

/** Whether `tiles` is one of the configurations tested for `variant` (its default or an extra one). */
export function isTestedMatmulTiles(variant: MatmulVariant, tiles: MatmulTiles): boolean {
  return [MATMUL_DEFAULT_TILES[variant], ...MATMUL_EXTRA_TILES[variant]].some((t) =>
    t.workgroupX === tiles.workgroupX && t.workgroupY === tiles.workgroupY && t.tileK === tiles.tileK);
}

/**
 * Outputs per thread (fixed in the shaders): rows × columns. blocked and tiled: 4×4; vec4: 8×4. A
 * workgroup covers rows·workgroupY rows × columns·workgroupX columns of C.
 */
export function matmulThreadBlock(variant: MatmulVariant): { rows: number; columns: number } {
  return variant === 'vec4' ? { rows: 8, columns: 4 } : { rows: 4, columns: 4 };
}

/**
 * Whether the 'vec4' variant can use its vec4 entry point: every operand's contiguous (leading) dimension
 * (A: K, or M when transA; B: N, or K when transB; C: N) and every offset and run stride (the latter only
 * when R > 1) are multiples of 4. Otherwise it builds `matmulScalar` (label `matmul.vec4.scalar`): same
 * tiles, same summation order, element loads — correct for any shape, bit-identical where both apply.
 */
export function matmulVec4Aligned(io: Pick<MatmulIo, 'R' | 'M' | 'N' | 'K' | 'transA' | 'transB' | 'layout'>): boolean {
  const { R, M, N, K } = io;
  const lead = [io.transA ? M : K, io.transB ? K : N, N];
  const sizes = [M * K, K * N, M * N];
  const layouts = [io.layout?.a, io.layout?.b, io.layout?.c];
  return lead.every((d) => d % 4 === 0) && layouts.every((l, i) => {
    const { offset, runStride } = l ?? { offset: 0, runStride: sizes[i] };
    return offset % 4 === 0 && (R === 1 || runStride % 4 === 0);
  });
}

/** Floating-point operations of one run of an M×K by K×N product (a multiply and an add per term). */
export function matmulFlops(M: number, N: number, K: number): number {
  return 2 * M * N * K;
}

export interface MatmulIo {
  /** op(A): A is [R, M, K], or [R, K, M] when transA. */
  a: GPUBuffer;
  /** op(B): B is [R, K, N], or [R, N, K] when transB. */
  b: GPUBuffer;
  /** C is [R, M, N]; overwritten, or added to when accumulate. */
  c: GPUBuffer;
  R: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  variant?: MatmulVariant;
  /** Overrides of the variant's tile sizes (field by field, over `ctx.preferences.matmulTiles` or the defaults). */
  tiles?: Partial<MatmulTiles>;
  /**
   * Where each run's matrix lives when it is not a dense [R, …] buffer: run r's A starts at element
   * `a.offset + r·a.runStride` (likewise B, C). Weights and their gradients inside the model's flat
   * [R, P] parameter buffers use the tensor's offset and stride P. Defaults: offset 0, stride = size.
   */
  layout?: { a?: OperandLayout; b?: OperandLayout; c?: OperandLayout };
}

export interface OperandLayout { offset: number; runStride: number }

/**
 * For every run r < R: C[r] = op(A[r]) · op(B[r]) (+ C[r] when accumulate), with
 * op(A) = A [M, K] or Aᵀ for A stored [K, M] (transA), op(B) = B [K, N] or Bᵀ for B stored [N, K] (transB).
 * All row-major, runs contiguous. The linear layer with X [rows, in], W stored [out, in], Y [rows, out]:
 *   forward   Y = X · Wᵀ     → matmul({ a: X, b: W, M: rows, K: in, N: out, transB: true })
 *   backward  dX = dY · W    → matmul({ a: dY, b: W, M: rows, K: out, N: in })
 *             dW (+)= dYᵀ·X  → matmul({ a: dY, b: X, M: out, K: rows, N: in, transA: true, accumulate })
 * Bindings: 0 = uniform Params { M, N, K, pad: u32 }, 1 = A (read), 2 = B (read), 3 = C (read_write).
 * Grid: [ceil(N / 4·workgroupX), ceil(M / rows·workgroupY), R] (rows = 4, or 8 for vec4:
 * `matmulThreadBlock`); every M, N, K ≥ 1 works.
 */
export async function matmul(ctx: GpuContext, io: MatmulIo): Promise<Dispatch> {
  const variant = io.variant ?? ctx.preferences.matmul;
  // Explicit tiles first, then the measured choice for this adapter (autotune), then the defaults.
  const base = ctx.preferences.matmulTiles?.[variant] ?? MATMUL_DEFAULT_TILES[variant];
  const tiles: MatmulTiles = {
    workgroupX: io.tiles?.workgroupX ?? base.workgroupX,
    workgroupY: io.tiles?.workgroupY ?? base.workgroupY,
    tileK: io.tiles?.tileK ?? base.tileK,
  };
  const { R, M, N, K } = io;
  for (const [name, value] of Object.entries({ R, M, N, K })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`matmul: ${name} must be a positive integer, got ${value}`);
  }
  if (R * Math.max(M * K, K * N, M * N) >= 2 ** 32) throw new Error('matmul: buffers exceed 2^32 elements (u32 indices)');
  const operands = [['a', io.a, M * K, io.layout?.a], ['b', io.b, K * N, io.layout?.b], ['c', io.c, M * N, io.layout?.c]] as const;
  const placement: number[] = [];
  for (const [name, buffer, size, layout] of operands) {
    const { offset, runStride } = layout ?? { offset: 0, runStride: size };
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(runStride) || runStride < (R > 1 ? size : 0)) {
      throw new Error(`matmul: operand ${name} layout ${JSON.stringify(layout)} must have an offset ≥ 0 and a run stride ≥ its size ${size}`);
    }
    const elements = offset + (R - 1) * runStride + size;
    if (elements >= 2 ** 32) throw new Error('matmul: buffers exceed 2^32 elements (u32 indices)');
    if (buffer.size < 4 * elements) throw new Error(`matmul: buffer ${name} has ${buffer.size} B, needs ${4 * elements} (R=${R} M=${M} N=${N} K=${K})`);
    placement.push(offset, runStride);
  }
  validateTiles(ctx, variant, tiles);

  const scalar = variant === 'vec4' && !matmulVec4Aligned(io);
  const label = `matmul.${variant}${scalar ? '.scalar' : ''}`;
  const constants: Record<string, number | boolean> = {
    TRANS_A: io.transA ?? false,
    TRANS_B: io.transB ?? false,
    ACCUMULATE: io.accumulate ?? false,
    WG_X: tiles.workgroupX,
    WG_Y: tiles.workgroupY,
  };
  if (variant !== 'blocked') constants.TILE_K = tiles.tileK;
  const block = matmulThreadBlock(variant);
  return makeDispatch(ctx, {
    label, shader: `matmul_${variant}`, entryPoint: scalar ? 'matmulScalar' : 'matmul', constants,
    bindings: [ctx.arena.uniform(`${label}.params`, new Uint32Array([M, N, K, 0, ...placement, 0, 0])), io.a, io.b, io.c],
    workgroups: [ceilDiv(N, block.columns * tiles.workgroupX), ceilDiv(M, block.rows * tiles.workgroupY), R],
  });
}

function validateTiles(ctx: GpuContext, variant: MatmulVariant, tiles: MatmulTiles): void {
  const limits = ctx.device.limits;
  const { workgroupX, workgroupY, tileK } = tiles;
  const fail = (why: string) => {
    throw new Error(`matmul.${variant}: tiles ${JSON.stringify(tiles)} ${why}`);
  };
  if (![workgroupX, workgroupY].every((v) => Number.isInteger(v) && v >= 1)) fail('need positive integer workgroup sizes');
  if (workgroupX > limits.maxComputeWorkgroupSizeX || workgroupY > limits.maxComputeWorkgroupSizeY
    || workgroupX * workgroupY > limits.maxComputeInvocationsPerWorkgroup) fail('exceed the workgroup size limits');
  if (variant === 'tiled') {
    if (!Number.isInteger(tileK) || tileK < 1) fail('need a positive integer tileK');
    const bytes = 4 * tileK * 4 * (workgroupX + workgroupY);
    if (bytes > limits.maxComputeWorkgroupStorageSize) fail(`need ${bytes} B of workgroup memory (limit ${limits.maxComputeWorkgroupStorageSize})`);
  }
  if (variant === 'vec4') {
    if (!Number.isInteger(tileK) || tileK < 4 || tileK % 4 !== 0) fail('need a tileK that is a positive multiple of 4');
    const bytes = 16 * tileK * (2 * workgroupY + workgroupX);
    if (bytes > limits.maxComputeWorkgroupStorageSize) fail(`need ${bytes} B of workgroup memory (limit ${limits.maxComputeWorkgroupStorageSize})`);
  }
}

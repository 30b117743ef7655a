import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';
import { ropeTables } from './ropeTables';

export { ropeTables } from './ropeTables';

/** Must match WORKGROUP_SIZE in shaders/rope.wgsl. */
const WORKGROUP_SIZE = 256;

/** R runs of B sequences of T positions; C = H · headDim channels per row. */
export interface RopeDims { R: number; B: number; T: number; H: number; headDim: number }

/** The cos/sin tables on the GPU: [T, headDim/2] each, shared by every run and every rope dispatch. */
export interface RopeTableBuffers { cos: GPUBuffer; sin: GPUBuffer; T: number; headDim: number }

/**
 * Uploads `ropeTables(T, headDim, base)` once (from ctx.arena; the caller owns and frees the buffers).
 * Tables built for T positions serve any sequence length ≤ T with the same headDim.
 */
export function uploadRopeTables(ctx: GpuContext, T: number, headDim: number, base = 10000): RopeTableBuffers {
  const { cos, sin } = ropeTables(T, headDim, base);
  return { cos: ctx.arena.upload('rope.cos', cos), sin: ctx.arena.upload('rope.sin', sin), T, headDim };
}

async function rope(
  ctx: GpuContext, label: string, entryPoint: 'forward' | 'backward',
  io: { x: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer } & RopeDims,
): Promise<Dispatch> {
  const { R, B, T, H, headDim } = io;
  for (const [name, value] of Object.entries({ R, B, T, H, headDim })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${label}: ${name} must be a positive integer, got ${value}`);
  }
  if (headDim % 2 !== 0) throw new Error(`${label}: headDim must be even for rotary embeddings, got ${headDim}`);
  const half = headDim / 2;
  const N = B * T;
  const pairs = R * N * H * half;
  if (io.x.size < pairs * 2 * 4) {
    throw new Error(`${label}: buffer x holds ${io.x.size} bytes, needs ${pairs * 8} ([R=${R}, B·T=${N}, C=${H * headDim}] f32)`);
  }
  for (const [name, buffer] of [['cos', io.cos], ['sin', io.sin]] as const) {
    if (buffer.size < T * half * 4) {
      throw new Error(`${label}: table ${name} holds ${buffer.size} bytes, needs ${T * half * 4} ([T=${T}, headDim/2=${half}] f32)`);
    }
  }
  const [x, y] = grid2d(ceilDiv(pairs, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label, shader: 'rope', entryPoint,
    bindings: [ctx.arena.uniform(`${label}.params`, new Uint32Array([pairs, T, H, half])), io.x, io.cos, io.sin],
    workgroups: [x, y, 1],
  });
}

/**
 * RoPE forward, IN PLACE on x (Hugging Face LLaMA rotate-half convention).
 * x: [R, B·T, C], C = H·headDim, head h = channels [h·headDim, (h+1)·headDim); row n has position t = n mod T.
 * cos, sin: [T', headDim/2] tables from `ropeTables` / `uploadRopeTables` with T' ≥ T (no R dimension).
 * For i < headDim/2: x[i] ← x[i]·cos θ − x[i+hd/2]·sin θ, x[i+hd/2] ← x[i+hd/2]·cos θ + x[i]·sin θ,
 * θ = t · base^(−2i/headDim). Throws if headDim is odd.
 */
export function ropeForward(ctx: GpuContext, io: { x: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer } & RopeDims): Promise<Dispatch> {
  return rope(ctx, 'ropeForward', 'forward', io);
}

/**
 * RoPE backward, IN PLACE on the gradient dx (same layouts as `ropeForward`): the inverse rotation
 * (sin → −sin), which is the forward's transpose since RoPE is linear. Throws if headDim is odd.
 */
export function ropeBackward(ctx: GpuContext, io: { x: GPUBuffer; cos: GPUBuffer; sin: GPUBuffer } & RopeDims): Promise<Dispatch> {
  return rope(ctx, 'ropeBackward', 'backward', io);
}

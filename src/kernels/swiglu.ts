import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

/** Must match WORKGROUP_SIZE in shaders/swiglu.wgsl. */
const WORKGROUP_SIZE = 256;

function checkCount(label: string, count: number, buffers: Record<string, GPUBuffer>): void {
  if (!Number.isInteger(count) || count < 1) throw new Error(`${label}: count must be a positive integer, got ${count}`);
  for (const [name, buffer] of Object.entries(buffers)) {
    if (buffer.size < count * 4) throw new Error(`${label}: buffer ${name} holds ${buffer.size} bytes, needs ${count * 4}`);
  }
}

/**
 * SwiGLU forward: h = silu(gate) · up, silu(g) = g · sigmoid(g) (overflow-free sigmoid).
 * gate, up, h: [R, N, F]; elementwise, so `count` = R·N·F (all runs together). h must not alias the inputs.
 */
export async function swigluForward(
  ctx: GpuContext, io: { gate: GPUBuffer; up: GPUBuffer; h: GPUBuffer; count: number },
): Promise<Dispatch> {
  const label = 'swigluForward';
  checkCount(label, io.count, { gate: io.gate, up: io.up, h: io.h });
  const [x, y] = grid2d(ceilDiv(io.count, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label, shader: 'swiglu', entryPoint: 'forward',
    bindings: [ctx.arena.uniform(`${label}.params`, new Uint32Array([io.count])), io.gate, io.up, io.h],
    workgroups: [x, y, 1],
  });
}

/**
 * SwiGLU backward (overwrites dGate and dUp):
 * dGate = dh · up · σ(g) · (1 + g·(1 − σ(g))),  dUp = dh · silu(g).
 * dh, gate, up, dGate, dUp: [R, N, F]; `count` = R·N·F. Outputs must not alias the inputs.
 */
export async function swigluBackward(
  ctx: GpuContext,
  io: { dh: GPUBuffer; gate: GPUBuffer; up: GPUBuffer; dGate: GPUBuffer; dUp: GPUBuffer; count: number },
): Promise<Dispatch> {
  const label = 'swigluBackward';
  checkCount(label, io.count, { dh: io.dh, gate: io.gate, up: io.up, dGate: io.dGate, dUp: io.dUp });
  const [x, y] = grid2d(ceilDiv(io.count, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label, shader: 'swiglu', entryPoint: 'backward',
    bindings: [ctx.arena.uniform(`${label}.params`, new Uint32Array([io.count])), io.dh, io.gate, io.up, io.dGate, io.dUp],
    workgroups: [x, y, 1],
  });
}

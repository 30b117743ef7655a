import type { GpuContext } from '../gpu/context';
import { ceilDiv, grid2d, makeDispatch, type Dispatch } from '../gpu/dispatch';

const WORKGROUP_SIZE = 256;

/** out = a + b over `count` floats (all runs together: elementwise kernels fold R into the count). */
export async function residualAdd(
  ctx: GpuContext, io: { a: GPUBuffer; b: GPUBuffer; out: GPUBuffer; count: number },
): Promise<Dispatch> {
  const [x, y] = grid2d(ceilDiv(io.count, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label: 'residualAdd', shader: 'residual', entryPoint: 'add',
    bindings: [ctx.arena.uniform('residualAdd.params', new Uint32Array([io.count])), io.a, io.b, io.out],
    workgroups: [x, y, 1],
  });
}

/** target += addend: sums a gradient that reaches a tensor along two paths (the residual backward). */
export async function accumulate(
  ctx: GpuContext, io: { target: GPUBuffer; addend: GPUBuffer; count: number },
): Promise<Dispatch> {
  const [x, y] = grid2d(ceilDiv(io.count, WORKGROUP_SIZE));
  return makeDispatch(ctx, {
    label: 'accumulate', shader: 'residual', entryPoint: 'accumulate',
    bindings: [ctx.arena.uniform('accumulate.params', new Uint32Array([io.count])), io.target, io.addend],
    workgroups: [x, y, 1],
  });
}

import type { GpuContext } from '../gpu/context';
import { readFloats } from '../gpu/arena';
import { runDispatches, type Dispatch } from '../gpu/dispatch';

/** One row of the self-test table: a kernel on one shape against the CPU reference. */
export interface KernelCheck {
  kernel: string;
  shape: string;
  maxAbsError: number;
  tolerance: number;
  pass: boolean;
}

/**
 * Largest |gpu − reference|. NaN anywhere (or a length mismatch) counts as an infinite error, so a
 * kernel that writes garbage can never pass. Checks choose input scales that keep outputs O(1), so
 * an absolute tolerance is meaningful.
 */
export function maxAbsError(gpu: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (gpu.length !== reference.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < gpu.length; i++) {
    const error = Math.abs(gpu[i] - reference[i]);
    if (!(error <= worst)) worst = Number.isNaN(error) ? Infinity : error;
  }
  return worst;
}

export function check(kernel: string, shape: string, errors: number[], tolerance: number): KernelCheck {
  const maxError = errors.reduce((a, b) => (Number.isNaN(b) || Number.isNaN(a) ? Infinity : Math.max(a, b)), 0);
  return { kernel, shape, maxAbsError: maxError, tolerance, pass: maxError <= tolerance };
}

export function formatShape(dims: object): string {
  return Object.entries(dims as Record<string, number>).map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * A scratch space for one check: buffers are created in a child arena and freed afterwards,
 * so the self-test can run in the page without leaking GPU memory.
 */
export class CheckScope {
  private readonly buffers: GPUBuffer[] = [];
  constructor(readonly ctx: GpuContext) {}

  upload(label: string, data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const buffer = this.ctx.arena.upload(label, data);
    this.buffers.push(buffer);
    return buffer;
  }

  zeros(label: string, count: number): GPUBuffer {
    const buffer = this.ctx.arena.buffer(label, count * 4);
    this.buffers.push(buffer);
    return buffer;
  }

  uniform(label: string, words: number[] | Uint32Array): GPUBuffer {
    const buffer = this.ctx.arena.uniform(label, words instanceof Uint32Array ? words : new Uint32Array(words));
    this.buffers.push(buffer);
    return buffer;
  }

  run(dispatches: Dispatch[]): void {
    runDispatches(this.ctx, dispatches, 'selftest');
  }

  read(buffer: GPUBuffer, count?: number): Promise<Float32Array> {
    return readFloats(this.ctx.device, buffer, count);
  }

  dispose(): void {
    for (const buffer of this.buffers) this.ctx.arena.destroy(buffer);
    this.buffers.length = 0;
  }
}

/** Runs `body` with a scope whose buffers are always freed. */
export async function withScope<T>(ctx: GpuContext, body: (scope: CheckScope) => Promise<T>): Promise<T> {
  const scope = new CheckScope(ctx);
  try {
    return await body(scope);
  } finally {
    scope.dispose();
  }
}

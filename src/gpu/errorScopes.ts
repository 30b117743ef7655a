import { GpuOperationError } from './errors';

/**
 * Runs `fn` inside validation, out-of-memory and internal error scopes and throws a
 * GpuOperationError naming `operation` if any of them caught something. Used around
 * allocation and pipeline creation (not inside a training step: popping scopes waits on the GPU).
 */
export async function withErrorScopes<T>(device: GPUDevice, operation: string, fn: () => T): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = fn();
  } finally {
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const internal = await device.popErrorScope();
    const first = oom ? ['out-of-memory', oom] as const
      : validation ? ['validation', validation] as const
      : internal ? ['internal', internal] as const : undefined;
    if (first) throw new GpuOperationError(first[0], operation, first[1].message);
  }
  return result;
}

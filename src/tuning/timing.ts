/**
 * Autotune's clocks: timing back-to-back encodings of a kernel set in one compute pass, by GPU timestamps
 * around the pass where the device has 'timestamp-query', else by wall time around submit →
 * onSubmittedWorkDone; how many samples a candidate gets and how its workload is repeated per sample.
 */
import type { Dispatch } from '../gpu/dispatch';

export interface Sample {
  /** GPU time between the pass's timestamps (ms), when the device has them. */
  gpu?: number;
  /** Wall time from submit to onSubmittedWorkDone (ms). */
  wall: number;
}

export interface Timer {
  /** Times `repeat` back-to-back encodings of `dispatches` in one compute pass, one submission. */
  time(dispatches: readonly Dispatch[], repeat: number): Promise<Sample>;
  destroy(): void;
}

/** Samples (median) per candidate still in the race. */
export const SAMPLES = 3;
/** Aim for at least this much GPU time per sample, by repeating the workload inside one submission. */
export const TARGET_SAMPLE_MS = 4;
export const MAX_REPEAT = 64;

/** A GPU time that cannot be right (zero, negative, or far beyond the wall time around it). */
export function plausible(s: Sample): boolean {
  return s.gpu !== undefined && s.gpu > 0 && s.gpu <= 10 * s.wall + 1;
}

/** The sample's time: the GPU's where plausible, else the wall clock's. */
export function sampleMs(s: Sample): number {
  return plausible(s) ? s.gpu! : s.wall;
}

/** Runs `fn` in a validation error scope and throws the scope's error (a candidate that cannot run here). */
export async function withValidation<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const error = await device.popErrorScope();
    if (error) throw new Error(error.message);
  }
  return result;
}

export function wallTimer(device: GPUDevice): Timer {
  return {
    async time(dispatches, repeat) {
      const encoder = device.createCommandEncoder({ label: 'autotune' });
      const pass = encoder.beginComputePass({ label: 'autotune' });
      for (let i = 0; i < repeat; i++) encodeInto(pass, dispatches);
      pass.end();
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return { wall: performance.now() - start };
    },
    destroy() {},
  };
}

export function timestampTimer(device: GPUDevice): Timer {
  const querySet = device.createQuerySet({ label: 'autotune', type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ label: 'autotune.resolve', size: 16, usage: 0x0200 /* QUERY_RESOLVE */ | 0x0004 /* COPY_SRC */ });
  const read = device.createBuffer({ label: 'autotune.read', size: 16, usage: 0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */ });
  return {
    async time(dispatches, repeat) {
      const encoder = device.createCommandEncoder({ label: 'autotune' });
      const pass = encoder.beginComputePass({
        label: 'autotune', timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      });
      for (let i = 0; i < repeat; i++) encodeInto(pass, dispatches);
      pass.end();
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, 16);
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(0x0001 /* READ */);
      const wall = performance.now() - start;
      const [begin, end] = new BigInt64Array(read.getMappedRange().slice(0));
      read.unmap();
      return { gpu: Number(end - begin) / 1e6, wall };
    },
    destroy() {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    },
  };
}

function encodeInto(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/** The median (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

import type { GpuContext } from './context';
import type { OverrideConstants } from './registry';

/**
 * A compute dispatch with everything bound: built once when a model (or a test) is built,
 * then encoded every step without creating anything.
 */
export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: readonly [number, number, number];
}

export interface DispatchSpec {
  label: string;
  shader: string;
  entryPoint: string;
  constants?: OverrideConstants;
  /** Buffers in binding order: `@group(0) @binding(i)` receives `bindings[i]`. */
  bindings: readonly GPUBuffer[];
  workgroups: readonly [number, number, number];
}

export async function makeDispatch(ctx: GpuContext, spec: DispatchSpec): Promise<Dispatch> {
  const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  for (const count of spec.workgroups) {
    if (!Number.isInteger(count) || count < 1 || count > limit) {
      throw new Error(`${spec.label}: workgroup count ${count} is outside 1..${limit} (grid ${spec.workgroups.join('×')})`);
    }
  }
  const pipeline = await ctx.registry.pipeline(spec.shader, spec.entryPoint, spec.constants);
  const bindGroup = ctx.device.createBindGroup({
    label: spec.label,
    layout: pipeline.getBindGroupLayout(0),
    entries: spec.bindings.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { label: spec.label, pipeline, bindGroup, workgroups: spec.workgroups };
}

/** Encodes dispatches in order in one compute pass (storage writes are visible between dispatches). */
export function encodeDispatches(ctx: GpuContext, encoder: GPUCommandEncoder, dispatches: readonly Dispatch[], label = 'step'): void {
  const pass = encoder.beginComputePass({ label, timestampWrites: ctx.profiler?.passTimestamps(label) });
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
}

/** Encodes and submits dispatches as one command buffer. */
export function runDispatches(ctx: GpuContext, dispatches: readonly Dispatch[], label = 'run'): void {
  const encoder = ctx.device.createCommandEncoder({ label });
  encodeDispatches(ctx, encoder, dispatches, label);
  ctx.device.queue.submit([encoder.finish()]);
}

/**
 * Splits `count` workgroups over x and y so that neither exceeds the per-dimension limit
 * (65535 by default). Shaders rebuild the linear index as `wid.x + wid.y * nwg.x`.
 */
export function grid2d(count: number, limit = 65535): [number, number] {
  if (count <= limit) return [Math.max(1, count), 1];
  const y = Math.ceil(count / limit);
  return [Math.ceil(count / y), y];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

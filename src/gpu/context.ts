import { DeviceLostError, WebGpuUnavailableError, noAdapterHelp } from './errors';
import { KernelRegistry } from './registry';
import { BufferArena } from './arena';
import { Profiler } from './profiler';

/** Optional features the engine uses when the adapter has them. */
const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];

/** Limits the engine raises to the adapter's maximum (kernels read the granted value, never assume). */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

/**
 * Which kernel variant to use where several compute the same thing. Software adapters (SwiftShader)
 * pay dearly for workgroup barriers, so they prefer one thread per row and register-blocked matmul;
 * real GPUs prefer workgroup-cooperative rows and shared-memory tiles. Builders read these when they
 * build; `src/tuning/autotune.ts` replaces the adapter's guess by a start-up measurement.
 */
/**
 * Tile sizes (WGSL override constants). A workgroup has `workgroupX × workgroupY` threads, each computing
 * a 4×4 block of C (8×4 for 'vec4'), so it covers 4·workgroupY (8·workgroupY) rows × 4·workgroupX columns.
 * `tileK` (tiled and vec4) is the k-slice staged in workgroup memory per step: 4·tileK·4·(workgroupX +
 * workgroupY) bytes for tiled, 16·tileK·(workgroupX + 2·workgroupY) for vec4 (tileK a multiple of 4).
 */
export interface MatmulTiles {
  workgroupX: number;
  workgroupY: number;
  tileK: number;
}

export interface KernelPreferences {
  /** Row-wise reductions (RMSNorm, softmax rows of attention and of the loss). */
  rows: 'workgroup' | 'serial';
  matmul: 'blocked' | 'tiled' | 'vec4';
  /**
   * Measured tile sizes per matmul variant (only variants whose other tile configurations were timed);
   * a variant without an entry uses MATMUL_DEFAULT_TILES. An explicit `tiles` argument still wins.
   */
  matmulTiles?: Partial<Record<'blocked' | 'tiled' | 'vec4', MatmulTiles>>;
  /**
   * True: the row kernels that have a subgroup variant (RMSNorm forward and input backward, attention) use
   * it instead of `rows`. Set only by a measurement on a device with the 'subgroups' feature; builders
   * ignore it on a device without the feature. Absent (the default, and every choice cached before it
   * existed) means false.
   */
  subgroupRows?: boolean;
}

/** Whether the device has the 'subgroups' feature (the row kernels' 'subgroup' variants need it). */
export function hasSubgroups(ctx: Pick<GpuContext, 'device'>): boolean {
  return ctx.device.features.has('subgroups');
}

/** Whether a row kernel with a 'subgroup' variant builds it by default: `preferences.subgroupRows` and the feature. */
export function prefersSubgroupRows(ctx: Pick<GpuContext, 'device' | 'preferences'>): boolean {
  return ctx.preferences.subgroupRows === true && hasSubgroups(ctx);
}

export function defaultKernelPreferences(adapter: AdapterReport): KernelPreferences {
  return adapter.isFallbackAdapter ? { rows: 'serial', matmul: 'blocked' } : { rows: 'workgroup', matmul: 'tiled' };
}

/** Everything a kernel needs: the device, what it can do, compiled pipelines and buffers. */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterReport;
  hasTimestampQuery: boolean;
  hasF16: boolean;
  registry: KernelRegistry;
  arena: BufferArena;
  preferences: KernelPreferences;
  profiler: Profiler | undefined;
  /**
   * GPU errors no error scope caught (most recent last, at most 20). Kept so a panel or a test can show
   * them; `onUncapturedError` also sees each one as it happens. They are never swallowed silently.
   */
  uncapturedErrors: string[];
  /** Resolves (never rejects) when the device is lost; `destroy()` resolves it with reason 'destroyed'. */
  lost: Promise<DeviceLostError>;
  destroy(): void;
}

export interface ContextOptions {
  /** The WebGPU entry point: `navigator.gpu` in a page or worker, `nodeGpu()` in Node. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Set to false to leave the timestamp profiler off even when the feature exists. */
  profile?: boolean;
  onUncapturedError?: (message: string) => void;
}

function defaultGpu(): GPU | undefined {
  return typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined;
}

/** One way to get a device in a page, a Worker and Node: only where the `GPU` object comes from differs. */
export async function createGpuContext(options: ContextOptions = {}): Promise<GpuContext> {
  const environment = typeof window === 'undefined' && typeof (globalThis as { importScripts?: unknown }).importScripts === 'undefined'
    && typeof process !== 'undefined' ? 'node' : 'browser';
  const gpu = options.gpu ?? defaultGpu();
  if (!gpu) throw new WebGpuUnavailableError(noAdapterHelp(environment));
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError(noAdapterHelp(environment));

  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'meap-engine' });

  const uncapturedErrors: string[] = [];
  device.addEventListener('uncapturederror', (event) => {
    const message = `${(event as GPUUncapturedErrorEvent).error.constructor.name}: ${(event as GPUUncapturedErrorEvent).error.message}`;
    uncapturedErrors.push(message);
    if (uncapturedErrors.length > 20) uncapturedErrors.shift();
    options.onUncapturedError?.(message);
  });
  const lost = device.lost.then((info) => new DeviceLostError(info.reason, info.message));
  const report = reportAdapter(adapter, device);
  const hasTimestampQuery = device.features.has('timestamp-query');
  const registry = new KernelRegistry(device);
  const arena = new BufferArena(device);
  const profiler = hasTimestampQuery && options.profile !== false ? new Profiler(device) : undefined;
  return {
    device,
    adapter: report,
    hasTimestampQuery,
    hasF16: device.features.has('shader-f16'),
    registry,
    arena,
    preferences: defaultKernelPreferences(report),
    profiler,
    uncapturedErrors,
    lost,
    destroy() {
      profiler?.destroy();
      arena.destroyAll();
      device.destroy();
    },
  };
}

function reportAdapter(adapter: GPUAdapter, device: GPUDevice): AdapterReport {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) limits[name] = device.limits[name];
  limits.maxBindGroups = device.limits.maxBindGroups;
  limits.minStorageBufferOffsetAlignment = device.limits.minStorageBufferOffsetAlignment;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    // `isFallbackAdapter` moved from the adapter to its info; read whichever the implementation has.
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter
      ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? info.architecture === 'swiftshader'),
    features: [...device.features].sort(),
    limits,
  };
}

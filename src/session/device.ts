/**
 * The training session's backend (for src/session/session.ts): the GPU context, or the CPU fallback when
 * there is no WebGPU and the page allows it, reported to the page as 'engine'; and noticing when the GPU
 * device is lost (the session then recovers: see its recoverFromDeviceLoss).
 */
import type { GpuContext } from '../gpu/context';
import { autotune, kernelChoiceReport, type KernelChoiceReport } from '../tuning/autotune';
import { noAdapterHelp, WebGpuUnavailableError } from '../gpu/errors';
import type { FromTrainer, TrainingState } from './protocol';

export type Backend = { kind: 'webgpu'; ctx: GpuContext } | { kind: 'cpu' };

export interface DeviceHooks {
  /** Acquires the GPU; throws WebGpuUnavailableError when there is no adapter. */
  createContext(): Promise<GpuContext>;
  post(message: FromTrainer): void;
  setState(state: TrainingState): void;
  /** The device of the backend in use was lost (the backend is already gone and `deviceLost` set). */
  onLost(lost: { message: string }): void;
}

export class SessionDevice {
  backend: Backend | undefined;
  private allowCpuFallback = true;
  private cpuNotice: string | null = null;
  /** The kernel variants chosen for this adapter by measurement (src/tuning/autotune.ts), shown by the device panel. */
  private kernels: KernelChoiceReport | undefined;
  /** Set from the device's loss until the recovery task has run. */
  deviceLost = false;
  /** Set by the session's dispose: a device lost from then on is not recovered. */
  disposed = false;

  constructor(private readonly hooks: DeviceHooks) {}

  async init(allowCpuFallback: boolean): Promise<void> {
    this.allowCpuFallback = allowCpuFallback;
    if (!this.backend || (this.backend.kind === 'cpu' && !allowCpuFallback)) await this.acquire();
    this.report();
  }

  report(): void {
    const backend = this.backend;
    if (!backend) return;
    if (backend.kind === 'webgpu') {
      this.hooks.post({ type: 'engine', engine: 'webgpu', adapter: backend.ctx.adapter, notice: null,
        ...(this.kernels ? { kernels: this.kernels } : {}) });
    } else {
      this.hooks.post({ type: 'engine', engine: 'cpu', adapter: null, notice: this.cpuNotice });
    }
  }

  /** The backend, acquired (and reported) now if no 'init' came first; undefined (error posted) when there is none. */
  async require(): Promise<Backend | undefined> {
    if (!this.backend) {
      await this.acquire();
      this.report();
    }
    return this.backend;
  }

  private async acquire(): Promise<void> {
    this.backend = undefined;
    let ctx: GpuContext;
    try {
      ctx = await this.hooks.createContext();
    } catch (error) {
      const problem = error instanceof WebGpuUnavailableError
        ? noAdapterHelp('browser')
        : `WebGPU could not start: ${error instanceof Error ? error.message : String(error)}`;
      if (this.allowCpuFallback) {
        this.backend = { kind: 'cpu' };
        this.cpuNotice = `${problem} Meanwhile the playground trains on the CPU (the float64 reference model), ` +
          'which is slow and takes studies up to the size of the tiny preset.';
      } else {
        this.hooks.post({ type: 'error', message: problem });
        this.hooks.setState('failed');
      }
      return;
    }
    await this.adopt(ctx);
  }

  async adopt(ctx: GpuContext): Promise<void> {
    this.backend = { kind: 'webgpu', ctx };
    // Pick the fastest kernel variants before any model is built (cached per adapter); on failure the
    // adapter's default guess stays in ctx.preferences.
    this.kernels = await autotune(ctx).then(kernelChoiceReport, () => undefined);
    ctx.lost.then((lost) => {
      if (this.disposed || this.backend?.kind !== 'webgpu' || this.backend.ctx !== ctx) return;
      // The engine stays until the recovery replaces it (its step is still the study's step; its buffers
      // went with the device). Commands that need it are refused meanwhile (see the session's process).
      this.backend = undefined;
      this.deviceLost = true;
      this.hooks.onLost(lost);
    });
  }

  /** Whether the device is (or, within a moment, turns out to be) lost: readbacks fail before `lost` settles. */
  async lost(): Promise<boolean> {
    if (this.deviceLost) return true;
    const backend = this.backend;
    if (backend?.kind !== 'webgpu') return false;
    const lost = await Promise.race([backend.ctx.lost.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100))]);
    return lost || this.deviceLost;
  }
}

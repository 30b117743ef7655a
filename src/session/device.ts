/**
 * The training session's backend (for src/session/session.ts): the GPU context, or the CPU fallback when
 * there is no WebGPU and the page allows it, reported to the page as 'engine'; and noticing when the GPU
 * device is lost (the session then recovers: see its recoverFromDeviceLoss).
 */
import type { GpuContext } from '../gpu/context';
import {
  adapterKey, autotune, defaultAutotuneCache, kernelChoiceReport, parseAutotuneResult, preferencesOf,
  type AutotuneResult, type KernelChoiceReport,
} from '../tuning/autotune';
import { noAdapterHelp, WebGpuUnavailableError } from '../gpu/errors';
import type { FromTrainer, ToTrainer, TrainingState } from './protocol';
import type { KernelCheck } from '../selftest/harness';

/** Commands that need a live engine: refused while the session recovers from a device loss. */
const ENGINE_COMMANDS = new Set<ToTrainer['type']>(['start', 'step', 'probe', 'analyseAttention', 'generate', 'checkpoint', 'exportModel', 'loadModel', 'reset', 'finetune']);

export type Backend = { kind: 'webgpu'; ctx: GpuContext } | { kind: 'cpu' };

export interface DeviceHooks {
  /** Acquires the GPU; throws WebGpuUnavailableError when there is no adapter. */
  createContext(): Promise<GpuContext>;
  post(message: FromTrainer): void;
  setState(state: TrainingState): void;
  /** The device of the backend in use was lost (the backend is already gone and `deviceLost` set). */
  onLost(lost: { message: string }): void;
  /**
   * Set: the kernel measurement runs in the background (on a second device of the same adapter, so its error
   * scopes and queue never mix with training's) and the engine is reported at once with the cached choice or
   * the adapter's default guess; the measured choice comes here when it is done. Unset: the measurement runs
   * before the engine is reported (blocking).
   */
  onMeasuredKernels?(ctx: GpuContext, result: AutotuneResult): void;
}

export class SessionDevice {
  backend: Backend | undefined;
  private allowCpuFallback = true;
  private cpuNotice: string | null = null;
  /** The kernel variants chosen for this adapter by measurement (src/tuning/autotune.ts), shown by the device panel. */
  kernels: KernelChoiceReport | undefined;
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

  /** Test hook: destroys the GPU device, as a driver reset would (the session then recovers). */
  simulateLoss(): void {
    if (this.backend?.kind === 'webgpu') {
      this.backend.ctx.device.destroy();
      return;
    }
    this.hooks.post({ type: 'error', message: 'There is no GPU device to lose: this session trains on the CPU.' });
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
    if (this.hooks.onMeasuredKernels) {
      // Start is usable now: the cached choice for this adapter, or its default guess until measured.
      const cached = await Promise.resolve().then(() => defaultAutotuneCache().get(adapterKey(ctx.adapter)))
        .then(parseAutotuneResult, () => undefined);
      if (cached) ctx.preferences = preferencesOf(cached);
      this.kernels = cached ? kernelChoiceReport({ ...cached, fromCache: true }) : undefined;
      if (!cached) this.measureInBackground(ctx, this.hooks.onMeasuredKernels);
    } else {
      // Pick the fastest kernel variants before any model is built (cached per adapter); on failure the
      // adapter's default guess stays in ctx.preferences.
      this.kernels = await autotune(ctx).then(kernelChoiceReport, () => undefined);
    }
    ctx.lost.then((lost) => {
      if (this.disposed || this.backend?.kind !== 'webgpu' || this.backend.ctx !== ctx) return;
      // The engine stays until the recovery replaces it (its step is still the study's step; its buffers
      // went with the device). Commands that need it are refused meanwhile (see the session's process).
      this.backend = undefined;
      this.deviceLost = true;
      this.hooks.onLost(lost);
    });
  }

  /** Times the variants on a device of its own (dry run: `ctx` is untouched; the choice is cached for the adapter). */
  private measureInBackground(ctx: GpuContext, done: (ctx: GpuContext, result: AutotuneResult) => void): void {
    void (async () => {
      let probe: GpuContext | undefined;
      try {
        probe = await this.hooks.createContext();
        if (adapterKey(probe.adapter) !== adapterKey(ctx.adapter)) return;
        const result = await autotune(probe, { dryRun: true });
        if (!this.disposed) done(ctx, result);
      } catch {
        // The default guess stays: it is a tested variant too, only maybe slower.
      } finally {
        probe?.destroy();
      }
    })();
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

/**
 * While the session recovers from a device loss, a command that needs the engine gets its reply now, saying
 * so (a request its own answer, anything else an 'error'); 'start' and 'checkpoint' are dropped (the recovery
 * continues and saves by itself). Returns false for the commands that may run.
 */
export function refusedWhileLost(message: ToTrainer, post: (message: FromTrainer) => void): boolean {
  if (!ENGINE_COMMANDS.has(message.type)) return false;
  const error = 'The GPU device was lost; try again once the study is rebuilt.';
  switch (message.type) {
    case 'exportModel': post({ type: 'modelFiles', requestId: message.requestId, files: null, error }); break;
    case 'analyseAttention': post({ type: 'attentionAnalysis', requestId: message.requestId, step: 0, records: null, error }); break;
    case 'loadModel': post({ type: 'modelLoaded', requestId: message.requestId, run: message.run, step: 0, error }); break;
    case 'start': case 'checkpoint': break;
    default: post({ type: 'error', message: `Not now (${message.type}): the GPU device was lost and the study is being rebuilt.` });
  }
  return true;
}

/** The kernel self-test on the session's backend, each check reported as it completes, then 'selftestDone'. */
export async function selfTestBackend(
  backend: Backend, post: (message: FromTrainer) => void,
  run: (ctx: GpuContext, onCheck: (check: KernelCheck) => void) => Promise<KernelCheck[]>,
): Promise<void> {
  if (backend.kind !== 'webgpu') {
    return post({ type: 'error', message: 'The kernel self-test needs WebGPU; this session trains on the CPU fallback, which runs no kernels.' });
  }
  const start = performance.now();
  const results = await run(backend.ctx, (check) => post({ type: 'check', check }));
  const failed = results.filter((r) => !r.pass).length;
  post({ type: 'selftestDone', passed: results.length - failed, failed, milliseconds: performance.now() - start });
}

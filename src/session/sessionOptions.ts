/** How a TrainingSession (src/session/session.ts) is wired: where it posts, how it gets a device and engines. */
import type { GpuContext } from '../gpu/context';
import type { StudyEngine } from '../engine/studyEngine';
import type { StudyConfig } from '../config/presets';
import type { FromTrainer } from './protocol';
import type { KernelCheck } from '../selftest/harness';
import type { CheckpointStore } from './checkpointStore';
import { Study } from '../engine/gpuStudy';
import { CpuStudy } from '../engine/cpuStudy';

export interface SessionOptions {
  /** Sends a message to the page; `transfer` lists the ArrayBuffers to move rather than copy. */
  post(message: FromTrainer, transfer?: Transferable[]): void;
  /** Acquires the GPU; throws WebGpuUnavailableError when there is no adapter. */
  createContext(): Promise<GpuContext>;
  /** Builds the GPU engine (default: Study.create); `base`: a fine-tuning stage's pretrained weights (src/session/finetune.ts). */
  createGpuEngine?(ctx: GpuContext, config: StudyConfig, base?: (baseArm: number, seed: number) => Float32Array): Promise<StudyEngine>;
  /** Builds the CPU engine (default: CpuStudy.create). */
  createCpuEngine?(config: StudyConfig, base?: (baseArm: number, seed: number) => Float32Array): StudyEngine | Promise<StudyEngine>;
  /** The kernel self-test (default: runSelfTest). */
  runSelfTest?(ctx: GpuContext, onCheck: (check: KernelCheck) => void): Promise<KernelCheck[]>;
  /** Training losses are reported at least this often while training (default 200 ms). */
  reportEveryMs?: number;
  /** Where checkpoints are kept between page loads (default: in memory, i.e. for device-loss recovery only). */
  checkpointStore?: CheckpointStore;
  /** Autosave every this many steps (default 100; 'checkpointSettings' changes it). */
  checkpointEvery?: number;
  /** …and after at most this much training time since the last save (default 30 s). */
  checkpointMaxIntervalMs?: number;
  /**
   * Measure the kernel variants in the background (the page's Worker): the engine is reported at once and the
   * measured choice is applied between steps (src/session/pageSchedule.ts). Default: measured before the
   * engine is reported.
   */
  tuneKernelsInBackground?: boolean;
}

/**
 * The study engine of `config` on the session's backend (`ctx`: WebGPU; null: the CPU fallback), by the options'
 * factories or Study / CpuStudy; `base`: a fine-tuning stage's pretrained weights (src/session/finetune.ts).
 */
export async function createEngine(
  options: SessionOptions, ctx: GpuContext | null, config: StudyConfig, base: ((baseArm: number, seed: number) => Float32Array) | undefined,
): Promise<StudyEngine> {
  return ctx
    ? (options.createGpuEngine ?? ((c, cfg, b) => Study.create(c, cfg, b)))(ctx, config, base)
    : (options.createCpuEngine ?? ((cfg, b) => CpuStudy.create(cfg, b)))(config, base);
}

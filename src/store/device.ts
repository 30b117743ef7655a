/**
 * What the training Worker found: the engine (WebGPU or the CPU fallback), the adapter, and the kernel
 * self-test rows (the same checks as `npm run selftest`, run inside the Worker).
 */
import { create } from 'zustand';
import type { FromTrainer, EngineKind, KernelChoiceReport, AdapterReport, KernelCheck } from '../session/protocol';

/** probing: waiting for the Worker; ready: WebGPU; cpu: CPU fallback; error: no engine at all. */
export type DeviceStatus = 'probing' | 'ready' | 'cpu' | 'error';
export type SelfTestStatus = 'idle' | 'running' | 'done';

export interface SelfTestState {
  status: SelfTestStatus;
  checks: KernelCheck[];
  passed: number;
  failed: number;
  milliseconds: number;
  /** Set when the run stopped on an error instead of finishing. */
  error: string | null;
}

export interface DeviceState {
  status: DeviceStatus;
  engine: EngineKind | null;
  adapter: AdapterReport | null;
  /** The Worker's explanation when it fell back to the CPU (or why there is no engine). */
  notice: string | null;
  /** The error that left the page without an engine. */
  message: string;
  /** WebGPU only: the kernel variants chosen by measurement at start-up. */
  kernels: KernelChoiceReport | null;
  /** WebGPU: whether the kernel measurement still runs in the background (the default guess or cached choice is in use). */
  measuringKernels: boolean;
  /** The step at which the measured choice replaced the one the study started with (null: no switch). */
  kernelsSwitchedAtStep: number | null;
  selfTest: SelfTestState;
}

const idleSelfTest: SelfTestState = { status: 'idle', checks: [], passed: 0, failed: 0, milliseconds: 0, error: null };

export const useDevice = create<DeviceState>()(() => ({
  status: 'probing',
  engine: null,
  adapter: null,
  notice: null,
  message: '',
  kernels: null,
  measuringKernels: false,
  kernelsSwitchedAtStep: null,
  selfTest: idleSelfTest,
}));

/** Marks a self-test as started (the caller sends the command). */
export function selfTestStarted(): void {
  useDevice.setState({ selfTest: { ...idleSelfTest, status: 'running' } });
}

/**
 * Applies a Worker message; returns true when the message was the device's (an 'error' counts when the
 * page has no engine yet or a self-test is running).
 */
export function receiveDeviceMessage(message: FromTrainer): boolean {
  const set = useDevice.setState;
  const s = useDevice.getState();
  switch (message.type) {
    case 'engine':
      set({
        status: message.engine === 'webgpu' ? 'ready' : 'cpu', engine: message.engine,
        adapter: message.adapter, notice: message.notice, message: '', kernels: message.kernels ?? null,
        measuringKernels: message.engine === 'webgpu' && !message.kernels, kernelsSwitchedAtStep: null,
      });
      return true;
    case 'kernels':
      set({ kernels: message.kernels, measuringKernels: false, kernelsSwitchedAtStep: message.switchedAtStep });
      return true;
    case 'check':
      set({ selfTest: { ...s.selfTest, checks: [...s.selfTest.checks, message.check] } });
      return true;
    case 'selftestDone':
      set({ selfTest: { ...s.selfTest, status: 'done', passed: message.passed, failed: message.failed, milliseconds: message.milliseconds } });
      return true;
    case 'error':
      if (s.status === 'probing') {
        set({ status: 'error', message: message.message });
        return true;
      }
      if (s.selfTest.status === 'running') {
        set({ selfTest: { ...s.selfTest, status: 'done', error: message.message } });
        return true;
      }
      return false;
    default:
      return false;
  }
}

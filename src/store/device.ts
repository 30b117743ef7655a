import { create } from 'zustand';
import type { AdapterReport } from '../gpu/context';
import type { KernelCheck } from '../selftest/harness';
import type { FromGpuWorker, ToGpuWorker } from '../gpu/worker-protocol';

export type DeviceStatus = 'probing' | 'ready' | 'unavailable' | 'error' | 'lost';
export type SelfTestStatus = 'idle' | 'running' | 'done';

interface DeviceState {
  status: DeviceStatus;
  message: string;
  adapter: AdapterReport | undefined;
  selfTest: { status: SelfTestStatus; checks: KernelCheck[]; passed: number; failed: number; milliseconds: number };
  runSelfTest(): void;
}

let worker: Worker | undefined;

function send(message: ToGpuWorker): void {
  worker?.postMessage(message);
}

export const useDevice = create<DeviceState>()((set) => ({
  status: 'probing',
  message: '',
  adapter: undefined,
  selfTest: { status: 'idle', checks: [], passed: 0, failed: 0, milliseconds: 0 },
  runSelfTest() {
    set({ selfTest: { status: 'running', checks: [], passed: 0, failed: 0, milliseconds: 0 } });
    send({ type: 'selftest' });
  },
}));

function receive(message: FromGpuWorker): void {
  const set = useDevice.setState;
  switch (message.type) {
    case 'adapter': set({ status: 'ready', adapter: message.adapter, message: '' }); break;
    case 'unavailable': set({ status: 'unavailable', message: message.message }); break;
    case 'error': set((s) => ({ status: s.status === 'probing' ? 'error' : s.status, message: message.message,
      selfTest: s.selfTest.status === 'running' ? { ...s.selfTest, status: 'done' } : s.selfTest })); break;
    case 'deviceLost': set({ status: 'lost', message: message.message }); break;
    case 'check': set((s) => ({ selfTest: { ...s.selfTest, checks: [...s.selfTest.checks, message.check] } })); break;
    case 'selftestDone': set((s) => ({ selfTest: { ...s.selfTest, status: 'done', passed: message.passed,
      failed: message.failed, milliseconds: message.milliseconds } })); break;
  }
}

/** Starts the GPU worker once and asks it for the adapter. */
export function startGpuWorker(): void {
  if (worker) return;
  worker = new Worker(new URL('../gpu/gpu.worker.ts', import.meta.url), { type: 'module', name: 'gpu' });
  worker.onmessage = (event: MessageEvent<FromGpuWorker>) => receive(event.data);
  worker.onerror = (event) => useDevice.setState({ status: 'error', message: `GPU worker failed: ${event.message}` });
  send({ type: 'probe' });
}

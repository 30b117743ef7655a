import type { AdapterReport } from './context';
import type { KernelCheck } from '../selftest/harness';

/** Messages the page sends to the GPU worker. */
export type ToGpuWorker =
  | { type: 'probe' }
  | { type: 'selftest' };

/** Messages the GPU worker sends back. */
export type FromGpuWorker =
  | { type: 'adapter'; adapter: AdapterReport }
  | { type: 'unavailable'; message: string }
  | { type: 'check'; check: KernelCheck }
  | { type: 'selftestDone'; passed: number; failed: number; milliseconds: number }
  | { type: 'error'; message: string }
  | { type: 'deviceLost'; message: string };

/// <reference lib="webworker" />
/**
 * The training Worker: it owns the GPU (or the CPU fallback) and runs a TrainingSession. Every command
 * from the page goes to `session.handle`; every report goes back with its Float32Arrays transferred.
 */
import { createGpuContext } from '../gpu/context';
import { TrainingSession } from './session';
import { defaultCheckpointStore } from './checkpointStore';
import type { ToTrainer } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const session = new TrainingSession({
  post: (message, transfer = []) => self.postMessage(message, transfer),
  // A GPU error that no error scope caught (a validation or out-of-memory error inside a step) is
  // reported to the page, never swallowed.
  createContext: () => createGpuContext({
    onUncapturedError: (message) => self.postMessage({ type: 'error', message: `GPU error during training: ${message}` }),
  }),
  // IndexedDB (a Worker has it): checkpoints survive a reload of the page.
  checkpointStore: defaultCheckpointStore(),
  // Start is usable as soon as the adapter is found; the kernel measurement runs beside the study.
  tuneKernelsInBackground: true,
});

self.onmessage = (event: MessageEvent<ToTrainer>) => {
  // handle() never rejects: failures come back as 'error' messages.
  void session.handle(event.data);
};

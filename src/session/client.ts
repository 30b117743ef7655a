/**
 * The page's side of the training Worker: a typed wrapper around `postMessage`. The store owns one client
 * and fans its messages out; views never talk to the Worker directly.
 */
import type { FromTrainer, ToTrainer } from './protocol';

export type TrainerListener = (message: FromTrainer) => void;

export interface TrainerClient {
  send(message: ToTrainer): void;
  /** Calls `listener` for every message from the Worker; returns the unsubscribe function. */
  subscribe(listener: TrainerListener): () => void;
  /** Stops the Worker (training, GPU device and all); the client cannot be used afterwards. */
  terminate(): void;
}

/** What the client needs of a Worker (so tests can pass a fake). */
export interface WorkerLike {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
  terminate(): void;
}

function startWorker(): WorkerLike {
  // Written out here so Vite sees `new Worker(new URL(...))` and bundles the Worker.
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'trainer' });
}

export function createTrainerClient(createWorker: () => WorkerLike = startWorker): TrainerClient {
  const listeners = new Set<TrainerListener>();
  let worker: WorkerLike | undefined = createWorker();
  const deliver = (message: FromTrainer) => {
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch (error) {
        console.error('trainer client: a listener threw on', message.type, error);
      }
    }
  };
  worker.onmessage = (event) => deliver(event.data as FromTrainer);
  // A Worker that fails to load or throws outside the session reaches the page as an 'error' message.
  worker.onerror = (event) => {
    event.preventDefault?.();
    deliver({ type: 'error', message: `The training worker failed: ${event.message || 'it could not be loaded'}` });
  };
  worker.onmessageerror = () => deliver({ type: 'error', message: 'A message from the training worker could not be read.' });
  return {
    send(message) {
      if (!worker) throw new Error('The training worker was terminated.');
      worker.postMessage(message);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    terminate() {
      worker?.terminate();
      worker = undefined;
      listeners.clear();
    },
  };
}

/**
 * The page's single connection to the training Worker (which owns the GPU). Stores subscribe to the
 * messages they care about; views send commands through `sendToTrainer`. Created on first use.
 */
import { createTrainerClient } from '../session/client';
import type { FromTrainer, ToTrainer } from '../session/protocol';

type Listener = (message: FromTrainer) => void;

/** How src/session/client.ts words a Worker that failed outside the session. */
const WORKER_FAILED = 'The training worker failed';

let client: ReturnType<typeof createTrainerClient> | undefined;
const listeners = new Set<Listener>();

function connection() {
  if (!client) {
    client = createTrainerClient();
    client.subscribe((message) => {
      for (const listener of listeners) listener(message);
      // The client reports a Worker that threw outside the session (or could not load) as this error. Its
      // state is unknown from then on, so the page treats it as gone (src/store/checkpoints.ts restarts it
      // and offers the last checkpoint).
      if (message.type === 'error' && message.message.startsWith(WORKER_FAILED)) {
        for (const listener of listeners) listener({ type: 'crashed', message: message.message });
      }
    });
  }
  return client;
}

export function sendToTrainer(message: ToTrainer): void {
  connection().send(message);
}

/**
 * Stops the Worker (whatever it was doing) and starts a new one on the next send; listeners stay
 * subscribed. The new Worker knows nothing: the caller sends 'init' and rebuilds or resumes a study.
 */
export function restartTrainer(): void {
  client?.terminate();
  client = undefined;
  connection();
}

/** Calls `listener` for every message from the Worker; returns the unsubscribe function. */
export function subscribeToTrainer(listener: Listener): () => void {
  listeners.add(listener);
  connection();
  return () => listeners.delete(listener);
}

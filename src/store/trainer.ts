/**
 * The page's single connection to the training Worker (which owns the GPU). Stores subscribe to the
 * messages they care about; views send commands through `sendToTrainer`. Created on first use.
 */
import { createTrainerClient } from '../train/client';
import type { FromTrainer, ToTrainer } from '../train/protocol';

type Listener = (message: FromTrainer) => void;

let client: ReturnType<typeof createTrainerClient> | undefined;
const listeners = new Set<Listener>();

function connection() {
  if (!client) {
    client = createTrainerClient();
    client.subscribe((message) => {
      for (const listener of listeners) listener(message);
    });
  }
  return client;
}

export function sendToTrainer(message: ToTrainer): void {
  connection().send(message);
}

/** Calls `listener` for every message from the Worker; returns the unsubscribe function. */
export function subscribeToTrainer(listener: Listener): () => void {
  listeners.add(listener);
  connection();
  return () => listeners.delete(listener);
}

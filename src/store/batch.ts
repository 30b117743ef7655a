/**
 * The batch viewer's state: the batch the engine trained on at its last step, asked for with 'batch' and
 * kept until the study changes. `armRows` turns it into what the viewer draws.
 */
import { create } from 'zustand';
import type { FromTrainer, RunInfo, TrainingBatch } from '../session/protocol';
import { sendToTrainer, subscribeToTrainer } from './trainer';

export interface BatchState {
  status: 'idle' | 'pending' | 'done' | 'failed';
  requestId: number;
  batch: TrainingBatch | null;
  error: string | null;
}

export const useBatch = create<BatchState>()(() => ({ status: 'idle', requestId: 0, batch: null, error: null }));

let nextRequest = 1;

/** Asks the Worker for the batch of the last step. */
export function requestBatch(): void {
  const requestId = nextRequest++;
  useBatch.setState({ status: 'pending', requestId, error: null });
  sendToTrainer({ type: 'batch', requestId });
}

export function receiveBatchMessage(message: FromTrainer): void {
  if (message.type === 'built' || message.type === 'restored') {
    useBatch.setState({ status: 'idle', batch: null, error: null });
    return;
  }
  if (message.type !== 'batch' || message.requestId !== useBatch.getState().requestId) return;
  useBatch.setState({ status: message.batch ? 'done' : 'failed', batch: message.batch, error: message.error });
}

/** One sequence of one run: its T input tokens, which of them the model did not see, and what it saw instead. */
export interface BatchRow {
  run: number;
  info: RunInfo;
  tokens: number[];
  masked: boolean[];
  /** Per position: null for a clean input or [MASK]; the token id put there by a `replace: random…` control. */
  replacedBy: (number | null)[];
}

/** Sequence `sequence` of the batch for the first seed of every arm (the arms differ only by their masks). */
export function armRows(batch: TrainingBatch, runs: readonly RunInfo[], sequence: number): BatchRow[] {
  const { B, T } = batch;
  const b = Math.min(Math.max(0, sequence), B - 1);
  return runs.map((info, run) => ({ info, run })).filter(({ info }) => info.seed === 0).map(({ info, run }) => {
    const tokenStart = (run * B + b) * (T + 1), maskStart = (run * B + b) * T;
    return {
      run, info,
      tokens: Array.from(batch.tokens.subarray(tokenStart, tokenStart + T)),
      masked: Array.from(batch.mask.subarray(maskStart, maskStart + T), (m) => m !== 0),
      // Mask entries: 0 clean, 1 [MASK], m ≥ 2 token m − 2 (the replace controls; data/maskPolicy.ts).
      replacedBy: Array.from(batch.mask.subarray(maskStart, maskStart + T), (m) => (m >= 2 ? m - 2 : null)),
    };
  });
}

let connected = false;

export function connectBatch(): void {
  if (connected) return;
  connected = true;
  subscribeToTrainer(receiveBatchMessage);
}


/// <reference lib="webworker" />
/**
 * The Worker that owns the GPU for the page: it acquires the device through the same
 * createGpuContext() as Node, reports the adapter and runs the kernel self-test.
 */
import { createGpuContext, type GpuContext } from './context';
import { WebGpuUnavailableError } from './errors';
import { runSelfTest } from '../selftest/suite';
import type { FromGpuWorker, ToGpuWorker } from './worker-protocol';

declare const self: DedicatedWorkerGlobalScope;

let context: Promise<GpuContext> | undefined;

function post(message: FromGpuWorker): void {
  self.postMessage(message);
}

function getContext(): Promise<GpuContext> {
  if (!context) {
    context = createGpuContext();
    context.then((ctx) => ctx.lost.then((lost) => {
      context = undefined;
      post({ type: 'deviceLost', message: lost.message });
    }), () => { context = undefined; });
  }
  return context;
}

async function handle(message: ToGpuWorker): Promise<void> {
  let ctx: GpuContext;
  try {
    ctx = await getContext();
  } catch (error) {
    const text = (error as Error).message;
    post(error instanceof WebGpuUnavailableError ? { type: 'unavailable', message: text } : { type: 'error', message: text });
    return;
  }
  switch (message.type) {
    case 'probe':
      post({ type: 'adapter', adapter: ctx.adapter });
      break;
    case 'selftest': {
      const start = performance.now();
      const results = await runSelfTest(ctx, (check) => post({ type: 'check', check }));
      const failed = results.filter((r) => !r.pass).length;
      post({ type: 'selftestDone', passed: results.length - failed, failed, milliseconds: performance.now() - start });
      break;
    }
  }
}

self.onmessage = (event: MessageEvent<ToGpuWorker>) => {
  handle(event.data).catch((error: unknown) => post({ type: 'error', message: (error as Error).message }));
};

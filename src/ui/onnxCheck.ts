/**
 * Runs an exported ONNX model in the page with onnxruntime-web — the WebGPU execution provider where it
 * starts, else WebAssembly — on the probe sequence the Worker ran through our own forward, and reports
 * the largest |Δlogits| over the probed rows. onnxruntime-web is loaded on first use (it is large).
 */
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { ModelFiles } from '../session/protocol';

export interface OnnxCheckResult {
  provider: 'webgpu' | 'wasm';
  /** Max |Δ| between onnxruntime's logits and ours over the probed rows. */
  maxAbsDiff: number;
  rows: number;
  /** Why WebGPU was not used, when it was not. */
  fallbackReason: string | null;
  milliseconds: number;
}

type Ort = typeof import('onnxruntime-web/webgpu');
let ortModule: Promise<Ort> | undefined;

function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-web/webgpu').then((ort) => {
    // Vite serves the wasm binary from node_modules; without this the runtime looks next to the bundle.
    ort.env.wasm.wasmPaths = { wasm: wasmUrl };
    ort.env.wasm.numThreads = 1; // no cross-origin isolation here, so no threads
    ort.env.logLevel = 'error';
    return ort;
  });
  return ortModule;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

export async function checkOnnx(onnx: Uint8Array, probe: NonNullable<ModelFiles['probe']>): Promise<OnnxCheckResult> {
  // The Worker sends the model's int64 input and its input and output names with the probe.
  const ort = await loadOrt();
  const T = probe.tokens.length, V = probe.vocab;
  const providers: ('webgpu' | 'wasm')[] = typeof navigator !== 'undefined' && 'gpu' in navigator ? ['webgpu', 'wasm'] : ['wasm'];
  let fallbackReason: string | null = providers.length === 1 ? 'this browser has no WebGPU' : null;
  for (const provider of providers) {
    const start = performance.now();
    let session: Awaited<ReturnType<typeof ort.InferenceSession.create>> | undefined;
    try {
      // Severity 3 = errors only: onnxruntime's warnings (e.g. shape ops placed on the CPU) are not problems.
      session = await ort.InferenceSession.create(onnx, { executionProviders: [provider], logSeverityLevel: 3 });
      const input = new ort.Tensor('int64', probe.inputIds, [1, T]);
      const out = await session.run({ [probe.inputName]: input });
      const logits = (await out[probe.logitsName].getData()) as Float32Array;
      if (logits.length !== T * V) throw new Error(`onnxruntime returned ${logits.length} logits, expected ${T * V}`);
      let worst = 0;
      probe.rows.forEach((row, k) => {
        for (let v = 0; v < V; v++) {
          const d = Math.abs(logits[row * V + v] - probe.logits[k * V + v]);
          worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
        }
      });
      return { provider, maxAbsDiff: worst, rows: probe.rows.length, fallbackReason, milliseconds: performance.now() - start };
    } catch (error) {
      if (provider === 'wasm') throw new Error(`onnxruntime-web could not run the model: ${describe(error)}`);
      fallbackReason = `the WebGPU execution provider did not start (${describe(error)})`;
    } finally {
      await session?.release().catch(() => undefined);
    }
  }
  throw new Error('onnxruntime-web could not run the model');
}

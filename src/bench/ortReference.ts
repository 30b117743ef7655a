/**
 * The onnxruntime-web reference (benchmark only): one ONNX MatMul (opset 17) run by the webgpu execution
 * provider, inputs and output kept on its GPU (no upload or readback per run). ONNX MatMul has no
 * transpose attribute, so B is fed [K, N] (how an exported linear layer stores its weight, see
 * src/export/onnx.ts); our side computes the same product from W [N, K] (transB), as the engine does.
 */
import * as ort from 'onnxruntime-web/webgpu';
import onnxProto from 'onnx-proto';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { randomFloats } from '../util/random';
import type { Contender, MatmulShape } from './ours';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

let configured = false;
const listening = new WeakSet<GPUDevice>();
/** GPU errors on onnxruntime's device (work dropped by an error would make its timing lie). */
export const ortDeviceErrors: string[] = [];

function configure(): void {
  if (configured) return;
  configured = true;
  // Vite serves the wasm file from node_modules; without this the runtime looks next to the pre-bundled module.
  ort.env.wasm.wasmPaths = { wasm: wasmUrl };
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
}

function matmulModel(M: number, N: number, K: number): Uint8Array {
  const info = (name: string, dims: number[]) => ({
    name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'meap-playground-bench',
    graph: {
      name: 'matmul',
      node: [{ opType: 'MatMul', input: ['A', 'B'], output: ['C'], name: 'matmul' }],
      input: [info('A', [M, K]), info('B', [K, N])],
      output: [info('C', [M, N])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export async function ortVersion(): Promise<string> {
  configure();
  return ort.env.versions.web ?? ort.env.versions.common;
}

export async function ortMatmul(shape: MatmulShape, seed = 1): Promise<Contender> {
  configure();
  const { M, N, K } = shape;
  const session = await ort.InferenceSession.create(matmulModel(M, N, K), {
    executionProviders: ['webgpu'], graphOptimizationLevel: 'all', preferredOutputLocation: 'gpu-buffer',
  });
  const device = await ort.env.webgpu.device;
  if (!listening.has(device)) {
    listening.add(device);
    device.addEventListener('uncapturederror', (event) => {
      if (ortDeviceErrors.length < 20) ortDeviceErrors.push((event as GPUUncapturedErrorEvent).error.message.split('\n')[0]);
    });
  }
  const upload = (values: Float32Array, dims: number[]) => {
    const buffer = device.createBuffer({ size: values.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buffer, 0, values);
    return { buffer, tensor: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims }) };
  };
  const a = upload(randomFloats(seed, M * K), [M, K]);
  const b = upload(randomFloats(seed + 1, K * N), [K, N]);
  return {
    async run(iterations) {
      for (let i = 0; i < iterations; i++) {
        const out = await session.run({ A: a.tensor, B: b.tensor });
        out.C.dispose();
      }
      await device.queue.onSubmittedWorkDone();
    },
    dispose() {
      void session.release();
      a.buffer.destroy();
      b.buffer.destroy();
    },
  };
}

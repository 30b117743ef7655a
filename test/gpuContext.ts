import { createGpuContext, type GpuContext } from '../src/gpu/context';
import { nodeGpu } from '../src/gpu/node';

let shared: Promise<GpuContext> | undefined;

/**
 * The WebGPU context every GPU test uses. With no adapter this rejects with the fix
 * (install Chromium for SwiftShader / set VK_ICD_FILENAMES): GPU tests fail loudly, never skip.
 */
export function testContext(): Promise<GpuContext> {
  shared ??= nodeGpu().then((gpu) => createGpuContext({ gpu, profile: false }));
  return shared;
}

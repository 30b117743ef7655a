/**
 * Node entry to WebGPU (Dawn through the `webgpu` package). Never imported by the page.
 * When no GPU driver is configured and Chromium's SwiftShader is installed, use it: a conformant
 * (slow) CPU implementation of Vulkan, which is how tests run on machines without a GPU.
 */
import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Must run before the first `create()`: the Vulkan loader reads the variable once. */
export function configureVulkanLoader(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD) && !hasSystemVulkanDriver()) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  env.XDG_RUNTIME_DIR ??= '/tmp';
}

/**
 * A GPU device node means a real driver can serve us. Installed ICD files alone prove nothing:
 * Debian ships Mesa's ICDs (lavapipe, radeon) on machines without a GPU, and Dawn rejects lavapipe.
 */
function hasSystemVulkanDriver(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/dev/dri/renderD128') || existsSync('/dev/kfd');
}

let cached: GPU | undefined;

export async function nodeGpu(): Promise<GPU> {
  if (cached) return cached;
  configureVulkanLoader();
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Without robustness checks kernels run 2-3x faster on SwiftShader; every kernel bounds-checks itself.
  cached = create(['enable-dawn-features=disable_robustness,disable_workgroup_init']) as GPU;
  return cached;
}

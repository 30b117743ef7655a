import { defineConfig } from 'vitest/config';
import { configureVulkanLoader } from './src/gpu/node.ts';

// The Vulkan loader reads VK_ICD_FILENAMES once per process; set it here, in the main process,
// so that worker processes inherit it (an assignment inside a test file comes too late).
configureVulkanLoader();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // SwiftShader already uses every core: one test file at a time.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

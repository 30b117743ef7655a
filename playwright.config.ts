import { defineConfig } from '@playwright/test';

/**
 * e2e tests drive the system Chromium (Playwright's own browser download cannot work offline).
 * Override with CHROMIUM_PATH. WebGPU runs on SwiftShader when the machine has no GPU.
 */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** E2E_PORT: the dev server's port (default 5173), so that two checkouts can run their suites side by side. */
const port = Number(process.env.E2E_PORT ?? 5173);

export default defineConfig({
  testDir: 'e2e',
  // e2e/screenshots.spec.ts regenerates the README's image (`npm run screenshots`); it checks nothing, so it
  // is left out of the suite rather than listed as a skipped test.
  testIgnore: process.env.SCREENSHOTS ? [] : ['**/screenshots.spec.ts'],
  // SwiftShader uses every core: one browser at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  forbidOnly: true,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath,
      args: [
        '--enable-unsafe-webgpu',
        '--enable-dawn-features=disable_robustness,disable_workgroup_init',
        '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});

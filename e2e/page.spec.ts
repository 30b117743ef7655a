import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers';

test('the page finds the WebGPU adapter and shows its info', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  const panel = page.getByTestId('device-panel');
  await expect(panel).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('adapter-name')).not.toBeEmpty();
  await expect(page.getByTestId('adapter-features')).toContainText('timestamp-query');
  // The kernel variants were chosen by measuring on this adapter, and the panel says which.
  await expect(page.getByTestId('kernel-choice')).toContainText(/matmul (blocked|tiled|vec4), rows (serial|workgroup)/);
  await expect(page.getByTestId('adapter-fallback')).toContainText(/yes|no/);
  await expect(page.getByTestId('engine')).toHaveText(/WebGPU/);
  expect(errors).toEqual([]);
});

test('every kernel passes the self-test inside the training worker in Chromium', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  // The button waits while the page's first study is being built in the same Worker.
  await page.getByRole('button', { name: 'Run kernel self-test' }).click();
  const summary = page.getByTestId('selftest-summary');
  await expect(summary).toBeVisible({ timeout: 170_000 });
  const rows = page.getByTestId('selftest-table').locator('tbody tr');
  const count = await rows.count();
  expect(count).toBeGreaterThan(0);
  const kernels = await rows.locator('td:first-child').allTextContents();
  const failedRows = await page.getByTestId('selftest-table').locator('tbody tr.bad').allTextContents();
  expect(failedRows, 'failing kernels').toEqual([]);
  await expect(summary).toHaveText(new RegExp(`^${count} passed, 0 failed`));
  // Every kernel family shipped in shaders/ must have appeared in the browser run.
  for (const family of ['matmul.blocked', 'matmul.tiled', 'matmul.vec4', 'embedding', 'rmsnorm', 'rope', 'attention', 'residual',
    'swiglu', 'crossEntropy', 'gradNorm', 'adamw']) {
    expect(kernels.some((k) => k.startsWith(family)), `${family} ran in the browser`).toBe(true);
  }
  expect(errors).toEqual([]);
});

import { expect, test } from '@playwright/test';
import config from '../playwright.config';

/** Chromium without --enable-unsafe-webgpu has no WebGPU adapter on Linux: the page must not be a dead end. */
const args = (config.use?.launchOptions?.args ?? []).filter((a) => a !== '--enable-unsafe-webgpu');
test.use({ launchOptions: { ...config.use?.launchOptions, args } });

test('without WebGPU the page says how to enable it and trains the tiny preset on the CPU', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  // A plain visit: the page picks the tiny preset itself.
  await page.goto('/');
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'cpu', { timeout: 60_000 });
  await expect(page.getByTestId('engine-banner')).toContainText('No WebGPU');
  await expect(page.getByTestId('cpu-notice')).toContainText('enable-unsafe-webgpu');
  await expect(page.getByTestId('engine')).toContainText('CPU');
  await expect(page.getByTestId('select-preset')).toHaveValue('tiny');
  // One message about the missing WebGPU (the banner names the tiny preset), not a second notice saying the same.
  await expect(page.getByTestId('engine-banner')).toContainText('tiny preset');
  await expect(page.getByTestId('notices')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Run kernel self-test' })).toBeDisabled();

  await page.getByTestId('input-steps').fill('12');
  await page.getByTestId('input-evalEvery').fill('6');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  const rows = await page.getByTestId('summary-train-loss').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    first: Number(tr.getAttribute('data-first')), last: Number(tr.getAttribute('data-last')), points: Number(tr.getAttribute('data-points')),
  })));
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    expect(row.points).toBeGreaterThanOrEqual(2);
    expect(row.last).toBeLessThan(row.first);
  }
  // The page's evaluations at 0 and 4, then the regular ones at 6 and 12.
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', '4');
  await page.screenshot({ path: testInfo.outputPath('cpu-fallback.png') });
  expect(errors).toEqual([]);
});

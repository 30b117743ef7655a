import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';

/**
 * Time to first insight on this kind of machine (issue 16): a plain visit on a software adapter. Start is
 * usable within 5 s of the adapter being found (the kernel measurement runs in the background), and the
 * first training-loss and validation points are on screen within 15 s of pressing Start with the default
 * preset. Each test runs in a fresh browser context, so nothing is cached: the measurement really runs.
 */

const points = async (page: Page, id: string) => Number(await page.getByTestId(`chart-${id}`).getAttribute('data-points'));

test('Start is usable within 5 s of the adapter; the first loss and validation points come within 15 s', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await page.goto('/');
  const start = page.getByTestId('primary-button');
  // The adapter is found: the device panel shows it.
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  const adapterFound = Date.now();
  await expect(start).toBeEnabled({ timeout: 5_000 });
  const enabledAfter = Date.now() - adapterFound;
  // The measurement had not finished: Start did not wait for it.
  await expect(page.getByTestId('kernel-choice')).toHaveAttribute('data-measuring', 'yes');
  // The default preset for a software adapter, said in a notice and in the README.
  await expect(page.getByTestId('select-preset')).toHaveValue('quick');
  await expect(page.getByTestId('time-estimate')).toHaveText(/about .+ for 800 steps \(.+ per step measured here/, { timeout: 30_000 });

  await start.click();
  const pressed = Date.now();
  await expect.poll(() => points(page, 'train-loss'), { timeout: 15_000 }).toBeGreaterThan(0);
  await expect.poll(() => points(page, 'val-loss'), { timeout: Math.max(1, 15_000 - (Date.now() - pressed)) }).toBeGreaterThan(0);
  const firstPointsAfter = Date.now() - pressed;
  // The validation chart starts at step 0 (the untrained models).
  const first = await page.getByTestId('summary-val-loss').locator('tbody tr').first().getAttribute('data-first');
  expect(Number(first)).toBeGreaterThan(0);
  // While running, a time-left estimate.
  await expect(page.getByTestId('time-estimate')).toHaveText(/about .+ left/, { timeout: 15_000 });
  // The measured kernel choice arrives while the study goes on.
  await expect(page.getByTestId('kernel-choice')).toHaveAttribute('data-measuring', 'no', { timeout: 120_000 });
  await page.getByTestId('primary-button').click(); // pause
  testInfo.annotations.push({ type: 'timings (ms)', description: JSON.stringify({ enabledAfter, firstPointsAfter }) });
  expect(errors).toEqual([]);
});

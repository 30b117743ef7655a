import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers';

/** The report view (issue 16 item 3): one seed says so; figures use the width and open enlarged. */

test('one seed per arm: "needs ≥ 2 seeds", no degenerate CI or p = 1; figures full-width and enlargeable', async ({ page }) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?preset=tiny&steps=20&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await page.getByTestId('primary-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await page.getByRole('button', { name: 'Compute report' }).click();
  await expect(page.getByTestId('report-body')).toBeVisible({ timeout: 30_000 });

  for (const cell of await page.getByTestId('p-value').allTextContents()) expect(cell).toBe('needs ≥ 2 seeds');
  for (const cell of await page.getByTestId('difference').allTextContents()) expect(cell).toContain('CI needs ≥ 2 seeds per arm');
  const body = await page.getByTestId('report-body').textContent();
  expect(body).not.toMatch(/\[(\d+\.\d%), \1\]/);
  expect(body).not.toContain('1.0000');

  // Figures: one per row at the panel's width (≥ 600 px here), and a click opens it enlarged.
  const figure = page.locator('.report-figure').first();
  expect((await figure.boundingBox())!.width).toBeGreaterThan(600);
  await figure.getByRole('button').click();
  const dialog = page.getByTestId('figure-dialog');
  await expect(dialog).toBeVisible();
  expect((await dialog.locator('img').boundingBox())!.width).toBeGreaterThan(1000);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect(errors).toEqual([]);
});

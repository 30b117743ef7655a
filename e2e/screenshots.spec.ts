import { expect, test } from '@playwright/test';

/**
 * Regenerates the README's screenshot from the page as it is: `npm run screenshots`. Not part of the checks
 * (playwright.config.ts leaves it out of `npm test` unless SCREENSHOTS=1).
 */

test('docs/playground.png: the page after a tiny study', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await page.getByTestId('primary-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/playground.png' });
});

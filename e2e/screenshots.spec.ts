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

/**
 * docs/attention.png: NTP and MEAP models that were trained until they retrieve (the quick preset, 2000 steps,
 * `npm run compare -- --preset quick --steps 2000 --seeds 4 --base-seed 3 --save DIR`, seed 0, where both arms reach 100 %: DIR/ntp-seed0 and DIR/meap-seed0 copied to docs/hero/ntp and docs/hero/meap), loaded into a fresh
 * study's runs from docs/hero/, and their attention on one evaluation example side by side.
 */
test('docs/attention.png: trained NTP vs MEAP attention side by side', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 1000 });
  await page.goto('/?preset=quick');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  const files = page.getByTestId('model-files');
  for (const [dir, run] of [['ntp', 'NTP, seed 0'], ['meap', 'MEAP 15%, seed 0']] as const) {
    await files.getByTestId('upload-model').setInputFiles([`docs/hero/${dir}/model.safetensors`, `docs/hero/${dir}/config.json`]);
    const summary = page.getByTestId('upload-summary');
    await expect(summary).toHaveAttribute('data-fits', 'yes');
    await summary.getByTestId('load-run').selectOption({ label: run });
    await summary.getByTestId('load-model').click();
    await expect(page.getByTestId('model-loaded')).toContainText(`${run} now has the weights`);
  }
  const panel = page.getByTestId('attention-panel');
  // A new selection probes the loaded weights.
  await panel.getByLabel('example', { exact: true }).selectOption('1');
  await panel.getByLabel('example', { exact: true }).selectOption(process.env.HERO_EXAMPLE ?? '0');
  await panel.getByLabel('layer', { exact: true }).selectOption(process.env.HERO_LAYER ?? '1');
  await panel.getByLabel('head', { exact: true }).selectOption(process.env.HERO_HEAD ?? '0');
  await page.waitForTimeout(1500);
  // The panel's top: the selection, the batch and the heatmaps with their difference map (page coordinates:
  // measured with the page scrolled to its top).
  await page.evaluate(() => window.scrollTo(0, 0));
  const top = await panel.boundingBox();
  const bottom = await panel.getByTestId('difference-heatmap').boundingBox();
  if (!top || !bottom) throw new Error('the attention panel is not on screen');
  await page.screenshot({
    path: 'docs/attention.png', fullPage: true,
    clip: { x: top.x, y: top.y, width: top.width, height: bottom.y + bottom.height + 12 - top.y },
  });
});

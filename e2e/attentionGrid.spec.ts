import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers';

/** Every layer × head with the tokens on both axes (issue 16 item 4), and the heatmaps' colour scale. */

test('the attention grid shows every layer × head of both runs with token labels; a click focuses the heatmaps', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click(); // the step-0 evaluation brings the first snapshots
  const runs = page.getByTestId('attention-grid-run');
  await expect(runs).toHaveCount(2, { timeout: 30_000 });
  const tokens = (await page.getByTestId('example-tokens').locator('.att-token').allTextContents());
  expect(tokens).toHaveLength(16); // tiny: T = 16
  for (const run of await runs.all()) {
    const multiples = run.getByTestId('attention-multiple');
    await expect(multiples).toHaveCount(2 * 2); // tiny: 2 layers × 2 heads
    const cells = await multiples.evaluateAll((all) => all.map((m) => `${m.getAttribute('data-layer')}:${m.getAttribute('data-head')}`));
    expect(cells.sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
    for (const multiple of await multiples.all()) {
      expect(await multiple.getByTestId('key-labels').locator('span').allTextContents()).toEqual(tokens);
      expect(await multiple.getByTestId('query-labels').locator('span').allTextContents()).toEqual(tokens);
    }
    await expect(run.getByTestId('colour-scale')).toBeVisible();
  }
  await expect(page.getByTestId('heatmap-view').getByTestId('colour-scale')).toHaveCount(2);
  // NTP − MEAP, cell by cell, beside them.
  await expect(page.getByTestId('difference-heatmap')).toContainText('NTP − MEAP 15%');
  await expect(page.getByTestId('difference-heatmap').locator('canvas')).toHaveCount(1);
  await page.getByTestId('heatmap-view').screenshot({ path: testInfo.outputPath('heatmaps.png') });
  // "large" doubles the heatmaps' cells.
  const cellBefore = Number(await page.getByTestId('attention-heatmap').first().getAttribute('data-cell'));
  await page.getByTestId('heatmap-large').check();
  await expect(page.getByTestId('attention-heatmap').first()).toHaveAttribute('data-cell', String(2 * cellBefore));
  // The large heatmaps have the tokens on both axes too.
  for (const heatmap of await page.getByTestId('attention-heatmap').all()) {
    expect(await heatmap.getByTestId('heatmap-key-labels').locator('span').allTextContents()).toEqual(tokens);
    expect(await heatmap.getByTestId('heatmap-query-labels').locator('span').allTextContents()).toEqual(tokens);
  }
  await page.getByTestId('attention-grid').screenshot({ path: testInfo.outputPath('attention-grid.png') });
  await runs.first().locator('[data-layer="1"][data-head="1"]').click();
  await expect(page.getByTestId('heatmap-view')).toContainText('layer 1, head 1');
  await expect(runs.first().locator('[data-layer="1"][data-head="1"]')).toHaveAttribute('aria-pressed', 'true');
  expect(errors).toEqual([]);
});

test('the paired-mask view names its quantity and explains its sign and how many examples it averages', async ({ page }) => {
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('paired-mask')).toContainText('change of attention on the masked keys, masked vs clean input', { timeout: 30_000 });
  await expect(page.getByTestId('paired-mask-hint')).toContainText('A negative change means the masked keys get less attention');
  await expect(page.getByTestId('paired-mask-hint')).toContainText('This one example');
});

test('one query position is followed through every layer of both runs; rows are attention distributions', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click();
  const view = page.getByTestId('query-row-view');
  await expect(view).toHaveAttribute('data-query', '15', { timeout: 30_000 }); // the answer position of T = 16
  await expect(view.getByTestId('query-row')).toHaveCount(2 * 2); // 2 runs × 2 layers
  const sums = await view.getByTestId('query-row').evaluateAll((rows) => rows.map((row) =>
    [...row.querySelectorAll('td')].reduce((sum, td) => sum + Number(td.getAttribute('data-probability')), 0)));
  for (const sum of sums) expect(sum).toBeCloseTo(1, 4);
  await view.getByTestId('query-row-select').selectOption('5');
  await expect(view).toHaveAttribute('data-query', '5');
  expect(await view.getByTestId('query-row').first().locator('td').count()).toBe(6); // keys 0..5
  expect(errors).toEqual([]);
});

import { expect, test, type Locator } from '@playwright/test';
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
  // NTP − MEAP, cell by cell, beside them, with the example's tokens on both axes as the runs' heatmaps have.
  const difference = page.getByTestId('difference-heatmap');
  await expect(difference).toContainText('NTP − MEAP 15%');
  await expect(difference.locator('canvas')).toHaveCount(1);
  await expect(difference).toHaveAttribute('data-drawn', 'true');
  expect(await difference.getByTestId('heatmap-key-labels').locator('span').allTextContents()).toEqual(tokens);
  expect(await difference.getByTestId('heatmap-query-labels').locator('span').allTextContents()).toEqual(tokens);
  // Hover: the query and key tokens, and the difference of the two runs' probabilities in that cell, exactly.
  const probe = { query: 15, key: 7 };
  const readTip = async (figure: Locator) => {
    const canvas = figure.locator('canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    const margin = Number(await figure.getAttribute('data-margin')), cell = Number(await figure.getAttribute('data-cell'));
    await page.mouse.move(box.x + margin + (probe.key + 0.5) * cell, box.y + margin + (probe.query + 0.5) * cell);
    const tip = figure.getByRole('tooltip');
    await expect(tip).toHaveAttribute('data-query', String(probe.query));
    await expect(tip).toHaveAttribute('data-key', String(probe.key));
    return { text: (await tip.textContent()) ?? '', data: await tip.evaluate((e) => ({ ...(e as HTMLElement).dataset })) };
  };
  // Snapshots may still arrive (the step's own evaluation after step 0's): retried until all three figures show one step throughout.
  const ntp = page.locator('[data-testid="attention-heatmap"][data-objective="ntp"]');
  const meap = page.locator('[data-testid="attention-heatmap"][data-objective="meap"]');
  const steps = async () => Promise.all([ntp, meap, difference].map((f) => f.getAttribute('data-step')));
  await expect(async () => {
    const before = await steps();
    const ntpTip = await readTip(ntp);
    const meapTip = await readTip(meap);
    const differenceTip = await readTip(difference);
    const after = await steps();
    expect(new Set([...before, ...after]).size, `steps ${before} then ${after}`).toBe(1);
    const expected = Number(ntpTip.data.probability) - Number(meapTip.data.probability);
    expect(Number(differenceTip.data.difference)).toBe(expected);
    expect(differenceTip.text).toContain(`${expected >= 0 ? '+' : '−'}${Math.abs(expected).toPrecision(4)}`);
    expect(differenceTip.text).toContain(`query ${probe.query} ${tokens[probe.query]}`);
    expect(differenceTip.text).toContain(`key ${probe.key} ${tokens[probe.key]}`);
  }).toPass({ timeout: 30_000 });
  await page.mouse.move(0, 0);
  await page.getByTestId('heatmap-view').screenshot({ path: testInfo.outputPath('heatmaps.png') });
  // The heatmaps use the panel's width: two per row at half of it, one per row at all of it when "large".
  const row = page.getByTestId('heatmap-row');
  const rowWidth = async () => (await row.boundingBox())!.width;
  const canvasWidth = async (figure: Locator) => (await figure.locator('canvas').boundingBox())!.width;
  const first = page.getByTestId('attention-heatmap').first();
  const normal = await canvasWidth(first);
  expect(normal + 56).toBeLessThanOrEqual((await rowWidth() - 16) / 2 + 0.5);
  expect(normal + 56 + 16).toBeGreaterThan((await rowWidth() - 16) / 2); // within one pixel per cell of half the row
  expect(await canvasWidth(difference)).toBe(normal);
  const cellBefore = Number(await first.getAttribute('data-cell'));
  await page.getByTestId('heatmap-large').check();
  await expect(first).not.toHaveAttribute('data-cell', String(cellBefore));
  const large = await canvasWidth(first);
  expect(large).toBeGreaterThan(1.8 * normal);
  expect(large + 56).toBeLessThanOrEqual(await rowWidth() + 0.5);
  expect(large + 56 + 16).toBeGreaterThan(await rowWidth());
  // The large heatmaps have the tokens on both axes too.
  for (const heatmap of [...await page.getByTestId('attention-heatmap').all(), difference]) {
    expect(await heatmap.getByTestId('heatmap-key-labels').locator('span').allTextContents()).toEqual(tokens);
    expect(await heatmap.getByTestId('heatmap-query-labels').locator('span').allTextContents()).toEqual(tokens);
  }
  // A narrower window: the heatmaps follow their container, still square and labelled, and still fit it.
  const wideRow = await rowWidth();
  await page.setViewportSize({ width: 700, height: 720 });
  await expect.poll(rowWidth).toBeLessThan(wideRow - 50);
  await expect.poll(() => canvasWidth(first)).toBeLessThan(large);
  const narrow = (await first.locator('canvas').boundingBox())!;
  expect(narrow.height).toBe(narrow.width);
  expect(narrow.width + 56).toBeLessThanOrEqual(await rowWidth() + 0.5);
  expect(await first.getByTestId('heatmap-key-labels').locator('span').allTextContents()).toEqual(tokens);
  await page.setViewportSize({ width: 1280, height: 720 });
  await expect.poll(() => canvasWidth(first)).toBe(large);
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

test('on a phone (390 px) the heatmaps and the difference map take the panel\'s width, labelled, with no sideways scroll', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click();
  const difference = page.getByTestId('difference-heatmap');
  await expect(difference).toHaveAttribute('data-drawn', 'true', { timeout: 30_000 });
  // Two per row would not fit: one per row, and no "large" switch that would change nothing.
  await expect(page.getByTestId('heatmap-large')).toHaveCount(0);
  const rowWidth = (await page.getByTestId('heatmap-row').boundingBox())!.width;
  for (const figure of [...await page.getByTestId('attention-heatmap').all(), difference]) {
    const canvas = (await figure.locator('canvas').boundingBox())!;
    expect(canvas.width + 56).toBeLessThanOrEqual(rowWidth + 0.5);
    expect(canvas.width + 56 + 16).toBeGreaterThan(rowWidth); // the whole row, to within a pixel per cell
    expect(await figure.evaluate((f) => f.scrollWidth <= f.clientWidth)).toBe(true);
    expect(await figure.getByTestId('heatmap-key-labels').locator('span').count()).toBe(16);
  }
  await page.getByTestId('heatmap-view').screenshot({ path: testInfo.outputPath('heatmaps-phone.png') });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(errors).toEqual([]);
});

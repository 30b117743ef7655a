import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';
import { readFile } from 'node:fs/promises';

/** The live charts (issue 16 item 2): a single point is drawn; every curve can be downloaded as CSV. */

async function openTiny(page: Page, query: string): Promise<void> {
  await page.goto(`/?${query}`);
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
}

/** Pixels of the chart's plot canvas in (about) this colour. */
const pixelsOf = (page: Page, id: string, rgb: [number, number, number]) => page.getByTestId(`chart-${id}`).locator('canvas').evaluate((canvas, colour) => {
  const c = canvas as HTMLCanvasElement;
  const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - colour[0]) < 40 && Math.abs(data[i + 1] - colour[1]) < 40 && Math.abs(data[i + 2] - colour[2]) < 40 && data[i + 3] > 200) n++;
  }
  return n;
}, rgb);

interface SummaryRow { line: string; last: number; points: number }
const summary = (page: Page, id: string): Promise<SummaryRow[]> => page.getByTestId(`summary-${id}`).locator('tbody tr').evaluateAll((rows) => rows.map((row) => ({
  line: row.getAttribute('data-line') ?? '', last: Number(row.getAttribute('data-last')), points: Number(row.getAttribute('data-points')),
})));

test('a chart with one evaluation draws its point', async ({ page }) => {
  const errors = watchErrors(page);
  await openTiny(page, 'preset=tiny&steps=40&evalEvery=10');
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', '1', { timeout: 30_000 });
  await page.waitForTimeout(300);
  // At step 0 both arms have the same weights, so the same point: NTP (#2563eb) is the larger dot under
  // MEAP 15 % (#ea580c), and both show.
  expect(await pixelsOf(page, 'val-loss', [0x25, 0x63, 0xeb])).toBeGreaterThan(10);
  expect(await pixelsOf(page, 'val-loss', [0xea, 0x58, 0x0c])).toBeGreaterThan(10);
  await expect(page.getByTestId('speed-key')).toContainText('tokens/s (left axis)');
  await expect(page.getByTestId('speed-key')).toContainText('ms per step (right axis)');
  expect(errors).toEqual([]);
});

test('every curve downloads as CSV, matching what the charts show', async ({ page }) => {
  const errors = watchErrors(page);
  await openTiny(page, 'preset=tiny&steps=20&evalEvery=10');
  await page.getByTestId('primary-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-curves-csv').click()]);
  expect(download.suggestedFilename()).toBe('curves.csv');
  const text = await readFile((await download.path())!, 'utf8');
  const [head, ...lines] = text.trimEnd().split('\n');
  expect(head).toBe('series,step,run,arm,maskRatio,seed,value');
  const rows = lines.map((l) => l.split(',')).map(([series, step, run, arm, , , value]) => ({ series, step: Number(step), run, arm, value }));
  // One seed per arm: each arm's line is its run; the CSV's rows are its points and its latest value the chart's.
  for (const [chart, series] of [['train-loss', 'train_loss'], ['val-loss', 'val_loss'], ['grad-norm', 'grad_norm'], ['weight-norm', 'weight_norm']] as const) {
    for (const line of await summary(page, chart)) {
      const mine = rows.filter((r) => r.series === series && r.arm === line.line);
      expect(mine, `${series} ${line.line}`).toHaveLength(line.points);
      expect(Number(mine[mine.length - 1].value), `${series} ${line.line} latest`).toBeCloseTo(line.last, 12);
    }
  }
  expect(rows.some((r) => r.series === 'retrieval_acc')).toBe(true);
  // The learning rate is one schedule for the study: one row per reported step, the chart's points.
  const lr = rows.filter((r) => r.series === 'learning_rate');
  expect(lr).toHaveLength((await summary(page, 'learning-rate'))[0].points);
  // Loss views: smoothing changes the drawn line (not the data: the CSV above is the store's), log scale redraws.
  const rawLast = (await summary(page, 'train-loss'))[0].last;
  await page.getByTestId('train-loss-smoothing').selectOption('0.9');
  await expect.poll(async () => (await summary(page, 'train-loss'))[0].last).not.toBe(rawLast);
  await page.getByTestId('train-loss-log').check();
  await expect(page.getByTestId('chart-train-loss').locator('canvas')).toHaveCount(1);
  // Accuracy is read against its prompt count and chance (tiny: 40 prompts, 8 values).
  await expect(page.getByTestId('accuracy-prompts')).toHaveText('40 held-out prompts');
  await expect(page.getByTestId('accuracy-chance')).toContainText('chance (12.5%');
  expect(errors).toEqual([]);
});

test('gradient norm, learning rate and weight norm are charted per arm', async ({ page }) => {
  const errors = watchErrors(page);
  await openTiny(page, 'preset=tiny&steps=40&evalEvery=10');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => Number(await page.getByTestId('runbar').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThanOrEqual(12);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  for (const id of ['grad-norm', 'learning-rate', 'weight-norm']) {
    const rows = await summary(page, id);
    expect(rows.map((r) => r.line), id).toEqual(['NTP', 'MEAP 15%']);
    for (const row of rows) {
      expect(row.points, `${id} ${row.line}`).toBeGreaterThan(1);
      expect(row.last, `${id} ${row.line}`).toBeGreaterThan(0);
    }
  }
  // One schedule: every arm reads the same learning rate.
  const lr = await summary(page, 'learning-rate');
  expect(lr[0].last).toBe(lr[1].last);
  expect(errors).toEqual([]);
});

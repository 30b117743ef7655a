import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';

/**
 * The playground page in system Chromium (SwiftShader when the machine has no GPU): the tiny study, set
 * through the URL, so each test trains for seconds.
 */

/** Records the main thread's long tasks (> 50 ms) from page load. */
async function recordLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    try {
      new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__longTasks.push(e.duration); })
        .observe({ type: 'longtask', buffered: true });
    } catch { /* not supported */ }
  });
}

const longTasks = (page: Page) => page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());

/** Waits until the Worker has built the study (the run bar is idle with a study applied). */
async function openStudy(page: Page, query: string): Promise<void> {
  await page.goto(`/?${query}`);
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
}

interface SummaryRow { line: string; first: number; last: number; points: number }

/** The hidden summary table of a chart: first and latest value of each arm's mean line. */
async function summary(page: Page, id: string): Promise<SummaryRow[]> {
  return page.getByTestId(`summary-${id}`).locator('tbody tr').evaluateAll((rows) => rows.map((row) => ({
    line: row.getAttribute('data-line') ?? '',
    first: Number(row.getAttribute('data-first')),
    last: Number(row.getAttribute('data-last')),
    points: Number(row.getAttribute('data-points')),
  })));
}

const stepOf = async (page: Page) => Number(await page.getByTestId('runbar').getAttribute('data-step'));

test('the tiny comparison trains: both loss curves receive points and fall, every view fills', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await recordLongTasks(page);
  await openStudy(page, 'preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('legend-arm')).toHaveText(['NTP', 'MEAP 15%']);
  await page.evaluate(() => { (window as unknown as { __longTasks: number[] }).__longTasks.length = 0; });

  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('step-count')).toHaveText('40');

  for (const id of ['train-loss', 'val-loss']) {
    const rows = await summary(page, id);
    expect(rows.map((r) => r.line), id).toEqual(['NTP', 'MEAP 15%']);
    for (const row of rows) {
      expect(row.points, `${id} ${row.line} points`).toBeGreaterThanOrEqual(id === 'val-loss' ? 7 : 2);
      expect(Number.isFinite(row.first) && Number.isFinite(row.last), `${id} ${row.line} finite`).toBe(true);
      expect(row.last, `${id} ${row.line} falls`).toBeLessThan(row.first);
    }
  }
  // Evaluations at 0, 4, 8 (the page's early ones) and 10, 20, 30, 40 reach every evaluation view.
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', '7');
  await expect(page.getByTestId('chart-accuracy')).toHaveAttribute('data-points', '7');
  await expect(page.getByTestId('chart-diff')).toHaveAttribute('data-points', '7');
  await expect(page.getByTestId('chart-learned')).toHaveAttribute('data-points', '7');
  await expect(page.getByTestId('chart-depth')).toHaveAttribute('data-points', '4'); // 4 depth buckets
  const accuracy = await summary(page, 'accuracy');
  for (const row of accuracy) expect(row.last).toBeGreaterThanOrEqual(0);
  const diff = await summary(page, 'diff');
  expect(diff.map((r) => r.line)).toEqual(['MEAP 15%']);
  await expect(page.getByTestId('learned-table').locator('tbody tr')).toHaveCount(2);
  // Speed and memory are reported.
  await expect(page.getByTestId('speed-tokens')).not.toHaveText('—');
  await expect(page.getByTestId('speed-memory')).toHaveText(/(KiB|MiB|GiB)$/);
  // Every chart is drawn by uPlot into a canvas.
  for (const id of ['train-loss', 'val-loss', 'diff', 'accuracy', 'depth', 'learned', 'speed']) {
    await expect(page.getByTestId(`chart-${id}`).locator('canvas')).toHaveCount(1);
  }
  await page.screenshot({ path: testInfo.outputPath('playground-trained.png'), fullPage: true });

  const tasks = await longTasks(page);
  testInfo.annotations.push({ type: 'long tasks while training (ms)', description: JSON.stringify(tasks.map(Math.round)) });
  // The Worker trains; the page only draws. Allow the odd slow frame on a 2-core software renderer.
  expect(tasks.filter((d) => d > 200), 'main-thread tasks over 200 ms while training').toEqual([]);
  expect(errors).toEqual([]);
});

test('pause stops the steps, resume continues, Step takes exactly one', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await openStudy(page, 'preset=tiny&steps=5000&evalEvery=50');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(3);

  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  const paused = await stepOf(page);
  await page.waitForTimeout(1500);
  expect(await stepOf(page), 'no steps while paused').toBe(paused);
  await expect(page.getByRole('button', { name: 'Step' })).toBeEnabled();

  await page.getByRole('button', { name: 'Step' }).click();
  await expect.poll(() => stepOf(page)).toBe(paused + 1);
  await page.waitForTimeout(500);
  expect(await stepOf(page), 'Step takes one step').toBe(paused + 1);

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'running');
  await expect.poll(() => stepOf(page), { timeout: 30_000 }).toBeGreaterThan(paused + 3);
  await expect(page.getByRole('button', { name: 'Step' })).toBeDisabled();

  // Edits while a study is under way wait for Reset (the study keeps its config).
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  const applied = await page.getByTestId('runbar').getAttribute('data-applied');
  await page.getByTestId('input-batch').fill('4');
  await expect(page.getByTestId('pending-edits')).toContainText('batch');
  expect(await page.getByTestId('runbar').getAttribute('data-applied')).toBe(applied);
  await page.getByRole('button', { name: 'Discard changes' }).click();
  await expect(page.getByTestId('pending-edits')).toHaveCount(0);
  await expect(page.getByTestId('input-batch')).toHaveValue('8');

  await page.getByTestId('input-batch').fill('4');
  await page.getByRole('button', { name: 'Reset & apply' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-applied', /(^|&)batch=4(&|$)/, { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle');
  expect(await stepOf(page)).toBe(0);
  await expect(page.getByTestId('chart-train-loss')).toHaveAttribute('data-points', '0');
  await page.screenshot({ path: testInfo.outputPath('playground-reset.png') });
  expect(errors).toEqual([]);
});

test('a shared URL restores the config exactly, and edits go back into the URL', async ({ page, context }) => {
  const errors = watchErrors(page);
  const query = 'preset=tiny&task=needle&steps=77&batch=4&lr=0.005&arms=0,0.1,0.2&seedsPerArm=2&sharedMask=1&protectQuery=1&baseSeed=9&evalEvery=7';
  await openStudy(page, query);
  await expect(page.getByTestId('select-preset')).toHaveValue('tiny');
  await expect(page.getByTestId('select-task')).toHaveValue('needle');
  await expect(page.getByTestId('input-steps')).toHaveValue('77');
  await expect(page.getByTestId('input-batch')).toHaveValue('4');
  await expect(page.getByTestId('input-lr')).toHaveValue('0.005');
  await expect(page.getByTestId('arm-chip')).toHaveText([/NTP/, /MEAP 10%/, /MEAP 20%/]);
  await expect(page.getByTestId('input-seedsPerArm')).toHaveValue('2');
  await expect(page.getByTestId('input-sharedMask')).toBeChecked();
  await expect(page.getByTestId('input-protectQuery')).toBeChecked();
  await expect(page.getByTestId('input-baseSeed')).toHaveValue('9');
  await expect(page.getByTestId('input-evalEvery')).toHaveValue('7');
  await expect(page.getByTestId('notices')).toHaveCount(0);
  // The study the Worker built is the link's study, and the URL still holds every value.
  const applied = new URLSearchParams((await page.getByTestId('runbar').getAttribute('data-applied'))!);
  const url = new URLSearchParams(new URL(page.url()).search);
  for (const [key, value] of new URLSearchParams(query)) {
    expect(applied.get(key), `built ${key}`).toBe(value);
    expect(url.get(key), `url ${key}`).toBe(value);
  }

  // Edits go into the URL at once; a new visit to that URL restores them.
  await page.getByTestId('input-steps').fill('55');
  await page.getByTestId('paper-grid').click();
  await page.getByTestId('input-lr').fill('2e-3');
  await expect.poll(() => new URL(page.url()).searchParams.get('steps')).toBe('55');
  await expect.poll(() => new URL(page.url()).searchParams.get('arms')).toBe('0,0.05,0.1,0.15,0.2');
  await expect.poll(() => new URL(page.url()).searchParams.get('lr')).toBe('0.002');
  const shared = page.url();
  const other = await context.newPage();
  const otherErrors = watchErrors(other);
  await other.goto(shared);
  await expect(other.getByTestId('input-steps')).toHaveValue('55');
  await expect(other.getByTestId('input-lr')).toHaveValue('0.002');
  await expect(other.getByTestId('arm-chip')).toHaveCount(5);
  await expect(other.getByTestId('input-seedsPerArm')).toHaveValue('2');
  await expect(other.getByTestId('input-baseSeed')).toHaveValue('9');
  await expect(other.getByTestId('runbar')).toHaveAttribute('data-applied', /steps=55/, { timeout: 60_000 });
  await other.close();
  expect(errors).toEqual([]);
  expect(otherErrors).toEqual([]);
});

test('mask options: a random filler word and a protected needle key survive a reload', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await page.getByTestId('select-replace').selectOption({ label: 'a random filler word' });
  await page.getByTestId('input-protect-needle-key').check();
  await expect.poll(() => new URL(page.url()).searchParams.get('replace')).toBe('random-filler');
  await expect.poll(() => new URL(page.url()).searchParams.get('protect')).toBe('needle-key');
  // A shared mask cannot keep segments of each sequence: refused with the study validation's reason.
  await page.getByTestId('input-sharedMask').click();
  await expect(page.getByTestId('mask-error')).toContainText('turn off sharedMask');
  await expect(page.getByTestId('input-sharedMask')).not.toBeChecked();
  await page.reload();
  await expect(page.getByTestId('select-replace')).toHaveValue('random-filler');
  await expect(page.getByTestId('input-protect-needle-key')).toBeChecked();
  await expect(page.getByTestId('input-protect-needle-value')).not.toBeChecked();
  await expect(page.getByTestId('notices')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('invalid link values are ignored with a visible notice and never rendered as markup', async ({ page }) => {
  const errors = watchErrors(page);
  let dialogs = 0;
  page.on('dialog', (dialog) => { dialogs++; void dialog.dismiss(); });
  const query = new URLSearchParams({
    preset: 'tiny', task: 'bogus', steps: 'abc', lr: '-1', batch: '<b id="injected">bold</b>',
    arms: '0,<img src=x onerror=alert(1)>', seedsPerArm: '1.5', sharedMask: 'maybe', evalEvery: '0',
  });
  await openStudy(page, query.toString());
  const notices = page.getByTestId('notice');
  await expect(notices).toHaveCount(8);
  await expect(page.getByTestId('notices')).toContainText('Ignored steps="abc"');
  await expect(page.getByTestId('notices')).toContainText('Ignored task="bogus"');
  await expect(page.getByTestId('notices')).toContainText('<img src=x onerror=alert(1)>');
  await expect(page.locator('#injected')).toHaveCount(0);
  await expect(page.getByTestId('notices').locator('img, b')).toHaveCount(0);
  // The valid value (preset) applies; the refused ones keep the preset's values.
  await expect(page.getByTestId('input-steps')).toHaveValue('40');
  await expect(page.getByTestId('input-batch')).toHaveValue('8');
  await expect(page.getByTestId('arm-chip')).toHaveCount(2);
  // The URL is rewritten to the config actually used.
  await expect.poll(() => new URL(page.url()).searchParams.get('steps')).toBe('40');
  await notices.first().getByRole('button', { name: 'Dismiss' }).click();
  await expect(notices).toHaveCount(7);
  expect(dialogs).toBe(0);
  expect(errors).toEqual([]);
});

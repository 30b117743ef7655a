import { expect, test, type Locator, type Page } from '@playwright/test';
import { watchErrors } from './helpers';

interface RecordedSnapshot {
  run: number; step: number; example: number; layers: number; heads: number; T: number;
  clean: number[]; masked: number[];
}

/**
 * Records, on the test's side, every attention snapshot the training Worker posts to the page: an init
 * script wraps the Worker constructor before the page's code runs and forwards each 'attention' message
 * through a Playwright binding. The page itself carries no test hooks.
 */
async function recordSnapshots(page: Page): Promise<Map<string, RecordedSnapshot>> {
  const recorded = new Map<string, RecordedSnapshot>();
  await page.exposeBinding('__recordAttentionSnapshot', (_source, s: RecordedSnapshot) => {
    recorded.set(`${s.run}:${s.step}:${s.example}`, s);
  });
  await page.addInitScript(() => {
    const NativeWorker = window.Worker;
    const record = (window as unknown as { __recordAttentionSnapshot: (s: unknown) => void }).__recordAttentionSnapshot;
    window.Worker = class extends NativeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        this.addEventListener('message', (event: MessageEvent) => {
          const data = event.data as { type?: string; snapshot?: Record<string, unknown> } | null;
          if (data?.type !== 'attention' || !data.snapshot) return;
          const s = data.snapshot;
          record({
            run: s.run, step: s.step, example: s.example, layers: s.layers, heads: s.heads, T: s.T,
            clean: Array.from(s.clean as Float32Array), masked: Array.from(s.masked as Float32Array),
          });
        });
      }
    };
  });
  return recorded;
}

/**
 * Long tasks (Long Tasks API, wall clock) allowed on the main thread while the attention views take in a
 * snapshot: the target is none over 100 ms. The views' own work comes in slices of a few milliseconds
 * (under 10 ms of CPU on the dev server, under 3 ms in a production build), but on the 2-core test machine,
 * shared with SwiftShader and other jobs, a task sometimes waits for a core: in 22 measured runs of the dev
 * server, 20 had no task over 100 ms while the views updated and 2 had one (110 and 148 ms). So: at most one
 * task over the target, and none over the limit.
 */
const LONG_TASK_TARGET_MS = 100;
const LONG_TASK_LIMIT_MS = 200;

interface UpdateWindow { run: number; step: number; start: number; end: number | null }

/**
 * Records, from page load, the main thread's long tasks and when the attention views update: each
 * 'attention' message from the Worker opens a window, closed 100 ms after that run's heatmap shows that
 * step (drawn), which covers the store's coalescing, the background render, the commit and the draw.
 */
async function watchAttentionUpdates(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[]; __updates: UpdateWindow[] };
    w.__longTasks = [];
    w.__updates = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    const closeShown = () => {
      for (const u of w.__updates) {
        if (u.end !== null) continue;
        const figure = document.querySelector<HTMLElement>(`[data-testid="attention-heatmap"][data-run="${u.run}"]`);
        if (figure && Number(figure.dataset.step) >= u.step && figure.dataset.drawn === 'true') u.end = performance.now() + 100;
      }
    };
    document.addEventListener('DOMContentLoaded', () => {
      new MutationObserver(closeShown).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-step', 'data-drawn'] });
    });
    const NativeWorker = window.Worker;
    window.Worker = class extends NativeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        this.addEventListener('message', (event: MessageEvent) => {
          const data = event.data as { type?: string; snapshot?: { run: number; step: number } } | null;
          if (data?.type !== 'attention' || !data.snapshot) return;
          w.__updates.push({ run: data.snapshot.run, step: data.snapshot.step, start: performance.now(), end: null });
          // A snapshot the views already show (the Worker repeats one after each evaluation) closes at once.
          queueMicrotask(closeShown);
        });
      }
    };
  });
}

/** Hovers cell (query, key) of a heatmap figure and returns what its tooltip reports, with the figure's state. */
async function hoverCell(page: Page, figure: Locator, query: number, key: number) {
  const canvas = figure.locator('canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error('heatmap canvas has no box');
  const margin = Number(await figure.getAttribute('data-margin'));
  const cell = Number(await figure.getAttribute('data-cell'));
  await page.mouse.move(box.x + margin + (key + 0.5) * cell, box.y + margin + (query + 0.5) * cell);
  const tooltip = figure.getByRole('tooltip');
  await expect(tooltip).toBeVisible();
  // Read the figure and its tooltip in one go, so a snapshot arriving meanwhile cannot mix two steps.
  return figure.evaluate((fig) => {
    const tip = fig.querySelector<HTMLElement>('[role="tooltip"]')!;
    const d = (fig as HTMLElement).dataset;
    return {
      run: Number(d.run), step: Number(d.step), example: Number(d.example), layer: Number(d.layer), head: d.head!, input: d.input!,
      query: Number(tip.dataset.query), key: Number(tip.dataset.key), probability: Number(tip.dataset.probability), text: tip.textContent ?? '',
    };
  });
}

test('attention views show the worker\'s snapshots of the tiny comparison', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const recorded = await recordSnapshots(page);
  await watchAttentionUpdates(page);
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');

  const runbar = page.getByTestId('runbar');
  await expect(page.getByTestId('primary-button')).toBeEnabled({ timeout: 90_000 });
  const startedAt = await page.evaluate(() => performance.now());
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });

  const panel = page.getByTestId('attention-panel');
  const ntp = panel.locator('[data-testid="attention-heatmap"][data-objective="ntp"]');
  const meap = panel.locator('[data-testid="attention-heatmap"][data-objective="meap"]');
  // The last evaluation (step 40) has been probed and drawn for both runs.
  for (const figure of [ntp, meap]) {
    await expect(figure).toHaveAttribute('data-step', '40');
    await expect(figure).toHaveAttribute('data-drawn', 'true');
  }

  // The page stays responsive while the views take in the snapshots of every evaluation: no long task.
  await page.waitForTimeout(200);
  const { longTasks, updates } = await page.evaluate(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[]; __updates: UpdateWindow[] };
    return { longTasks: w.__longTasks.slice(), updates: w.__updates.slice() };
  });
  const training = updates.filter((u) => u.start >= startedAt);
  expect(training.map((u) => u.end !== null), 'every snapshot reached the heatmaps').not.toContain(false);
  // Evaluations at steps 10, 20, 30 and 40, each probed for both runs (an answer may come a step later).
  const runs = [...new Set(training.map((u) => u.run))];
  expect(runs).toHaveLength(2);
  for (const run of runs) expect(new Set(training.filter((u) => u.run === run).map((u) => u.step)).size, `run ${run}'s snapshots`).toBeGreaterThanOrEqual(4);
  const during = longTasks.filter((t) => training.some((u) => t.start < u.end! && t.start + t.duration > u.start));
  testInfo.annotations.push({
    type: 'long tasks while the attention views update (ms)',
    description: `${JSON.stringify(during.map((t) => Math.round(t.duration)))} of ${JSON.stringify(longTasks.filter((t) => t.start >= startedAt).map((t) => Math.round(t.duration)))} while training; ` +
      `${training.length} snapshots, windows ${JSON.stringify(training.map((u) => Math.round(u.end! - u.start)))} ms`,
  });
  const durations = during.map((t) => Math.round(t.duration));
  expect(durations.filter((d) => d > LONG_TASK_LIMIT_MS), `long tasks over ${LONG_TASK_LIMIT_MS} ms while the attention views update`).toEqual([]);
  expect(durations.filter((d) => d > LONG_TASK_TARGET_MS).length, `long tasks over ${LONG_TASK_TARGET_MS} ms while the attention views update: ${JSON.stringify(durations)}`)
    .toBeLessThanOrEqual(1);

  // The canvas is painted: most of the grid is coloured, with many distinct colours.
  const pixels = await ntp.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    const colours = new Set<number>();
    for (let o = 0; o < data.length; o += 4) {
      if (data[o] < 250 || data[o + 1] < 250 || data[o + 2] < 250) painted++;
      colours.add((data[o] << 16) | (data[o + 1] << 8) | data[o + 2]);
    }
    return { painted: painted / (data.length / 4), colours: colours.size };
  });
  expect(pixels.painted).toBeGreaterThan(0.3);
  expect(pixels.colours).toBeGreaterThan(10);

  // Layer 1, head 1, clean input: the hovered cell's probability is the worker's, bit for bit.
  await panel.getByLabel('layer', { exact: true }).selectOption('1');
  await panel.getByLabel('head', { exact: true }).selectOption('1');
  const T = Number(await ntp.getAttribute('data-t'));
  const cleanCell = await hoverCell(page, ntp, T - 1, Math.floor(T / 2));
  expect(cleanCell).toMatchObject({ layer: 1, head: '1', input: 'clean', query: T - 1, key: Math.floor(T / 2) });
  const cleanSnap = recorded.get(`${cleanCell.run}:${cleanCell.step}:${cleanCell.example}`);
  expect(cleanSnap, 'the worker sent the snapshot on screen').toBeDefined();
  const H = cleanSnap!.heads;
  const expectedClean = cleanSnap!.clean[((1 * H + 1) * T + cleanCell.query) * T + cleanCell.key];
  expect(cleanCell.probability).toBe(expectedClean);
  expect(cleanCell.probability).toBeGreaterThan(0);
  expect(cleanCell.text).toContain(expectedClean.toPrecision(4));

  // The NTP − MEAP map: the same cell's difference is the worker's two probabilities subtracted, bit for bit.
  const difference = panel.getByTestId('difference-heatmap');
  await expect(difference).toHaveAttribute('data-drawn', 'true');
  await expect(difference).toHaveAttribute('data-step', '40');
  const [firstRun, secondRun] = (await difference.getAttribute('data-runs'))!.split(',').map(Number);
  expect(firstRun).toBe(cleanCell.run); // NTP first
  await difference.locator('canvas').scrollIntoViewIfNeeded();
  const box = (await difference.locator('canvas').boundingBox())!;
  const dMargin = Number(await difference.getAttribute('data-margin')), dCell = Number(await difference.getAttribute('data-cell'));
  await page.mouse.move(box.x + dMargin + (cleanCell.key + 0.5) * dCell, box.y + dMargin + (cleanCell.query + 0.5) * dCell);
  const differenceTip = difference.getByRole('tooltip');
  await expect(differenceTip).toHaveAttribute('data-query', String(cleanCell.query));
  await expect(differenceTip).toHaveAttribute('data-key', String(cleanCell.key));
  const secondSnap = recorded.get(`${secondRun}:${cleanCell.step}:${cleanCell.example}`);
  expect(secondSnap, 'the worker sent the MEAP snapshot on screen').toBeDefined();
  const expectedDifference = expectedClean - secondSnap!.clean[((1 * H + 1) * T + cleanCell.query) * T + cleanCell.key];
  expect(Number(await differenceTip.getAttribute('data-difference'))).toBe(expectedDifference);
  expect(await differenceTip.textContent()).toContain(Math.abs(expectedDifference).toPrecision(4));
  await page.mouse.move(0, 0);

  // Masked input, layer 0, head 0, on the MEAP run.
  await panel.getByLabel('layer', { exact: true }).selectOption('0');
  await panel.getByLabel('head', { exact: true }).selectOption('0');
  await panel.getByRole('radio', { name: 'masked input' }).check();
  const maskedCell = await hoverCell(page, meap, T - 2, 1);
  expect(maskedCell).toMatchObject({ layer: 0, head: '0', input: 'masked', query: T - 2, key: 1 });
  const maskedSnap = recorded.get(`${maskedCell.run}:${maskedCell.step}:${maskedCell.example}`);
  expect(maskedSnap).toBeDefined();
  expect(maskedCell.probability).toBe(maskedSnap!.masked[((0 * H + 0) * T + maskedCell.query) * T + maskedCell.key]);
  expect(maskedCell.run).not.toBe(cleanCell.run);
  await panel.getByRole('radio', { name: 'clean input' }).check();

  // Score histogram: both runs overlaid.
  const histogram = panel.getByTestId('score-histogram');
  await expect(histogram).toHaveAttribute('data-series', '2');
  await expect(histogram.locator('path[data-objective="ntp"]')).toHaveCount(1);
  await expect(histogram.locator('path[data-objective="meap"]')).toHaveCount(1);

  // Segment mass over training: a point per evaluation per run, and each run's latest split sums to 100 %.
  const mass = panel.getByTestId('segment-mass');
  expect(Number(await mass.getAttribute('data-points'))).toBeGreaterThanOrEqual(2 * 4);
  for (const row of await mass.getByTestId('segment-mass-table').locator('tbody tr[data-run]').all()) {
    const values = (await row.locator('td[data-segment]').allTextContents()).map((t) => Number.parseFloat(t));
    expect(values).toHaveLength(4);
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
  }

  // Paired clean-vs-masked table and per-head entropy bars (layers × heads × 2 runs).
  await expect(panel.getByTestId('paired-mask').locator('td[data-run]')).toHaveCount(6 * 2);
  await expect(panel.getByTestId('head-entropy').locator('rect[data-run]')).toHaveCount(cleanSnap!.layers * H * 2);

  await panel.screenshot({ path: testInfo.outputPath('attention-panel.png') });

  // Try the models: an unknown token is refused inline; a probe example gets both models' continuations.
  const tryPanel = page.getByTestId('try-models-panel');
  await tryPanel.getByTestId('prompt-input').fill('w1 K1 : nonsense');
  await tryPanel.getByRole('button', { name: 'Continue' }).click();
  await expect(tryPanel.getByTestId('prompt-error')).toContainText('Unknown token "nonsense"');
  await tryPanel.getByLabel('probe example').selectOption('1');
  await expect(tryPanel.getByTestId('prompt-input')).not.toHaveValue('');
  await tryPanel.getByRole('button', { name: 'Continue' }).click();
  await expect(tryPanel.getByTestId('generation-run')).toHaveCount(2);
  for (const run of await tryPanel.getByTestId('generation-run').all()) {
    await expect(run.getByTestId('continuation')).not.toBeEmpty();
    await expect(run.locator('ol li')).toHaveCount(5);
  }
  await tryPanel.screenshot({ path: testInfo.outputPath('try-models.png') });
  // Does the answer read the key? The example with its query key swapped: only the last token changes; back again.
  const original = (await tryPanel.getByTestId('prompt-input').inputValue()).split(' ');
  await tryPanel.getByTestId('swap-key').click();
  const swapped = (await tryPanel.getByTestId('prompt-input').inputValue()).split(' ');
  expect(swapped.slice(0, -1)).toEqual(original.slice(0, -1));
  expect(swapped.at(-1)).toMatch(/^K\d+$/);
  expect(original).not.toContain(swapped.at(-1));
  await tryPanel.getByRole('button', { name: 'Continue' }).click();
  await expect(tryPanel.getByTestId('swapped-note')).toContainText('names a key the prompt does not hold');
  await expect(tryPanel.getByTestId('generation-run')).toHaveCount(2);
  await expect(tryPanel.locator('.att-continuation').first()).toContainText(swapped.join(' '));
  await tryPanel.getByTestId('swap-key').click();
  await expect(tryPanel.getByTestId('prompt-input')).toHaveValue(original.join(' '));
  await expect(tryPanel.getByTestId('swapped-note')).toHaveCount(0);

  expect(errors).toEqual([]);
});

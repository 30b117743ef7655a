import { expect, test, type Page } from '@playwright/test';
import { waitForStudy, watchErrors } from './helpers';

/**
 * The Fine-tune stage in the page (issue 13 item 4): a tiny qa study from a link is pretrained, then fine-tuned
 * by SFT and MEAP-SFT from the same models in the Worker, and the comparison views show the two variants.
 */

interface SummaryRow { line: string; last: number; points: number }
const summary = (page: Page, id: string): Promise<SummaryRow[]> => page.getByTestId(`summary-${id}`).locator('tbody tr').evaluateAll((rows) => rows.map((row) => ({
  line: row.getAttribute('data-line') ?? '', last: Number(row.getAttribute('data-last')), points: Number(row.getAttribute('data-points')),
})));

test('a qa study pretrains, fine-tunes SFT and MEAP-SFT, and the by-position accuracy fills with both', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=qa-tiny&steps=20&evalEvery=10&finetune=sft,meap-sft&finetuneSteps=10');
  await waitForStudy(page);
  const runbar = page.getByTestId('runbar');

  // The qa presets are in the preset list; the fine-tuning settings are in the controls, from the link.
  for (const name of ['qa-tiny', 'qa-s']) await expect(page.getByTestId('select-preset').locator(`option[value="${name}"]`)).toHaveCount(1);
  const controls = page.getByTestId('finetune-controls');
  await expect(controls.getByTestId('input-finetune-sft')).toBeChecked();
  await expect(controls.getByTestId('input-finetune-meap-sft')).toBeChecked();
  await expect(controls.getByTestId('input-finetune-meap-sft-all')).not.toBeChecked();
  await expect(controls.getByTestId('input-finetuneSteps')).toHaveValue('10');
  // Fine-tuning is offered before pretraining (from the current models) but is the next step once it is done.
  await expect(page.getByTestId('finetune-button')).toBeEnabled();
  await expect(page.getByTestId('legend-arm')).toHaveText(['NTP']);

  // Stage 1: pretraining.
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('step-count')).toHaveText('20');
  await expect(page.getByTestId('finetune-offer')).toContainText('SFT and MEAP-SFT');

  // Stage 2: built from the pretrained model, paused at fine-tuning step 0.
  await page.getByTestId('finetune-button').click();
  await expect(page.getByTestId('run-stage')).toBeVisible({ timeout: 60_000 });
  await expect(runbar).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(runbar).toContainText('fine-tuning step 0 / 10');
  await expect(page.getByTestId('finetune-button')).toHaveCount(0);
  await expect(page.getByTestId('legend-arm')).toHaveText(['SFT', 'MEAP-SFT']);
  // The controls keep the study (no pending edits), and the link still names it.
  await expect(page.getByTestId('pending-edits')).toHaveCount(0);
  expect(new URL(page.url()).searchParams.get('finetuneSteps')).toBe('10');

  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('step-count')).toHaveText('10');

  // Accuracy by answer document: one line per variant, one point per document.
  await expect(page.getByTestId('chart-depth').locator('h3')).toHaveText('Accuracy by answer document');
  const depth = await summary(page, 'depth');
  expect(depth.map((r) => r.line)).toEqual(['SFT', 'MEAP-SFT']);
  // One point per answer document (the preset's evaluation buckets), the same for both variants.
  expect(depth[0].points).toBeGreaterThanOrEqual(2);
  for (const row of depth) {
    expect(row.points, row.line).toBe(depth[0].points);
    expect(row.last).toBeGreaterThanOrEqual(0);
  }
  // Exact match and token accuracy over fine-tuning steps, the training (answer) loss, MEAP-SFT − SFT.
  for (const id of ['accuracy', 'qa', 'train-loss', 'val-loss', 'diff']) {
    const rows = await summary(page, id);
    expect(rows.map((r) => r.line), id).toEqual(id === 'diff' ? ['MEAP-SFT'] : ['SFT', 'MEAP-SFT']);
    for (const row of rows) expect(row.points, `${id} ${row.line}`).toBeGreaterThanOrEqual(2);
  }
  await expect(page.getByTestId('chart-accuracy').locator('h3')).toHaveText('Exact match');
  await expect(page.getByTestId('chart-train-loss')).toContainText('fine-tuning step');

  // Attention on QA prompts: both fine-tuned models' heatmaps drawn at the last evaluation, segment mass filled.
  const panel = page.getByTestId('attention-panel');
  const heatmaps = panel.getByTestId('attention-heatmap');
  await expect(heatmaps).toHaveCount(2);
  for (const figure of await heatmaps.all()) {
    await expect(figure).toHaveAttribute('data-step', '10', { timeout: 30_000 });
    await expect(figure).toHaveAttribute('data-drawn', 'true');
  }
  expect(Number(await panel.getByTestId('segment-mass').getAttribute('data-points'))).toBeGreaterThanOrEqual(2);

  // Try the models: both variants continue a QA prompt.
  const tryPanel = page.getByTestId('try-models-panel');
  await tryPanel.getByLabel('probe example').selectOption('1');
  await tryPanel.getByRole('button', { name: 'Continue' }).click();
  await expect(tryPanel.getByTestId('generation-run')).toHaveCount(2);
  await expect(tryPanel.getByTestId('generation-run').locator('h3')).toContainText(['SFT', 'MEAP-SFT']);

  for (const id of ['runbar', 'finetune-controls', 'chart-depth', 'chart-qa']) {
    await page.getByTestId(id).scrollIntoViewIfNeeded();
    await page.getByTestId(id).screenshot({ path: testInfo.outputPath(`finetune-${id}.png`) });
  }

  // The report compares pretraining arms: in the fine-tuning stage it says where the comparison is.
  await expect(page.getByTestId('compute-report')).toBeDisabled();
  await expect(page.getByTestId('report-finetune')).toBeVisible();

  // After a reload both stages' checkpoints are stored: this study's pretraining is offered first, then its
  // fine-tuning, which resumes as the fine-tuning stage with its curves.
  await page.reload();
  await waitForStudy(page);
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toHaveAttribute('data-stage', 'pretrain', { timeout: 30_000 });
  await expect(offer).toHaveAttribute('data-step', '20');
  await offer.getByRole('button', { name: 'Not now' }).click();
  await expect(offer).toHaveAttribute('data-stage', 'finetune');
  await expect(offer).toContainText('this study\'s fine-tuning is at fine-tuning step 10 of 10');
  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('run-stage')).toBeVisible({ timeout: 60_000 });
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(page.getByTestId('legend-arm')).toHaveText(['SFT', 'MEAP-SFT']);
  await expect(page.getByTestId('pending-edits')).toHaveCount(0);
  const resumed = await summary(page, 'depth');
  expect(resumed).toEqual(depth);
  // Its pretrained models were found again (in the study's checkpoint): Reset fine-tunes them again.
  await page.getByTestId('reset-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(runbar).toContainText('fine-tuning step 0 / 10');
  await expect(page.getByTestId('legend-arm')).toHaveText(['SFT', 'MEAP-SFT']);

  // Back to pretraining: stage 1 from step 0 with the study's config.
  await page.getByTestId('pretrain-button').click();
  await expect(page.getByTestId('run-stage')).toHaveCount(0, { timeout: 60_000 });
  await expect(runbar).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('legend-arm')).toHaveText(['NTP']);
  await expect(page.getByTestId('finetune-button')).toBeVisible();

  // Fine-tuning settings edited after pretraining are what Fine-tune applies (Reset would pretrain again).
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await controls.getByTestId('input-finetune-meap-sft-all').check();
  await expect(page.getByTestId('pending-edits')).toContainText('Fine-tune applies them to the current models');
  expect(new URL(page.url()).searchParams.get('finetune')).toBe('sft,meap-sft,meap-sft-all');
  await page.getByTestId('finetune-button').click();
  await expect(page.getByTestId('run-stage')).toBeVisible({ timeout: 60_000 });
  await expect(runbar).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('legend-arm')).toHaveText(['SFT', 'MEAP-SFT', 'MEAP-SFT (all)']);
  await expect(page.getByTestId('pending-edits')).toHaveCount(0);
  // In the fine-tuning stage, at its step 0, Start applies another fine-tuning edit to the same pretrained models.
  await controls.getByTestId('input-finetune-meap-sft').uncheck();
  await expect(page.getByTestId('finetune-button')).toHaveText('Fine-tune with changes');
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('legend-arm')).toHaveText(['SFT', 'MEAP-SFT (all)']);
  await expect(page.getByTestId('run-stage')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a model uploaded into the runs is fine-tuned like a pretrained one', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const link = '/?preset=qa-tiny&steps=20&evalEvery=10&finetune=sft,meap-sft&finetuneSteps=4';
  await page.goto(link);
  await waitForStudy(page);
  const runbar = page.getByTestId('runbar');
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  const pretrained = (await summary(page, 'val-loss'))[0];
  expect(pretrained.line).toBe('NTP');

  // Download the pretrained model, then start over in a fresh page (its runs at their initial weights).
  const panel = page.getByTestId('model-files');
  const downloads: import('@playwright/test').Download[] = [];
  page.on('download', (d) => downloads.push(d));
  await page.getByTestId('download-model').click();
  await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(2);
  const paths = await Promise.all(downloads.map(async (d) => {
    const path = testInfo.outputPath(d.suggestedFilename());
    await d.saveAs(path);
    return path;
  }));
  await page.goto(link);
  await waitForStudy(page);
  await panel.getByTestId('upload-model').setInputFiles(paths);
  const uploaded = page.getByTestId('upload-summary');
  await uploaded.getByTestId('load-run').selectOption({ label: 'NTP, seed 0' });
  await uploaded.getByTestId('load-model').click();
  await expect(page.getByTestId('model-loaded')).toContainText('NTP, seed 0 now has the weights of "model.safetensors"');

  // Fine-tune at step 0: both variants start from the uploaded weights, so their validation loss at fine-tuning
  // step 0 is the pretrained model's at its last step.
  await page.getByTestId('finetune-button').click();
  await expect(page.getByTestId('run-stage')).toBeVisible({ timeout: 60_000 });
  await expect(runbar).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('primary-button').click();
  await expect(runbar).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  const start = await page.getByTestId('summary-val-loss').locator('tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({ line: row.getAttribute('data-line'), first: Number(row.getAttribute('data-first')) })));
  expect(start.map((r) => r.line)).toEqual(['SFT', 'MEAP-SFT']);
  for (const row of start) expect(row.first, row.line!).toBeCloseTo(pretrained.last, 5);
  expect(errors).toEqual([]);
});

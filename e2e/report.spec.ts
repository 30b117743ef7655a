import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';
import { analyseStudy, formatLossEstimate, formatPercent, formatPercentEstimate, STUDY_FORMAT, type StudyRecord } from '../src/study/report';
import { studyDefinition } from '../src/study/studies';
import { pageStudyConfig } from '../src/study/studyPresets';

/**
 * The report view in the real page (WebGPU on SwiftShader): the tiny study with 2 arms × 2 seeds trains to
 * the end, its report is computed and its attention analysed in the Worker, the tables agree with the
 * downloaded study.json (recomputed here by hand and by the same analyseStudy), the downloads parse, and a
 * reset clears it. The named studies are offered as presets with their question and size (not trained here).
 */

async function openStudy(page: Page, query: string): Promise<void> {
  await page.goto(`/?${query}`);
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
}

/** Clicks a download button and returns the file's name and text. */
async function download(page: Page, testId: string, path: (name: string) => string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const name = file.suggestedFilename();
  await file.saveAs(path(name));
  return { name, text: readFileSync(path(name), 'utf8') };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('the report of the user\'s own run: compute, analyse attention, tables match the downloaded study.json, reset clears it', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await openStudy(page, 'preset=tiny&steps=40&evalEvery=10&seedsPerArm=2');
  const panel = page.getByTestId('report-panel');
  await expect(panel.getByTestId('compute-report')).toBeDisabled(); // no evaluation yet

  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await panel.getByTestId('compute-report').click();
  await expect(panel.getByTestId('report-body')).toBeVisible();
  await expect(panel.getByTestId('report-asof')).toHaveAttribute('data-step', '40');
  await expect(panel.getByTestId('report-attention-missing')).toBeVisible();
  await expect(panel.getByTestId('report-arms').locator('tbody tr')).toHaveCount(2);
  await expect(panel.getByTestId('report-arm-pairs')).toHaveCount(0); // one MEAP arm: no pairs
  // Two seeds per arm: shown, never judged.
  await expect(panel.getByTestId('report-overall')).toContainText('Too few seeds for a claim');
  const verdicts = panel.getByTestId('report-comparisons').getByTestId('verdict');
  await expect(verdicts).toHaveCount(3);
  for (const v of await verdicts.allTextContents()) expect(v).toBe('too few seeds for a claim');

  await panel.getByTestId('analyse-attention').click();
  await expect(panel.getByTestId('attention-status')).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(panel.getByTestId('report-attention')).toBeVisible();
  // 4 segments, then each per layer (2 layers), the 5 single tokens of the needle task per layer, the key-swap probe's
  // two rows, then 3 more measures.
  await expect(panel.getByTestId('report-attention').locator('tbody tr')).toHaveCount(4 + 2 * 4 + 2 * 5 + 2 + 3);
  await expect(panel.getByTestId('report-figures').locator('[data-figure="attention-mass.svg"] img')).toHaveCount(1);
  await expect(panel.getByTestId('report-figures').locator('img')).toHaveCount(9);

  const json = await download(page, 'download-study-json', (n) => testInfo.outputPath(n));
  expect(json.name).toBe('study.json');
  const record = JSON.parse(json.text) as StudyRecord;
  expect(record.format).toBe(STUDY_FORMAT);
  expect(record.study).toBe('playground-run');
  expect(record.definition.config.steps).toBe(40);
  const runs = record.units.flatMap((u) => u.runs);
  expect(runs).toHaveLength(4);
  for (const run of runs) {
    expect(run.history.map((p) => p.step)).toEqual([10, 20, 30, 40]);
    expect(run.attention).not.toBeNull();
  }

  // Final accuracy and needle attention of NTP recomputed by hand from the JSON, found in the tables.
  const ntpRuns = runs.filter((r) => r.arm === 0);
  const ntpFinal = mean(ntpRuns.map((r) => r.history[r.history.length - 1].retrievalAcc));
  const ntpRow = panel.getByTestId('report-arms').locator('tbody tr[data-arm="NTP"]');
  await expect(ntpRow.getByTestId('final-acc')).toContainText(`${formatPercent(ntpFinal)} [`);
  const needle = ntpRuns[0].attention!.segmentNames.indexOf('needle');
  const ntpNeedle = mean(ntpRuns.map((r) => r.attention!.segmentMass[needle]));
  await expect(panel.getByTestId('report-attention').locator('tr[data-measure="mass-needle"] td').first()).toContainText(`${formatPercent(ntpNeedle)} [`);
  const ntpLayer0Needle = mean(ntpRuns.map((r) => r.attention!.segmentMassByLayer[0][needle]));
  await expect(panel.getByTestId('report-attention').locator('tr[data-measure="mass-layer0-needle"] td').first())
    .toContainText(`${formatPercent(ntpLayer0Needle)} [`);
  const marker = ntpRuns[0].attention!.tokenNames!.indexOf('query ?');
  const ntpLayer0Marker = mean(ntpRuns.map((r) => r.attention!.tokenMassByLayer![0][marker]));
  await expect(panel.getByTestId('report-attention').locator('tr[data-measure="token-layer0-query ?"] td').first())
    .toContainText(`${formatPercent(ntpLayer0Marker)} [`);
  const ntpSwapped = mean(ntpRuns.map((r) => r.attention!.keySwap!.swapped));
  await expect(panel.getByTestId('report-attention').locator('tr[data-measure="key-swap-swapped"] td').first())
    .toContainText(`${formatPercent(ntpSwapped)} [`);
  // Every cell of the per-arm table is analyseStudy(study.json)'s.
  const summary = analyseStudy(record);
  for (const arm of summary.arms) {
    const row = panel.getByTestId('report-arms').locator(`tbody tr[data-arm="${arm.label}"]`);
    await expect(row.getByTestId('final-acc')).toHaveText(formatPercentEstimate(arm.finalAcc));
    await expect(row.getByTestId('final-loss')).toHaveText(formatLossEstimate(arm.finalValLoss));
    await expect(panel.getByTestId('report-learned').locator(`tr[data-arm="${arm.label}"]`)).toHaveAttribute('data-learned', String(arm.learned.learnedCount));
  }

  const md = await download(page, 'download-report-md', (n) => testInfo.outputPath(n));
  expect(md.name).toBe('report.md');
  expect(md.text).toMatch(/^# playground run: NTP vs MEAP 15% on the tiny preset with edits/);
  expect(md.text).toContain('## MEAP − NTP');
  expect(md.text).toContain('attention on needle');
  expect(md.text).toContain(formatPercentEstimate(summary.arms[0].finalAcc));
  await panel.screenshot({ path: testInfo.outputPath('report.png') });

  // A reset replaces the series: the report goes with them.
  await page.getByTestId('reset-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-step', '0', { timeout: 60_000 });
  await expect(panel.getByTestId('report-body')).toHaveCount(0);
  await expect(panel.getByTestId('attention-status')).toHaveCount(0);
  await expect(panel.getByTestId('compute-report')).toBeDisabled();
  expect(errors).toEqual([]);
});

test('two MEAP arms are compared with each other, paired by seed, as report.md does', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await openStudy(page, 'preset=tiny&steps=20&evalEvery=10&seedsPerArm=2&arms=0,0.15,0.3');
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  const panel = page.getByTestId('report-panel');
  await panel.getByTestId('compute-report').click();
  const pairs = panel.getByTestId('report-arm-pairs');
  await expect(pairs.locator('tbody tr')).toHaveCount(1);
  const json = await download(page, 'download-study-json', (n) => testInfo.outputPath(n));
  const [pair] = analyseStudy(JSON.parse(json.text) as StudyRecord).armPairs;
  const row = pairs.locator('tr[data-pair="MEAP 15% vs MEAP 30%"]');
  await expect(row.getByTestId('discordant')).toHaveText(`${pair.test.onlyFirst} / ${pair.test.onlySecond}`);
  // Two seeds: counted, never judged.
  await expect(row.getByTestId('verdict')).toHaveText('too few seeds for a claim');
  const md = await download(page, 'download-report-md', (n) => testInfo.outputPath(n));
  expect(md.text).toContain('## MEAP arms against each other (paired by seed)');
  expect(errors).toEqual([]);
});

test('the named studies are presets: chosen from the list or a link, with their question, size and reproduce command', async ({ page }) => {
  const errors = watchErrors(page);
  await openStudy(page, 'preset=tiny&steps=40');
  const quick = studyDefinition('needle-quick');
  await page.getByTestId('select-preset').selectOption('study:needle-quick');
  await expect(page.getByTestId('study-question')).toContainText(quick.question);
  // The 64-seed study: the page trains its first 16 seeds (its limits), and says so.
  const seeds = pageStudyConfig(quick).seedsPerArm;
  expect([seeds, quick.config.seedsPerArm]).toEqual([16, 64]);
  await expect(page.getByTestId('study-compute')).toContainText(`${2 * seeds} runs (2 arms × ${seeds} seeds)`);
  await expect(page.getByTestId('study-seed-cap')).toContainText('The study plans 64 seeds per arm; the page trains its first 16');
  await expect(page.getByTestId('input-seedsPerArm')).toHaveValue(String(seeds));
  await expect(page.getByTestId('input-steps')).toHaveValue(String(quick.config.steps));
  await expect.poll(() => new URL(page.url()).searchParams.get('preset')).toBe('study:needle-quick');
  await expect(page.getByTestId('cli-command')).toHaveText('npm run reproduce -- --study needle-quick');
  // An edit on top is a playground run of the same preset, still one command away.
  await page.getByTestId('input-steps').fill('100');
  await expect(page.getByTestId('study-edited')).toBeVisible();
  await expect(page.getByTestId('cli-command')).toContainText('npm run compare -- --preset quick --steps 100');
  await expect(page.getByTestId('cli-command')).toContainText('--eval-count 512');

  // A link to a study preset opens it as it is.
  const sweep = studyDefinition('sweep');
  await page.goto('/?preset=study:sweep');
  await expect(page.getByTestId('select-preset')).toHaveValue('study:sweep');
  await expect(page.getByTestId('study-question')).toContainText(sweep.question);
  await expect(page.getByTestId('arm-chip')).toHaveCount(5);
  await expect(page.getByTestId('notices')).toHaveCount(0);
  expect(errors).toEqual([]);
});

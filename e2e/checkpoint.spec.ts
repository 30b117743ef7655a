import { expect, test, type Page, type Worker } from '@playwright/test';
import { watchErrors, waitForStudy } from './helpers';

/**
 * Checkpoints and faults in the real page (system Chromium, SwiftShader): autosave to IndexedDB, reload
 * mid-run → "Resume from step N" → training continues from N; a hidden tab saves; a lost GPU device is
 * recovered from the last checkpoint; a crashed Worker is replaced and its last checkpoint offered.
 */

const stepOf = async (page: Page) => Number(await page.getByTestId('runbar').getAttribute('data-step'));
const lastSaved = async (page: Page) => Number(await page.getByTestId('checkpoint-panel').getAttribute('data-last-step') || 0);

/** The training Worker (the page starts exactly one at a time). */
async function trainerWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().length, { timeout: 30_000 }).toBeGreaterThan(0);
  return page.workers().at(-1)!;
}

// Every test runs in a new browser context, so each starts with an empty IndexedDB.

test('autosave every N steps; reload mid-run offers "Resume from step N", which continues from N', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  const query = 'preset=tiny&steps=2000&evalEvery=10&checkpointEvery=10';
  await page.goto(`/?${query}`);
  await waitForStudy(page);
  await expect(page.getByTestId('checkpoint-every')).toHaveValue('10');
  await expect(page.getByTestId('resume-offer')).toHaveCount(0); // nothing stored yet
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => lastSaved(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(20);
  await expect(page.getByTestId('checkpoint-panel')).toHaveAttribute('data-store', 'indexeddb');
  expect((await lastSaved(page)) % 10).toBe(0);
  await expect(page.getByTestId('checkpoint-status')).toContainText('in this browser');
  const savedBeforeReload = await lastSaved(page);

  // Reload while training: the URL keeps the study, the store keeps its checkpoint.
  await page.reload();
  await waitForStudy(page);
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toBeVisible({ timeout: 30_000 });
  await expect(offer).toContainText('this study');
  const offered = Number(await offer.getAttribute('data-step'));
  expect(offered).toBeGreaterThanOrEqual(savedBeforeReload);
  await expect(page.getByTestId('step-count')).toHaveText('0');

  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  expect(await stepOf(page)).toBe(offered);
  await expect(page.getByTestId('resume-offer')).toHaveCount(0);
  await expect(page.getByTestId('checkpoint-notice')).toHaveText(`Resumed from the checkpoint of step ${offered}.`);
  // The curves up to the checkpoint came back with it: the page's early evaluations (0, 4, 8), then one every 10 steps.
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', String(3 + Math.floor(offered / 10)));
  await expect(page.getByTestId('checkpoint-panel')).toHaveAttribute('data-last-step', String(offered));
  // So did the gradient norms, learning rates and weight norms (every point of the curves, none missing).
  const linePoints = (id: string) => page.getByTestId(`summary-${id}`).locator('tbody tr').first().getAttribute('data-points');
  expect(await linePoints('grad-norm')).toBe(await linePoints('train-loss'));
  expect(await linePoints('learning-rate')).toBe(await linePoints('train-loss'));
  expect(await linePoints('weight-norm')).toBe(await linePoints('val-loss'));

  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'running');
  await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(offered + 10);
  // It keeps autosaving after the resume.
  await expect.poll(() => lastSaved(page), { timeout: 60_000 }).toBeGreaterThan(offered);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.screenshot({ path: testInfo.outputPath('resumed.png') });
  expect(errors).toEqual([]);
});

test('after resuming, no second "Resume from step N" offer (another study\'s) stacks under the notice', async ({ page }) => {
  const errors = watchErrors(page);
  const study = (seed: number) => `/?preset=tiny&steps=2000&evalEvery=10&checkpointEvery=10&baseSeed=${seed}`;
  // Two studies with a stored checkpoint each.
  for (const seed of [1, 2]) {
    await page.goto(study(seed));
    await waitForStudy(page);
    await page.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => lastSaved(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(10);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  }
  await page.goto(study(2));
  await waitForStudy(page);
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toContainText('this study', { timeout: 30_000 });
  const offered = Number(await offer.getAttribute('data-step'));
  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('checkpoint-notice')).toHaveText(`Resumed from the checkpoint of step ${offered}.`, { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  // The other study's checkpoint is not offered now (it was before the resume); training on saves without one.
  await page.waitForTimeout(500);
  await expect(offer).toHaveCount(0);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => lastSaved(page), { timeout: 60_000 }).toBeGreaterThan(offered);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(offer).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a hidden tab saves a checkpoint; Save now saves on demand', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=2000&evalEvery=50&checkpointEvery=100000');
  await waitForStudy(page);
  await expect(page.getByTestId('save-checkpoint')).toBeDisabled(); // step 0: nothing to save
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(3);
  expect(await lastSaved(page)).toBe(0);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await expect.poll(() => lastSaved(page), { timeout: 30_000 }).toBeGreaterThan(3);
  await page.evaluate(() => {
    delete (document as unknown as { visibilityState?: string }).visibilityState;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  const paused = await stepOf(page);
  await page.getByTestId('save-checkpoint').click();
  await expect(page.getByTestId('checkpoint-panel')).toHaveAttribute('data-last-step', String(paused));
  expect(errors).toEqual([]);
});

test('device loss: the page says so, recovers from the last checkpoint and keeps training', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=2000&evalEvery=10&checkpointEvery=10');
  await waitForStudy(page);
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => lastSaved(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(10);
  const worker = await trainerWorker(page);
  // What a driver reset does: the Worker's device is destroyed (the session's test hook calls device.destroy()).
  await worker.evaluate(() => {
    (self as unknown as { onmessage: (e: { data: unknown }) => void }).onmessage({ data: { type: 'simulateDeviceLoss' } });
  });
  const recovery = page.getByTestId('device-recovery');
  await expect(recovery).toBeVisible({ timeout: 30_000 });
  await expect(recovery).toContainText('GPU device lost');
  await expect(recovery).toHaveAttribute('data-phase', 'recovered', { timeout: 60_000 });
  await expect(recovery).toContainText(/rebuilt from the checkpoint of step \d+/);
  const restoredAt = Number((await recovery.textContent())!.match(/checkpoint of step (\d+)/)![1]);
  expect(restoredAt % 10).toBe(0);
  // Training continues by itself on the new device.
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'running', { timeout: 60_000 });
  await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(restoredAt + 5);
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready');
  await page.getByRole('button', { name: 'Pause' }).click();
  expect(errors).toEqual([]);
});

test('a crashed Worker: the page says so, starts a new one and offers the last checkpoint', async ({ page }) => {
  const errors = watchErrors(page, [/simulated crash/]);
  await page.goto('/?preset=tiny&steps=2000&evalEvery=10&checkpointEvery=10');
  await waitForStudy(page);
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(() => lastSaved(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(10);
  const worker = await trainerWorker(page);
  await worker.evaluate(() => { setTimeout(() => { throw new Error('simulated crash'); }, 0); });
  await expect(page.getByTestId('worker-crash')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('worker-crash')).toContainText('A new one was started');
  // Consistent state: nothing claims to be training.
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'failed');
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toBeVisible({ timeout: 60_000 });
  const offered = Number(await offer.getAttribute('data-step'));
  expect(offered).toBeGreaterThanOrEqual(10);
  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  expect(await stepOf(page)).toBe(offered);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => stepOf(page), { timeout: 60_000 }).toBeGreaterThan(offered);
  await page.getByRole('button', { name: 'Pause' }).click();
  expect(errors).toEqual([]);
});

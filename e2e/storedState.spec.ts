import { expect, test, type Page } from '@playwright/test';
import { watchErrors, waitForStudy } from './helpers';

/**
 * Hostile stored state in the real page (system Chromium): malformed checkpoint summaries written straight
 * into the page's IndexedDB (database `meap-playground`, stores `summaries` and `data`, as
 * src/session/checkpointStore.ts keeps them) are listed as "unreadable checkpoint" with a delete button after
 * a reload — the page never blanks — and a panel that throws while rendering fails alone.
 */

/** Puts `summary` (and `data` unless undefined) under `key` in the page's checkpoint database. */
async function writeStored(page: Page, key: string, summary: unknown, data?: number[]): Promise<void> {
  await page.evaluate(async ({ key, summary, data }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('meap-playground', 1);
      req.onupgradeneeded = () => { req.result.createObjectStore('summaries'); req.result.createObjectStore('data'); };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction(['summaries', 'data'], 'readwrite');
    tx.objectStore('summaries').put(summary, key);
    if (data) tx.objectStore('data').put(new Uint8Array(data), key);
    await new Promise<void>((resolve, reject) => { tx.oncomplete = () => resolve(); tx.onerror = () => reject(tx.error); });
    db.close();
  }, { key, summary, data });
}

test('malformed checkpoint summaries in IndexedDB: listed as unreadable with a delete button, never a blank page', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny');
  await waitForStudy(page);
  const base = { engine: 'webgpu', presetName: 'tiny', step: 3, savedAt: Date.now(), bytes: 3, reason: 'auto' };
  // The case: no config (rendering `config.task` threw and blanked the page on every load).
  await writeStored(page, 'no-config', { ...base, key: 'no-config' }, [1, 2, 3]);
  await writeStored(page, 'partial-config', { ...base, key: 'partial-config', config: { task: 'needle', steps: 10 } }, [1, 2, 3]);
  await writeStored(page, 'not-an-object', 42, [1]);
  await writeStored(page, 'bad-date', { ...base, key: 'bad-date', savedAt: 1e20 }, [1]);

  await page.reload();
  await waitForStudy(page);
  const unreadable = page.getByTestId('unreadable-checkpoint');
  await expect(unreadable).toHaveCount(4);
  await expect(unreadable.first()).toContainText('Unreadable checkpoint');
  await expect(page.getByTestId('unreadable-checkpoint').filter({ hasText: 'config' }).first()).toBeVisible();
  await expect(page.getByTestId('resume-offer')).toHaveCount(0);
  await expect(page.getByTestId('panel-failed')).toHaveCount(0);
  // The page works: the study trains.
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => Number(await page.getByTestId('runbar').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(2);
  await page.getByRole('button', { name: 'Pause' }).click();

  // Each one deletes, and stays deleted after a reload.
  for (let left = 4; left > 0; left--) {
    await page.getByTestId('delete-unreadable-checkpoint').first().click();
    await expect(unreadable).toHaveCount(left - 1);
  }
  await page.reload();
  await waitForStudy(page);
  await expect(page.getByRole('heading', { name: 'MEAP playground' })).toBeVisible();
  await expect(unreadable).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a panel that throws while rendering fails alone: the rest of the page keeps working', async ({ page }) => {
  // React reports an error caught by a boundary on the console; that one is expected here.
  const errors = watchErrors(page, [/toLocaleString is broken/, /The above error occurred/]);
  await page.goto('/?preset=tiny&steps=2000');
  await waitForStudy(page);
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => Number(await page.getByTestId('runbar').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(2);
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'paused');
  await page.getByTestId('save-checkpoint').click();
  await expect(page.getByTestId('checkpoint-panel')).not.toHaveAttribute('data-last-step', '');

  // After the reload the checkpoint panel renders the offer's save time, and formatting a date now throws
  // (in the page only; the Worker is untouched).
  await page.addInitScript(() => {
    Date.prototype.toLocaleString = () => { throw new Error('toLocaleString is broken'); };
  });
  await page.reload();
  await expect(page.getByTestId('panel-failed')).toHaveAttribute('data-panel', 'Checkpoints', { timeout: 60_000 });
  await expect(page.getByTestId('panel-failed')).toContainText('toLocaleString is broken');
  await waitForStudy(page);
  await expect(page.getByRole('heading', { name: 'MEAP playground' })).toBeVisible();
  await page.getByRole('button', { name: 'Start' }).click();
  await expect.poll(async () => Number(await page.getByTestId('runbar').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(2);
  expect(errors).toEqual([]);
});

test('a link\'s invalid checkpointEvery is ignored with a notice, like every other link value', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&checkpointEvery=0x10');
  await waitForStudy(page);
  await expect(page.getByTestId('notices')).toContainText('Ignored checkpointEvery="0x10" from the link');
  await expect(page.getByTestId('checkpoint-every')).toHaveValue('100');
  expect(errors).toEqual([]);
});

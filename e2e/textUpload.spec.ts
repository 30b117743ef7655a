import { expect, test } from '@playwright/test';
import { watchErrors } from './helpers';

test('upload a text for the text task: binary refused with its reason, plain text trained on, not put in the link', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&task=text&steps=20&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  const upload = page.getByTestId('text-upload');
  await expect(upload).toHaveAttribute('data-source', 'generated');

  const binary = Buffer.alloc(600, 0x61);
  binary[5] = 0;
  await page.getByTestId('text-upload-input').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: binary });
  await expect(page.getByTestId('text-upload-error'))
    .toHaveText('"data.bin" looks binary: it contains a NUL character (at offset 5); give plain UTF-8 text');
  await expect(upload).toHaveAttribute('data-source', 'generated');

  const prose = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
  await page.getByTestId('text-upload-input').setInputFiles({ name: 'fox.txt', mimeType: 'text/plain', buffer: Buffer.from(prose) });
  await expect(upload).toHaveAttribute('data-source', 'user');
  await expect(page.getByTestId('text-upload-error')).toHaveCount(0);
  await expect(page.getByTestId('text-upload-status')).toContainText(`“fox.txt” (${prose.length.toLocaleString('en-US')} characters)`);
  await expect(page.getByTestId('text-upload-status')).toContainText('Your text is not in the link');
  expect(page.url()).not.toContain('fox');

  // Step rebuilds the study with the text (edits at step 0) and trains on it.
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', '1', { timeout: 60_000 });
  await expect.poll(async () => Number(await page.getByTestId('runbar').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId('pending-edits')).toHaveCount(0);

  // The upload and its notice fit a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  await page.getByTestId('text-upload-clear').click();
  await expect(upload).toHaveAttribute('data-source', 'generated');
  // Going back to the generated corpus after steps is an edit the run bar names as such.
  await expect(page.getByTestId('pending-edits')).toContainText('You changed the training text.');
  expect(errors).toEqual([]);
});

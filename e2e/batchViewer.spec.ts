import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';

/** The batch viewer (issue 16 item 5): the batch the engine trained on, each arm's masked positions marked. */

const rowState = (page: Page) => page.getByTestId('batch-row').evaluateAll((rows) => rows.map((row) => ({
  ratio: Number(row.getAttribute('data-mask-ratio')),
  tokens: [...row.querySelectorAll('.att-token')].map((t) => t.textContent ?? ''),
  masked: [...row.querySelectorAll('.att-token')].flatMap((t, p) => (t.getAttribute('data-masked') === 'yes' ? [p] : [])),
  marked: [...row.querySelectorAll('.att-token')].flatMap((t, p) => (t.classList.contains('att-token-masked') ? [p] : [])),
})));

test('the batch viewer shows the last step\'s batch per arm with exactly its masked positions marked', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await expect(page.getByTestId('batch-show')).toBeDisabled(); // no step yet
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-step', '1', { timeout: 30_000 });
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-step', '2', { timeout: 30_000 });
  await page.getByTestId('batch-show').click();
  await expect(page.getByTestId('batch-viewer')).toHaveAttribute('data-step', '2', { timeout: 30_000 });
  await expect(page.getByTestId('batch-row')).toHaveCount(2);
  const first = await rowState(page);
  expect(first.map((r) => r.ratio)).toEqual([0, 0.15]);
  // Same tokens for both arms (seed 0 of every arm sees the same batch); T = 16 inputs.
  expect(first[0].tokens).toHaveLength(16);
  expect(first[1].tokens).toEqual(first[0].tokens);
  // NTP masks nothing; MEAP 15 % masks ⌊0.15 · 16⌋ = 2 inputs, never the last; what is marked is what the mask says.
  expect(first[0].masked).toEqual([]);
  expect(first[1].masked).toHaveLength(2);
  expect(first[1].masked.every((p) => p < 15)).toBe(true);
  for (const row of first) expect(row.marked).toEqual(row.masked);
  // Another sequence of the same batch: other tokens, other masked positions (the default draws per sequence).
  await page.getByTestId('batch-sequence').selectOption('3');
  const other = await rowState(page);
  expect(other[0].tokens).not.toEqual(first[0].tokens);
  expect(other[1].marked).toEqual(other[1].masked);
  expect(errors).toEqual([]);
});

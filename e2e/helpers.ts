/** What every e2e spec shares: failing on page errors, and waiting for the page's study to be built. */
import { expect, type Page } from '@playwright/test';

/**
 * Collects every uncaught page error and console error (a broken page must not pass); the spec asserts the
 * list is empty. `allowed` names errors a spec provokes on purpose (e.g. a lost device).
 */
export function watchErrors(page: Page, allowed: RegExp[] = []): string[] {
  const errors: string[] = [];
  const keep = (text: string) => { if (!allowed.some((a) => a.test(text))) errors.push(text); };
  page.on('pageerror', (error) => keep(`pageerror: ${error.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') keep(`console: ${msg.text()}`); });
  return errors;
}

/** Waits until the adapter is ready and the Worker has built the page's study (idle, not yet started). */
export async function waitForStudy(page: Page): Promise<void> {
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
}

import { expect, test, type Page } from '@playwright/test';
import { watchErrors } from './helpers';

/**
 * The page on a phone (390 × 844) and its small layout faults (issue 16 item 7): nothing wider than the
 * screen — report tables, attention views and the visually hidden chart tables included.
 */

/** Elements whose right edge passes the viewport (for the failure message). */
const overflowing = (page: Page) => page.evaluate(() => {
  const width = document.documentElement.clientWidth;
  const clipped = (e: Element) => {
    for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > width + 0.5 && !clipped(e))
    .slice(0, 25).map((e) => `${e.tagName.toLowerCase()}.${(e.className || '').toString().replace(/\s+/g, '.')}[${e.getAttribute('data-testid') ?? ''}] → ${Math.round(e.getBoundingClientRect().right)}`);
});

test('at 390 × 844 nothing overflows: trained study, report and attention views', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/?preset=tiny&steps=20&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await page.getByTestId('primary-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await page.getByRole('button', { name: 'Compute report' }).click();
  await expect(page.getByTestId('report-body')).toBeVisible({ timeout: 30_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: testInfo.outputPath('phone.png'), fullPage: true });
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth, (await overflowing(page)).join('\n')).toBeLessThanOrEqual(390);
  expect(errors).toEqual([]);
});

test('the sticky run bar never covers the sidebar, even with the pending-edits notice', async ({ page }) => {
  const errors = watchErrors(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto('/?preset=tiny&steps=40&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-step', '1', { timeout: 30_000 });
  await page.getByTestId('input-steps').fill('60');
  await expect(page.getByTestId('pending-edits')).toBeVisible();
  await page.mouse.wheel(0, 1500);
  await page.waitForTimeout(300);
  const bar = await page.getByTestId('runbar').boundingBox();
  const sidebar = await page.locator('.sidebar').boundingBox();
  expect(bar && sidebar).toBeTruthy();
  expect(sidebar!.y, 'the sidebar starts below the run bar').toBeGreaterThanOrEqual(bar!.y + bar!.height);
  expect(errors).toEqual([]);
});

test('no second "no WebGPU" message: the banner alone (a software adapter gets the preset notice only)', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('engine-banner')).toHaveCount(0);
  await expect(page.getByTestId('notice')).toHaveCount(1);
  await expect(page.getByTestId('notice')).toContainText('quick preset');
});

/** Text elements whose colour on their background is under WCAG AA (4.5:1; 3:1 for large text). */
const lowContrast = (page: Page) => page.evaluate(() => {
  const parse = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const luminance = ([r, g, b]: number[]) => {
    const f = (v: number) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  /** The background under an element: its ancestors' colours composited (opaque white below all). */
  const background = (e: Element): number[] => {
    const layers: number[][] = [];
    for (let a: Element | null = e; a; a = a.parentElement) {
      const c = parse(getComputedStyle(a).backgroundColor);
      if (c.length >= 3 && (c[3] ?? 1) > 0) { layers.push(c); if ((c[3] ?? 1) >= 1) break; }
    }
    let rgb = [255, 255, 255];
    for (const c of layers.reverse()) { const alpha = c[3] ?? 1; rgb = rgb.map((v, i) => alpha * c[i] + (1 - alpha) * v); }
    return rgb;
  };
  const bad: string[] = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim() !== '');
    if (!own || e.closest('.sr-only, [aria-hidden="true"]')) continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || style.display === 'none' || (e as HTMLElement).offsetParent === null) continue;
    const fg = parse(style.color);
    const bg = background(e);
    const alpha = fg[3] ?? 1;
    const text = fg.slice(0, 3).map((v, i) => alpha * v + (1 - alpha) * bg[i]);
    const [l1, l2] = [luminance(text), luminance(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5) && !(e as HTMLButtonElement).disabled && !e.closest('button:disabled')) {
      bad.push(`${e.tagName.toLowerCase()}.${e.className} "${(e.textContent ?? '').trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
    }
  }
  return bad;
});

test('text meets WCAG AA contrast on the trained page', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?preset=tiny&steps=20&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await page.getByTestId('primary-button').click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  const bad = await lowContrast(page);
  expect(bad, bad.join('\n')).toEqual([]);
});

test('the text task shows only its own charts: no retrieval or per-segment charts', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?preset=tiny&task=text&steps=20&evalEvery=10');
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('chart-val-loss')).toHaveAttribute('data-points', '1', { timeout: 30_000 });
  await expect(page.getByTestId('no-retrieval')).toBeVisible();
  for (const id of ['accuracy', 'depth', 'learned']) await expect(page.getByTestId(`chart-${id}`)).toHaveCount(0);
  // Once a snapshot shows the example has one segment, the segment-mass view says so and draws no charts.
  await expect(page.getByTestId('segment-mass')).toContainText('no segments', { timeout: 30_000 });
  await expect(page.getByTestId('segment-mass').locator('.att-mini')).toHaveCount(0);
  await expect(page.getByTestId('segment-mass-table')).toHaveCount(0);
  expect(errors).toEqual([]);
});

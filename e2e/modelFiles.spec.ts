import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type Download, type Page } from '@playwright/test';
import { watchErrors } from './helpers';
import { readSafetensors } from '../src/export/safetensors';
import { checkedStudyConfig } from '../src/config/validate';
import { modelConfigFromHf } from '../src/export/hfConfig';

/**
 * Model files in the real page: a trained run downloads as model.safetensors + config.json (readable by
 * the Node-side reader with the HF names), exports as ONNX that onnxruntime-web runs in the page with
 * logits matching our WGSL forward, and uploads are validated: a bad or mismatched file is refused with
 * a message and changes nothing; a good one replaces a run's weights.
 */

async function trainedStudy(page: Page): Promise<void> {
  await page.goto('/?preset=tiny&steps=20&evalEvery=10');
  await expect(page.getByTestId('device-panel')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).not.toHaveAttribute('data-applied', '', { timeout: 60_000 });
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'idle', { timeout: 60_000 });
  await page.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
}

async function saved(download: Download, path: string): Promise<Buffer> {
  await download.saveAs(path);
  return readFileSync(path);
}

/** Clicks "Download model" and returns the two files it saves. */
async function downloadModel(page: Page, dir: (name: string) => string): Promise<{ weights: Buffer; config: Buffer; names: string[] }> {
  const downloads: Download[] = [];
  const listener = (d: Download) => downloads.push(d);
  page.on('download', listener);
  await page.getByTestId('download-model').click();
  await expect.poll(() => downloads.length, { timeout: 30_000 }).toBe(2);
  page.off('download', listener);
  const names = downloads.map((d) => d.suggestedFilename());
  const weights = await saved(downloads[names.indexOf('model.safetensors')], dir('model.safetensors'));
  const config = await saved(downloads[names.indexOf('config.json')], dir('config.json'));
  return { weights, config, names };
}

test('download a run as safetensors + config.json; export ONNX and check it in onnxruntime-web against our forward', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await trainedStudy(page);
  const panel = page.getByTestId('model-files');
  await panel.getByTestId('export-run').selectOption({ label: 'MEAP 15%, seed 0' });

  const { weights, config, names } = await downloadModel(page, (n) => testInfo.outputPath(n));
  expect(names.sort()).toEqual(['config.json', 'model.safetensors']);
  const parsed = readSafetensors(new Uint8Array(weights), { checkStudy: checkedStudyConfig });
  expect(JSON.parse(parsed.metadata.meap_run)).toMatchObject({ run: 1, objective: 'meap', step: 20 });
  expect(parsed.study?.steps).toBe(20);
  expect(modelConfigFromHf(JSON.parse(config.toString('utf8')))).toEqual(parsed.config);
  expect(parsed.layout.tensors.map((t) => t.name)).toContain('model.layers.0.self_attn.q_proj.weight');
  await expect(page.getByTestId('model-files-status')).toContainText('model.safetensors');

  const onnxDownload = page.waitForEvent('download');
  await panel.getByTestId('export-onnx').click();
  const onnx = await onnxDownload;
  expect(onnx.suggestedFilename()).toBe('model.onnx');
  expect((await saved(onnx, testInfo.outputPath('model.onnx'))).length).toBeGreaterThan(weights.length / 2);
  const check = page.getByTestId('onnx-check');
  await expect(check).toBeVisible({ timeout: 120_000 });
  const maxDiff = Number(await check.getAttribute('data-max-diff'));
  const provider = await check.getAttribute('data-provider');
  testInfo.annotations.push({ type: 'onnx check', description: `${provider}: max |Δlogits| = ${maxDiff}; ${await check.textContent()}` });
  expect(['webgpu', 'wasm']).toContain(provider);
  expect(maxDiff).toBeLessThan(1e-4);
  await expect(check).toContainText('they agree');
  expect(errors).toEqual([]);
});

test('the ONNX check falls back to WebAssembly where the page has no WebGPU', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  // Only the page loses WebGPU (init scripts do not run in Workers): training stays on the GPU.
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
  });
  await trainedStudy(page);
  await page.getByTestId('export-onnx').click();
  const check = page.getByTestId('onnx-check');
  await expect(check).toBeVisible({ timeout: 120_000 });
  await expect(check).toHaveAttribute('data-provider', 'wasm');
  await expect(check).toContainText('WebAssembly because the WebGPU execution provider did not start');
  const maxDiff = Number(await check.getAttribute('data-max-diff'));
  testInfo.annotations.push({ type: 'onnx check (wasm)', description: String(maxDiff) });
  expect(maxDiff).toBeLessThan(1e-4);
  expect(errors).toEqual([]);
});

test('uploads: a corrupt or mismatched file is refused with a message and changes nothing; a good one replaces a run\'s weights', async ({ page }, testInfo) => {
  const errors = watchErrors(page);
  await trainedStudy(page);
  const panel = page.getByTestId('model-files');
  await panel.getByTestId('export-run').selectOption({ label: 'NTP, seed 0' });
  const ntp = await downloadModel(page, (n) => testInfo.outputPath(`ntp-${n}`));
  const stepBefore = await page.getByTestId('runbar').getAttribute('data-step');
  const upload = panel.getByTestId('upload-model');

  // Garbage, a truncated file, a NaN weight, and a config.json that disagrees with the file.
  const garbage = testInfo.outputPath('garbage.safetensors');
  writeFileSync(garbage, Buffer.from('this is not a model at all, just text'));
  const truncated = testInfo.outputPath('truncated.safetensors');
  writeFileSync(truncated, ntp.weights.subarray(0, ntp.weights.length - 100));
  const nan = Buffer.from(ntp.weights);
  nan.writeFloatLE(Number.NaN, nan.length - 4);
  const nanPath = testInfo.outputPath('nan.safetensors');
  writeFileSync(nanPath, nan);
  const otherConfig = JSON.parse(ntp.config.toString('utf8'));
  otherConfig.num_hidden_layers += 1;
  const otherConfigPath = testInfo.outputPath('config.json');
  writeFileSync(otherConfigPath, JSON.stringify(otherConfig));
  const cases: [string[], RegExp][] = [
    [[garbage], /garbage\.safetensors" cannot be used: .*(header|safetensors)/i],
    [[truncated], /truncated\.safetensors" cannot be used: .*(truncated|end|bytes)/i],
    [[nanPath], /nan\.safetensors" cannot be used: .*(finite|NaN)/i],
    [[testInfo.outputPath('ntp-model.safetensors'), otherConfigPath], /cannot be used: .*(layers|config)/i],
  ];
  for (const [files, reason] of cases) {
    await upload.setInputFiles(files);
    await expect(page.getByTestId('upload-error')).toHaveText(reason);
    await expect(page.getByTestId('upload-summary')).toHaveCount(0);
    await expect(page.getByTestId('model-loaded')).toHaveCount(0);
    expect(await page.getByTestId('runbar').getAttribute('data-step')).toBe(stepBefore);
    await expect(page.getByTestId('runbar')).toHaveAttribute('data-state', 'done');
  }

  // The NTP run's own files (with its config.json): accepted, shown, and loaded into the MEAP run.
  await upload.setInputFiles([testInfo.outputPath('ntp-model.safetensors'), testInfo.outputPath('ntp-config.json')]);
  await expect(page.getByTestId('upload-error')).toHaveCount(0);
  const summary = page.getByTestId('upload-summary');
  await expect(summary).toHaveAttribute('data-fits', 'yes');
  await expect(summary).toContainText('parameters, all finite');
  await summary.getByTestId('load-run').selectOption({ label: 'MEAP 15%, seed 0' });
  await summary.getByTestId('load-model').click();
  await expect(page.getByTestId('model-loaded')).toContainText('MEAP 15%, seed 0 now has the weights of "ntp-model.safetensors"');
  await panel.getByTestId('export-run').selectOption({ label: 'MEAP 15%, seed 0' });
  const meap = await downloadModel(page, (n) => testInfo.outputPath(`meap-${n}`));
  const a = readSafetensors(new Uint8Array(ntp.weights)).params, b = readSafetensors(new Uint8Array(meap.weights)).params;
  expect(b.length).toBe(a.length);
  expect(b.every((v, i) => Object.is(v, a[i]))).toBe(true);
  expect(errors).toEqual([]);
});

/**
 * `npm run bench [-- --quick] [--json FILE] [--markdown] [--only matmul,attention,step] [--preset NAME] [--dawn-toggles]`
 *
 * One headless Chromium session (the system Chromium; SwiftShader when there is no GPU) on the Vite-served
 * bench page (bench.html → src/bench/run.ts): our kernels and training step against tfjs-webgpu and
 * onnxruntime-web on the same adapter. Prints the table with ratios ours/reference and the goals of
 * issue 6; `--json FILE` writes `{ adapter, results: [{ name, ours, reference, referenceName, unit, ratio }], … }`,
 * `--markdown` also prints the table as Markdown (the README's Performance section).
 *
 * The browser runs with Chromium's defaults (robustness on, as a user's browser); `--dawn-toggles` adds
 * `disable_robustness,disable_workgroup_init` (faster on SwiftShader, for every contender alike).
 * Environment: CHROMIUM_PATH overrides /usr/bin/chromium.
 */
import { checkOutputFile, FileGuardError, writeFileAtomic } from '../util/safeFiles';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import { formatMarkdown, formatTable, goals, type BenchReport } from '../bench/report';
import { BENCH_SECTIONS, type BenchOptions, type BenchSection } from '../bench/run';

const USAGE = 'usage: npm run bench [-- --quick] [--json FILE] [--markdown] [--only matmul,attention,step] [--preset NAME] [--dawn-toggles]';

const BASE_FLAGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];
const DAWN_TOGGLES = '--enable-dawn-features=disable_robustness,disable_workgroup_init';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        quick: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' }, preset: { type: 'string' },
        'dawn-toggles': { type: 'boolean' }, markdown: { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const only = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.find((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
  if (unknown) {
    console.error(`bench: unknown section "${unknown}" in --only (known: ${BENCH_SECTIONS.join(', ')})\n${USAGE}`);
    return 2;
  }
  let json: string | undefined;
  try {
    // Checked before the browser starts: a bench run takes minutes, and its results are lost if --json fails then.
    json = args.json === undefined ? undefined : checkOutputFile(args.json);
  } catch (error) {
    if (error instanceof FileGuardError) {
      console.error(`bench: --json: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const options: BenchOptions = { quick: args.quick ?? false, only: only as BenchSection[] | undefined, preset: args.preset };
  const flags = args['dawn-toggles'] ? [...BASE_FLAGS, DAWN_TOGGLES] : BASE_FLAGS;
  const started = performance.now();

  let server: ViteDevServer | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    const port = await freePort();
    const root = fileURLToPath(new URL('../..', import.meta.url));
    server = await createServer({
      root,
      configFile: resolve(root, 'vite.config.ts'),
      logLevel: 'warn',
      clearScreen: false,
      server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
      optimizeDeps: {
        // Pre-bundle before the page loads (a dependency discovered later would reload the page mid-run).
        entries: ['bench.html'],
        include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-webgpu', 'onnx-proto'],
        // onnxruntime-web loads its .wasm itself (its path is set explicitly in src/bench/ortReference.ts).
        exclude: ['onnxruntime-web'],
      },
    });
    await server.listen();
    const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    browser = await chromium.launch({ executablePath, args: flags, headless: true });
    const page = await browser.newPage();
    page.on('console', (message) => {
      const text = message.text();
      if (text.startsWith('[bench] ')) console.log(text.slice(8));
      else if (message.type() === 'error') console.error(`page: ${text}`);
    });
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${port}/bench.html`, { timeout: 180_000 });
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 180_000 });
    const report: BenchReport = await page.evaluate((o) => window.meapBench.run(o), options);
    const browserVersion = browser.version();
    report.adapter.browser = `Chromium ${browserVersion}`;
    const command = `npm run bench -- ${argv.filter((a) => a !== '--').join(' ')}`.trim();
    const summary = {
      ...report,
      command,
      browserFlags: flags,
      goals: goals(report),
      wallSeconds: (performance.now() - started) / 1000,
    };
    console.log('');
    console.log(`Adapter: ${describeAdapter(report)}; ${report.adapter.browser}; ${args['dawn-toggles'] ? 'Dawn toggles on' : 'default Dawn settings'}`);
    console.log(`Kernels chosen by measurement: matmul=${report.autotune?.preferences.matmul}, rows=${report.autotune?.preferences.rows}`);
    console.log(`Date: ${report.date}; ${options.quick ? 'quick' : 'full'} run, ${summary.wallSeconds.toFixed(0)} s\n`);
    console.log(formatTable(report));
    if (args.markdown) console.log(`\n${formatMarkdown(report)}`);
    if (json) {
      writeFileAtomic(json, `${JSON.stringify(summary, jsonSafe, 2)}\n`);
      console.log(`\nwrote ${args.json}`);
    }
    return report.errors.length > 0 ? 1 : 0;
  } finally {
    await browser?.close();
    await server?.close();
  }
}

function describeAdapter(report: BenchReport): string {
  const a = report.adapter;
  return `${a.description || a.device || a.architecture || 'unknown'} (${a.vendor ?? ''}/${a.architecture ?? ''}` +
    `${a.isFallbackAdapter ? ', software fallback' : ''})`;
}

/** JSON has no NaN/Infinity: write them as null. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`bench: ${(error as Error).stack ?? error}`);
  process.exit(1);
});

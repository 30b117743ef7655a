/**
 * `npm run bench:node -- [--quick] [--json] [--out FILE] [--preset NAME] [--runs 1,16,64] [--twin …]`
 *
 * The engine's speed in Node on this machine's WebGPU adapter (Dawn; SwiftShader when there is no GPU), with no
 * browser: every matmul variant × tile configuration at 512³, 2048³ and the preset's shapes, and training
 * tokens/s and MFU of the preset's study at R = 1, 16 and 64 runs per step (src/bench/nodeBench.ts). This is
 * what the GPU kit runs on a server; `npm run bench` (Chromium, against tfjs and onnxruntime) stays the
 * reference for the page. `--twin` adds the PyTorch twin's tokens/s on the same configs (python3 with torch).
 * Prints a table, or the JSON report with --json; --out FILE also writes the JSON. Bad arguments exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';
import { PRESETS, preset } from '../config/presets';
import { configWithRuns, runNodeBench, type NodeBenchReport } from '../bench/nodeBench';
import { checkOutputFile, FileGuardError, writeFileAtomic } from '../util/safeFiles';

const USAGE = `usage: npm run bench:node -- [--quick] [--json] [--out FILE] [--preset NAME] [--runs R,R,…]
                             [--twin] [--python PATH] [--twin-path DIR] [--twin-device cpu|cuda] [--twin-steps N]
  --quick        CI-sized: 128³ and 256³, the tiny preset, R = 1 and 2 (seconds on SwiftShader)
  --json         print the JSON report instead of the table     --out FILE   also write the JSON report to FILE
  --preset NAME  the training preset (${Object.keys(PRESETS).join(', ')}; default needle-s, tiny with --quick)
  --runs LIST    run counts R trained at once (default 1,16,64; --quick 1,2)
  --twin         also time the PyTorch twin (python/meap_torch) on the same configs: tokens/s and engine / twin
  --python PATH  interpreter with torch (default python3)       --twin-path DIR  folder holding meap_torch
  --twin-device  cpu or cuda (default cuda when torch sees one)  --twin-steps N   timed twin steps (default 10; --quick 3)`;

class UsageError extends Error {}

interface Args {
  quick: boolean; json: boolean; out?: string; preset?: string; runs?: number[];
  twin: boolean; python: string; twinPath: string; twinDevice?: 'cpu' | 'cuda'; twinSteps: number;
}

/** meap_torch sits in python/ of the repository; the kit passes its own copy with --twin-path. */
function defaultTwinPath(): string {
  return process.env.MEAP_TWIN_PATH ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'python');
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!(/^\d+$/.test(text.trim()) && Number.isSafeInteger(n) && n >= 1)) throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

function parseBenchNodeArgs(argv: string[]): Args | null {
  let v;
  try {
    v = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        quick: { type: 'boolean' }, json: { type: 'boolean' }, out: { type: 'string' }, preset: { type: 'string' }, runs: { type: 'string' },
        twin: { type: 'boolean' }, python: { type: 'string' }, 'twin-path': { type: 'string' }, 'twin-device': { type: 'string' },
        'twin-steps': { type: 'string' }, help: { type: 'boolean' },
      },
      strict: true, allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (v.help) return null;
  if (v.preset !== undefined) {
    try {
      preset(v.preset);
    } catch (error) {
      throw new UsageError(`--preset: ${(error as Error).message}`);
    }
  }
  const runs = v.runs?.split(',').map((s) => positiveInteger('--runs', s));
  if (v.out !== undefined && v.out.trim() === '') throw new UsageError('--out needs a file, got an empty string');
  const device = v['twin-device'];
  if (device !== undefined && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--twin-device must be cpu or cuda, got "${device}"`);
  const quick = v.quick === true;
  return {
    quick, json: v.json === true, out: v.out, preset: v.preset, runs, twin: v.twin === true, python: v.python ?? 'python3',
    twinPath: v['twin-path'] ?? defaultTwinPath(), twinDevice: device, twinSteps: v['twin-steps'] === undefined ? (quick ? 3 : 10) : positiveInteger('--twin-steps', v['twin-steps']),
  };
}

/** The twin's tokens/s on each R's config (python -m meap_torch.bench), attached to that R's rows as a ratio. */
function addTwin(report: NodeBenchReport, a: Args, log: (line: string) => void): void {
  const python = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(a.python, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  const probe = python(['-c', 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")']);
  if (probe.error || probe.status !== 0) {
    report.errors.push(`twin: ${a.python} with torch is not available (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`);
    return;
  }
  const device = a.twinDevice ?? (probe.stdout.trim() === 'cuda' ? 'cuda' : 'cpu');
  const dir = mkdtempSync(join(tmpdir(), 'meap-bench-node-twin-'));
  try {
    for (const R of [...new Set(report.training.map((t) => t.R))]) {
      const path = join(dir, `config-R${R}.json`);
      writeFileSync(path, JSON.stringify(configWithRuns(preset(report.preset), R)));
      log(`twin ${report.preset} R=${R} on ${device}`);
      const result = python(['-m', 'meap_torch.bench', path, String(a.twinSteps), '--device', device], { ...process.env, PYTHONPATH: a.twinPath });
      if (result.error || result.status !== 0) {
        report.errors.push(`twin R=${R}: ${result.error?.message ?? result.stderr.trim().split('\n').pop()}`);
        continue;
      }
      const twin = JSON.parse(result.stdout) as { tokensPerSec: number; torch: string };
      for (const t of report.training.filter((x) => x.R === R)) {
        t.twin = { tokensPerSec: twin.tokensPerSec, ratio: t.tokensPerSec / twin.tokensPerSec, device, torch: twin.torch };
      }
      log(`  ${Math.round(twin.tokensPerSec)} tokens/s (torch ${twin.torch})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(report: NodeBenchReport): string {
  const a = report.adapter;
  const lines = [
    `Adapter: ${a.description || a.device || a.architecture} (${a.vendor}/${a.architecture}${a.isFallbackAdapter ? ', software fallback' : ''})`,
    `Limits: ${Object.entries(a.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '', 'matmul                                   configuration        GFLOP/s        ms',
  ];
  for (const m of report.matmul) {
    const tiles = `${m.variant} ${m.tiles.workgroupX}×${m.tiles.workgroupY}${m.variant === 'tiled' ? ` k${m.tiles.tileK}` : ''}`;
    lines.push(`${m.shape.padEnd(40)} ${tiles.padEnd(18)} ${m.gflops.toFixed(2).padStart(9)} ${m.ms.toFixed(3).padStart(9)}`);
  }
  lines.push('', `training ${report.preset} (batch ${report.batch}, context ${report.context}); MFU = model FLOP/s ÷ best matmul ${report.bestMatmulGflops.toFixed(2)} GFLOP/s`);
  for (const t of report.training) {
    const twin = t.twin ? `  twin ${Math.round(t.twin.tokensPerSec)} tokens/s (${t.twin.device}), engine / twin ${t.twin.ratio.toFixed(2)}` : '';
    lines.push(`  R=${String(t.R).padEnd(3)} rows=${(t.rows + (t.subgroupRows ? '+subgroup' : '')).padEnd(18)} ${Math.round(t.tokensPerSec).toString().padStart(10)} tokens/s  ` +
      `${t.stepMs.toFixed(1).padStart(9)} ms/step  MFU ${t.mfuPercent.toFixed(1)} %${twin}`);
  }
  for (const e of report.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}

/** JSON has no NaN/Infinity: write them as null. */
function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

async function main(argv: string[]): Promise<number> {
  let args: Args | null;
  try {
    args = parseBenchNodeArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench:node: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  let out: string | undefined;
  try {
    // Checked before measuring: a full run takes minutes and its results would be lost if the write failed then.
    out = args.out === undefined ? undefined : checkOutputFile(args.out);
  } catch (error) {
    if (!(error instanceof FileGuardError)) throw error;
    console.error(`bench:node: --out: ${error.message}`);
    return 2;
  }
  const started = performance.now();
  // Progress goes to stderr with --json, so stdout is the report alone.
  const log = (line: string) => (args.json ? console.error(line) : console.log(line));
  let ctx;
  try {
    ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
  } catch (error) {
    console.error(`bench:node: ${(error as Error).message}`);
    return 2;
  }
  let report: NodeBenchReport;
  try {
    report = await runNodeBench(ctx, { quick: args.quick, preset: args.preset, runs: args.runs }, log);
  } finally {
    ctx.destroy();
  }
  if (args.twin) addTwin(report, args, log);
  const summary = { ...report, command: `npm run bench:node -- ${argv.filter((a) => a !== '--').join(' ')}`.trim(), wallSeconds: (performance.now() - started) / 1000 };
  const text = `${JSON.stringify(summary, jsonSafe, 2)}\n`;
  if (args.json) process.stdout.write(text);
  else console.log(`\n${table(report)}`);
  if (out) {
    writeFileAtomic(out, text);
    log(`wrote ${args.out}`);
  }
  return report.errors.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`bench:node: ${(error as Error).stack ?? error}`);
  process.exit(1);
});

/**
 * `npm run bench-twin -- [--preset NAME] [--steps N] [--engine webgpu|cpu] [--device cpu|cuda] [--bf16]`: the engine's
 * training tokens/s next to the PyTorch twin's (python/meap_torch) on the same machine, preset and steps, as a
 * ratio (issue 14 item 6). Tokens count every run: runs × batch × context per step; both sides skip two warm-up
 * steps and include drawing the batches and masks. Invalid arguments exit 2 with a one-line reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { preset, PRESETS, type StudyConfig } from '../config/presets';
import { CpuStudy } from '../engine/cpuStudy';
import { Study } from '../engine/gpuStudy';
import type { StudyEngine } from '../engine/studyEngine';
import { createGpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';

const USAGE = `usage: npm run bench-twin -- [--preset ${Object.keys(PRESETS).join('|')}] [--steps N] [--engine webgpu|cpu]
                              [--device cpu|cuda] [--bf16] [--python PATH]
  --preset   the study config both train (default quick)          --steps   timed steps after 2 warm-up steps (default 20)
  --engine   the playground's engine: WebGPU (default) or the CPU reference (tiny-sized studies only)
  --device, --bf16   the twin's device and autocast                --python  the interpreter with torch (default /usr/bin/python3)`;

class UsageError extends Error {}

interface Args { config: StudyConfig; presetName: string; steps: number; engine: 'webgpu' | 'cpu'; device: string; bf16: boolean; python: string }

function parse(argv: string[]): Args | null {
  let v;
  try {
    v = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { preset: { type: 'string' }, steps: { type: 'string' }, engine: { type: 'string' }, device: { type: 'string' },
        bf16: { type: 'boolean' }, python: { type: 'string' }, help: { type: 'boolean' } },
      strict: true, allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (v.help) return null;
  const presetName = v.preset ?? 'quick';
  let config: StudyConfig;
  try {
    config = preset(presetName);
  } catch (error) {
    throw new UsageError(`--preset: ${(error as Error).message}`);
  }
  const steps = Number(v.steps ?? '20');
  if (!(Number.isInteger(steps) && steps >= 1)) throw new UsageError(`--steps must be a positive integer, got "${v.steps}"`);
  const engine = v.engine ?? 'webgpu';
  if (engine !== 'webgpu' && engine !== 'cpu') throw new UsageError(`--engine must be webgpu or cpu, got "${engine}"`);
  const device = v.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got "${device}"`);
  return { config, presetName, steps, engine, device, bf16: v.bf16 ?? false, python: v.python ?? '/usr/bin/python3' };
}

async function engineTokensPerSec(a: Args): Promise<{ tokensPerSec: number; name: string }> {
  let study: StudyEngine;
  let name: string;
  if (a.engine === 'cpu') {
    study = CpuStudy.create(a.config);
    name = 'CPU reference engine (float64)';
  } else {
    const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
    study = await Study.create(ctx, a.config);
    name = `WebGPU engine (${ctx.adapter.description || ctx.adapter.vendor || 'adapter'}${ctx.adapter.isFallbackAdapter ? ', software' : ''})`;
  }
  try {
    for (let s = 0; s < 2; s++) study.trainStep();
    await study.intervalReport();
    const t0 = performance.now();
    for (let s = 0; s < a.steps; s++) study.trainStep();
    await study.intervalReport(); // reads the losses back: the GPU has finished every step
    const seconds = (performance.now() - t0) / 1000;
    return { tokensPerSec: (study.R * a.config.batch * a.config.model.context * a.steps) / seconds, name };
  } finally {
    study.dispose();
  }
}

function twinTokensPerSec(a: Args): { tokensPerSec: number; torch: string; threads: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'meap-bench-twin-')), 'config.json');
  writeFileSync(path, JSON.stringify(a.config));
  const result = spawnSync(a.python, ['-m', 'meap_torch.bench', path, String(a.steps), '--device', a.device, ...(a.bf16 ? ['--bf16'] : [])], {
    encoding: 'utf8', env: { ...process.env, PYTHONPATH: resolve(__dirname, '..', '..', 'python') },
  });
  if (result.error || result.status !== 0) {
    throw new Error(`the twin failed (${result.error?.message ?? result.stderr.trim().split('\n').pop()}); it needs ${a.python} with torch ` +
      '(apt-get install -y python3-torch)');
  }
  return JSON.parse(result.stdout) as { tokensPerSec: number; torch: string; threads: number };
}

async function main(argv: string[]): Promise<number> {
  let args: Args | null;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench-twin: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  const engine = await engineTokensPerSec(args);
  const twin = twinTokensPerSec(args);
  const runs = args.config.arms.length * args.config.seedsPerArm;
  console.log(`preset ${args.presetName}: ${runs} runs × batch ${args.config.batch} × context ${args.config.model.context}, ${args.steps} timed steps`);
  console.log(`  ${engine.name}: ${Math.round(engine.tokensPerSec)} tokens/s`);
  console.log(`  PyTorch twin (torch ${twin.torch}, ${args.device}${args.bf16 ? ', bf16' : ''}, ${twin.threads} threads): ${Math.round(twin.tokensPerSec)} tokens/s`);
  console.log(`  engine / twin = ${(engine.tokensPerSec / twin.tokensPerSec).toFixed(2)}`);
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`bench-twin: ${(error as Error).message}`);
  process.exit(1);
});

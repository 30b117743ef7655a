/**
 * The GPU kit (npm run gpu-kit, issue 15): built into the temp folder, then run the way a bare server runs it —
 * from a scratch folder with no node_modules above it, a PATH that holds a handful of tools and no Node, and the
 * kit's own Vulkan loader — on SwiftShader (--allow-software). Also bench:node's report and reproduce --budget.
 * Nothing here skips: a missing xz, dpkg-deb, Debian mirror or SwiftShader fails the test with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { testContext } from './gpuContext';
import { runNodeBench, matmulConfigurations } from '../src/bench/nodeBench';
import { ROWS_VARIANTS } from '../src/tuning/decision';
import { parseReproduceArgs } from '../src/cli/reproduceArgs';
import { UsageError } from '../src/cli/args';
import { quickDefinition, studyDefinition } from '../src/study/studies';
import { BudgetReached, reproduce } from '../src/study/reproduce';

const ROOT = resolve(__dirname, '..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** What run.sh (and dpkg-deb inside it) may call: no node among them. */
const TOOLS = ['bash', 'xz', 'dpkg-deb', 'tar', 'mkdir', 'mv', 'rm', 'tee', 'chmod', 'cat', 'head', 'grep'];

let scratch: string;
let kit: string;

function which(tool: string): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) if (existsSync(join(dir, tool))) return join(dir, tool);
  throw new Error(`${tool} is not installed; the GPU kit test needs it (bash scripts/system-deps.sh installs it)`);
}

/** The fields every bench:node report has, with finite positive numbers. */
function expectBenchShape(report: Record<string, unknown>, runs: number[]): void {
  const r = report as {
    adapter: { description: string; limits: Record<string, number>; features: string[] }; quick: boolean; preset: string; bestMatmulGflops: number; modelFlopsPerRunStep: number;
    matmul: { shape: string; variant: string; tiles: object; gflops: number; ms: number }[];
    training: { R: number; rows: string; subgroupRows: boolean; tokensPerSec: number; stepMs: number; mfuPercent: number }[]; errors: string[];
  };
  expect(r.errors).toEqual([]);
  expect(typeof r.adapter.description).toBe('string');
  expect(r.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  for (const x of [r.bestMatmulGflops, r.modelFlopsPerRunStep]) expect(Number.isFinite(x) && x > 0).toBe(true);
  // Every variant × tile configuration the kernel module offers, at every shape.
  const shapes = new Set(r.matmul.map((m) => m.shape));
  expect(r.matmul.length).toBe(shapes.size * matmulConfigurations().length);
  for (const m of r.matmul) for (const x of [m.gflops, m.ms]) expect(Number.isFinite(x) && x > 0).toBe(true);
  // Every rows variant at every R, each also with the subgroup row kernels where the device has 'subgroups'.
  const subgroup = [false, ...(r.adapter.features.includes('subgroups') ? [true] : [])];
  expect(r.training.map((t) => `${t.R} ${t.rows} ${t.subgroupRows}`))
    .toEqual(runs.flatMap((R) => ROWS_VARIANTS.flatMap((rows) => subgroup.map((s) => `${R} ${rows} ${s}`))));
  for (const t of r.training) for (const x of [t.tokensPerSec, t.stepMs, t.mfuPercent]) expect(Number.isFinite(x) && x > 0).toBe(true);
}

// xz -0: the kit's mechanism is what is tested, and the default -6 costs ~30 s more of both cores (the size
// limit holds for both; -0 is the larger).
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'meap-gpu-kit-test-'));
  kit = join(scratch, 'kit');
  const build = spawnSync(join(ROOT, 'node_modules', '.bin', 'vite-node'), ['src/cli/gpuKit.ts', '--', '--out', kit, '--xz-level', '0'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (build.status !== 0) throw new Error(`npm run gpu-kit failed (${build.status}): ${build.stderr.trim()}\n${build.stdout.trim()}`);
}, 320_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('npm run gpu-kit', () => {
  it('builds a kit under 60 MiB that carries everything and no node_modules', () => {
    const manifest = JSON.parse(readFileSync(join(kit, 'kit.json'), 'utf8')) as { bytes: number; files: { path: string }[]; node: string };
    expect(manifest.bytes).toBeLessThanOrEqual(60 * 1024 * 1024);
    expect(manifest.node).toBe(process.version);
    const paths = manifest.files.map((f) => f.path);
    for (const p of ['run.sh', 'bin/node.xz', 'lib/dawn.node.xz', 'lib/webgpu.mjs', 'lib/adapter.mjs', 'lib/selftest.mjs', 'lib/compare.mjs',
      'lib/reproduce.mjs', 'lib/bench-node.mjs', 'python/meap_torch/bench.py']) expect(paths).toContain(p);
    expect(paths.some((p) => /^deb\/libvulkan1_.*_amd64\.deb$/.test(p))).toBe(true);
    expect(paths.some((p) => p.includes('node_modules') || p.includes('__pycache__'))).toBe(false);
    expect(statSync(join(kit, 'run.sh')).mode & 0o111).not.toBe(0);
    // The bundles carry the WGSL themselves.
    expect(readFileSync(join(kit, 'lib', 'selftest.mjs'), 'utf8')).toContain('@compute');
  });

  it('refuses bad arguments with one line and exit 2', () => {
    const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'vite-node'), ['src/cli/gpuKit.ts', '--', '--out', kit], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(/^gpu-kit: --out: ".*" exists and is not an empty folder$/);
  });
});

describe('the kit on a bare machine (SwiftShader)', () => {
  let bin: string;
  let work: string;
  const env = (extra: Record<string, string> = {}) => ({ PATH: bin, HOME: work, MEAP_KIT_OWN_LOADER: '1', ...extra });

  beforeAll(() => {
    if (!existsSync(SWIFTSHADER_ICD)) throw new Error(`${SWIFTSHADER_ICD} is missing: apt-get install chromium (SwiftShader)`);
    work = join(scratch, 'work');
    bin = join(scratch, 'bin');
    mkdirSync(work);
    mkdirSync(bin);
    for (const tool of TOOLS) symlinkSync(which(tool), join(bin, tool));
    // No Node and no node_modules within reach: only the kit's own.
    expect(readdirSync(bin)).not.toContain('node');
    for (let dir = kit; dir !== dirname(dir); dir = dirname(dir)) expect(existsSync(join(dir, 'node_modules'))).toBe(false);
  });

  it('runs the self-test, the benchmark and a quick study with its own Node, Dawn and Vulkan loader', () => {
    const out = join(work, 'results');
    const result = spawnSync(join(bin, 'bash'), [join(kit, 'run.sh'), '--out', out, '--studies', 'needle-quick', '--quick', '--allow-software'], {
      // The twin's device check on the CPU stands in for CUDA here (the kit takes CUDA where torch sees it).
      cwd: work, encoding: 'utf8', timeout: 240_000, env: env({ VK_ICD_FILENAMES: SWIFTSHADER_ICD, MEAP_TWIN_CHECK_DEVICE: 'cpu' }),
    });
    const log = readFileSync(join(out, 'run.log'), 'utf8');
    expect(result.status, log).toBe(0);
    expect(log).toContain("Vulkan loader: the kit's");
    expect(log).toMatch(/adapter: SwiftShader.*software/);

    const selftest = JSON.parse(readFileSync(join(out, 'selftest.json'), 'utf8')) as { pass: boolean }[];
    expect(selftest.length).toBeGreaterThan(10);
    expect(selftest.every((c) => c.pass)).toBe(true);

    expectBenchShape(JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')), [1, 2]);

    // The study ran to its last step in every unit and wrote its report.
    const d = quickDefinition(studyDefinition('needle-quick'));
    const study = JSON.parse(readFileSync(join(out, 'studies', 'needle-quick-quick', 'study.json'), 'utf8')) as {
      units: { runs: { history: { step: number }[] }[] }[];
    };
    expect(study.units.length).toBe(d.config.seedsPerArm / d.seedsPerUnit);
    for (const unit of study.units) for (const run of unit.runs) expect(run.history[run.history.length - 1].step).toBe(d.config.steps);
    expect(existsSync(join(out, 'studies', 'needle-quick-quick', 'report.md'))).toBe(true);

    // The twin's device check: per-run and batched × float64 / float32 / bf16 on tiny, each against CPU float64.
    const check = JSON.parse(readFileSync(join(out, 'twin-device-check.json'), 'utf8')) as
      { device: string; failed: number; checks: { config: string; trainer: string; precision: string; pass: boolean }[] };
    expect(check.device).toBe('cpu');
    expect(check.checks.map((c) => `${c.config} ${c.trainer} ${c.precision}`)).toEqual(
      ['per-run', 'batched'].flatMap((t) => ['float64', 'float32', 'bf16'].map((p) => `tiny ${t} ${p}`)));
    expect(check.failed).toBe(0);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as
      { selftest: { pass: boolean }; twinDeviceCheck: string; studies: { name: string; status: string }[] };
    expect(summary.selftest.pass).toBe(true);
    expect(summary.twinDeviceCheck).toBe('passed');
    expect(summary.studies).toEqual([{ name: 'needle-quick', status: 'done' }]);
  }, 260_000);

  it('refuses SwiftShader without --allow-software, and a machine with no driver at all', () => {
    const software = spawnSync(join(bin, 'bash'), [join(kit, 'run.sh'), '--out', join(work, 'refused')], {
      cwd: work, encoding: 'utf8', timeout: 60_000, env: env({ VK_ICD_FILENAMES: SWIFTSHADER_ICD }),
    });
    expect(software.status).toBe(2);
    expect(software.stderr).toMatch(/run\.sh: Dawn picked a software adapter \(SwiftShader.*\), not a GPU; pass --allow-software/);
    const none = spawnSync(join(bin, 'bash'), [join(kit, 'run.sh'), '--out', join(work, 'none')], { cwd: work, encoding: 'utf8', timeout: 60_000, env: env() });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/run\.sh: found no NVIDIA Vulkan driver/);
    const bad = spawnSync(join(bin, 'bash'), [join(kit, 'run.sh'), '--out', join(work, 'bad'), '--budget', 'soon'], { cwd: work, encoding: 'utf8', env: env() });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('run.sh: --budget must be a whole number of seconds, got "soon"');
  }, 120_000);
});

describe('bench:node --quick', () => {
  it('reports every matmul configuration, every rows variant at each R, and finite positive numbers', async () => {
    const ctx = await testContext();
    const before = ctx.preferences;
    const report = await runNodeBench(ctx, { quick: true, runs: [1] });
    expect(ctx.preferences).toBe(before);
    expectBenchShape(report as unknown as Record<string, unknown>, [1]);
    expect(report.quick).toBe(true);
    expect(report.preset).toBe('tiny');
    expect(report.matmul.map((m) => m.shape)).toContain('128³');
  }, 120_000);
});

describe('reproduce --budget', () => {
  it('parses seconds, refuses anything else with one line, and stays out of the recorded command', () => {
    const args = parseReproduceArgs(['--study', 'needle-quick', '--quick', '--budget', '90']);
    expect(args.budgetSeconds).toBe(90);
    expect(args.command).toBe('npm run reproduce -- --study needle-quick --quick');
    expect(() => parseReproduceArgs(['--budget', '-1'])).toThrow(UsageError);
    expect(() => parseReproduceArgs(['--budget', 'later'])).toThrow('--budget must be a number of seconds ≥ 0, got "later"');
    expect(() => parseReproduceArgs(['--from', 'x.json', '--budget', '5'])).toThrow('--from trains nothing; it takes no --budget');
  });

  it('starts no unit once the budget is spent, and says how to resume', async () => {
    const ctx = await testContext();
    const out = mkdtempSync(join(tmpdir(), 'meap-budget-'));
    try {
      const lines: string[] = [];
      const run = reproduce({ study: 'needle-quick', quick: true, out, command: 'test', ctx, log: (l) => lines.push(l), budgetSeconds: 0 });
      await expect(run).rejects.toThrow(BudgetReached);
      await expect(run).rejects.toThrow(/budget reached before unit 1\/2 of .*: 0 unit\(s\) trained in this call; the same command resumes/);
      expect(readdirSync(join(out, 'needle-quick-quick', 'units'))).toEqual([]);
      expect(lines.at(-1)).toMatch(/^unit 1\/2: not started — 0 s spent, budget 0 s$/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

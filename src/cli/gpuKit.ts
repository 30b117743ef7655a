/**
 * `npm run gpu-kit -- --out DIR [--vulkan-deb FILE] [--xz-level N] [--no-cache]`: builds a folder that runs the engine on a GPU
 * server with nothing installed there — no Node, no node_modules, no Vulkan loader:
 *
 *   run.sh              the one command (scripts/gpu-kit/run.sh): self-test, benchmark, named studies
 *   bin/node.xz         this machine's Node binary (process.execPath), xz-compressed; run.sh unpacks it
 *   lib/*.mjs           single-file bundles (WGSL inlined) of selftest, compare, reproduce and bench:node
 *   lib/webgpu.mjs      the `webgpu` package's entry, loading runtime/dawn.node (or $MEAP_DAWN_NODE) instead of node_modules
 *   lib/dawn.node.xz    Dawn for linux-x64, xz-compressed
 *   lib/adapter.mjs     prints the adapter Dawn picks (run.sh refuses a software one unless told otherwise)
 *   deb/libvulkan1_*.deb  the Vulkan loader, unpacked by run.sh into the kit only when the server has none
 *   python/meap_torch/  the PyTorch twin, benchmarked beside the engine where python3 has torch
 *   python/configs/     tiny, quick and needle-s as JSON: the twin's device check (run.sh, where torch sees CUDA)
 *   kit.json            what was built from what (commit, Node version, file sizes)
 *
 * The kit must stay under 60 MiB (it travels to machines with small upload limits): the build prints its size
 * and fails above it. Compressed binaries are cached in the temp folder, keyed by path, size and mtime.
 * Errors are one line; bad arguments exit 2, a failed build exits 1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { preset } from '../config/presets';

const USAGE = `usage: npm run gpu-kit -- --out DIR [--vulkan-deb FILE] [--xz-level N] [--no-cache]
  --out DIR          the kit folder to create (must not exist, or be empty)
  --xz-level N       xz preset 0-9 for Node and dawn.node (default 6: ≈ 29 MiB; 0 compresses ~5× faster, ≈ 36 MiB)
  --vulkan-deb FILE  use this libvulkan1 .deb (amd64) instead of fetching it with apt-get download
  --no-cache         recompress Node and dawn.node instead of reusing the copies cached in the temp folder`;

export const KIT_LIMIT_BYTES = 60 * 1024 * 1024;

/** The presets the twin's device check trains on the GPU and on the CPU (run.sh; --quick takes the first). */
const TWIN_CHECK_PRESETS = ['tiny', 'quick', 'needle-s'];

/** The CLIs the kit carries: bundle name → entry. */
const ENTRIES: Record<string, string> = {
  selftest: 'src/cli/selftest.ts',
  compare: 'src/cli/compare.ts',
  reproduce: 'src/cli/reproduce.ts',
  'bench-node': 'src/cli/benchNode.ts',
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

class KitError extends Error {}
class UsageError extends Error {}

interface Args { out: string; vulkanDeb?: string; cache: boolean; level: number }

function parse(argv: string[]): Args | null {
  let v;
  try {
    v = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { out: { type: 'string' }, 'vulkan-deb': { type: 'string' }, 'xz-level': { type: 'string' }, 'no-cache': { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true, allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (v.help) return null;
  if (v.out === undefined || v.out.trim() === '') throw new UsageError('--out DIR is required (the kit folder to create)');
  const out = resolve(v.out);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
    throw new UsageError(`--out: "${v.out}" exists and is not an empty folder`);
  }
  if (out === ROOT || out.startsWith(`${ROOT}/src`) || out.startsWith(`${ROOT}/node_modules`)) throw new UsageError(`--out: "${v.out}" is inside the sources; build the kit elsewhere (e.g. ${join(tmpdir(), 'meap-gpu-kit')})`);
  if (v['vulkan-deb'] !== undefined && !existsSync(v['vulkan-deb'])) throw new UsageError(`--vulkan-deb: "${v['vulkan-deb']}" does not exist`);
  const level = v['xz-level'] ?? '6';
  if (!/^[0-9]$/.test(level)) throw new UsageError(`--xz-level must be a digit 0-9, got "${level}"`);
  return { out, vulkanDeb: v['vulkan-deb'], cache: v['no-cache'] !== true, level: Number(level) };
}

/** xz of `source` into `target`, through a cache in the temp folder (compressing Node at -6 takes ~20 s on 2 cores). */
function compress(source: string, target: string, cache: boolean, level: number): void {
  const s = statSync(source);
  const cacheDir = join(tmpdir(), 'meap-gpu-kit-cache');
  const cached = join(cacheDir, `${basename(source)}-${s.size}-${Math.round(s.mtimeMs)}-${Buffer.from(source).toString('hex').slice(-24)}-${level}.xz`);
  if (cache && existsSync(cached)) {
    copyFileSync(cached, target);
    return;
  }
  const result = spawnSync('xz', ['-T0', `-${level}`, '-c', source], { maxBuffer: 1 << 30 });
  if (result.error || result.status !== 0) {
    throw new KitError(`xz failed on ${source} (${result.error?.message ?? result.stderr.toString().trim()}); install xz-utils`);
  }
  writeFileSync(target, result.stdout);
  if (cache) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.tmp-${process.pid}`;
    writeFileSync(tmp, result.stdout);
    renameSync(tmp, cached);
  }
}

/**
 * The `webgpu` package's index.js with its one platform-specific line changed: dawn.node is read beside the
 * bundle (or from $MEAP_DAWN_NODE, where run.sh unpacked it), so no node_modules is needed.
 */
function webgpuShim(): string {
  const source = readFileSync(join(ROOT, 'node_modules', 'webgpu', 'index.js'), 'utf8');
  const line = /^const dawnNodePath = join\(__dirname, 'dist'.*$/m;
  if (!line.test(source)) throw new KitError("node_modules/webgpu/index.js no longer sets dawnNodePath as expected: update webgpuShim() in src/cli/gpuKit.ts");
  // run.sh unpacks into runtime/ beside lib/ (or sets MEAP_DAWN_NODE when the kit is read-only), so a bundled CLI
  // started by hand after a run.sh finds it too.
  return `import { existsSync as kitExists } from 'node:fs';\n${source.replace(line,
    "const dawnNodePath = process.env.MEAP_DAWN_NODE || [join(__dirname, 'dawn.node'), join(__dirname, '..', 'runtime', 'dawn.node')].find(kitExists);")}`;
}

/** One self-contained .mjs per CLI: every import bundled (WGSL included) except Node built-ins and `webgpu`. */
async function bundle(name: string, entry: string, outDir: string): Promise<void> {
  await build({
    configFile: false, root: ROOT, logLevel: 'warn', publicDir: false, clearScreen: false,
    ssr: { noExternal: true, external: ['webgpu'] },
    build: {
      ssr: entry, outDir, emptyOutDir: false, target: 'node20', minify: false, copyPublicDir: false, reportCompressedSize: false,
      rollupOptions: { external: ['webgpu'], output: { format: 'es', entryFileNames: `${name}.mjs`, codeSplitting: false, paths: { webgpu: './webgpu.mjs' } } },
    },
  });
  const text = readFileSync(join(outDir, `${name}.mjs`), 'utf8');
  // Anything still imported by a bare name would need node_modules on the server.
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm), ...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]);
  const bare = specifiers.filter((s) => !s.startsWith('node:') && !s.startsWith('.'));
  if (bare.length > 0) throw new KitError(`bundle ${name}.mjs still imports ${[...new Set(bare)].join(', ')}: it would need node_modules`);
}

/** libvulkan1 for amd64, from --vulkan-deb, the cache, or apt-get download (once after apt-get update when the lists are empty). */
function vulkanDeb(args: Args, debDir: string): string {
  if (args.vulkanDeb) {
    copyFileSync(args.vulkanDeb, join(debDir, basename(args.vulkanDeb)));
    return basename(args.vulkanDeb);
  }
  const cacheDir = join(tmpdir(), 'meap-gpu-kit-cache');
  const cached = existsSync(cacheDir) ? readdirSync(cacheDir).find((f) => /^libvulkan1_.*_amd64\.deb$/.test(f)) : undefined;
  if (args.cache && cached) {
    copyFileSync(join(cacheDir, cached), join(debDir, cached));
    return cached;
  }
  const work = mkdtempSync(join(tmpdir(), 'meap-gpu-kit-deb-'));
  try {
    const download = () => spawnSync('apt-get', ['-q', '-oAPT::Architecture=amd64', 'download', 'libvulkan1:amd64'], { cwd: work, encoding: 'utf8' });
    let result = download();
    if ((result.error || result.status !== 0) && !result.error && process.getuid?.() === 0) {
      console.log('apt-get download libvulkan1 failed; running apt-get update once (the package lists may be empty) and retrying');
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      result = download();
    }
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (result.error || result.status !== 0 || !deb) {
      const why = result.error?.message ?? result.stderr.trim().split('\n').filter((l) => !l.startsWith('W:')).pop() ?? 'no .deb';
      throw new KitError(`could not fetch the Vulkan loader (apt-get download libvulkan1: ${why}); run apt-get update, or pass --vulkan-deb FILE`);
    }
    copyFileSync(join(work, deb), join(debDir, deb));
    if (args.cache) {
      mkdirSync(cacheDir, { recursive: true });
      copyFileSync(join(work, deb), join(cacheDir, deb));
    }
    return deb;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return null;
  }
}

function filesOf(dir: string): { path: string; bytes: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => ({ path: relative(dir, join(e.parentPath, e.name)), bytes: statSync(join(e.parentPath, e.name)).size }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

async function buildKit(args: Args): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new KitError(`the kit carries this machine's Node binary and Dawn for linux-x64; build it on linux-x64 (this is ${process.platform}-${process.arch})`);
  }
  const dawn = join(ROOT, 'node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node');
  if (!existsSync(dawn)) throw new KitError(`${relative(ROOT, dawn)} is missing; run npm ci`);
  const started = performance.now();
  const out = args.out;
  for (const d of ['bin', 'lib', 'deb', 'python']) mkdirSync(join(out, d), { recursive: true });

  console.log('bundling the CLIs (WGSL inlined)…');
  for (const [name, entry] of Object.entries(ENTRIES)) await bundle(name, entry, join(out, 'lib'));
  writeFileSync(join(out, 'lib', 'webgpu.mjs'), webgpuShim());
  copyFileSync(join(ROOT, 'scripts', 'gpu-kit', 'adapter.mjs'), join(out, 'lib', 'adapter.mjs'));
  copyFileSync(join(ROOT, 'scripts', 'gpu-kit', 'run.sh'), join(out, 'run.sh'));
  chmodSync(join(out, 'run.sh'), 0o755);

  console.log(`compressing Node ${process.version} (${process.execPath}) and dawn.node with xz -${args.level}…`);
  compress(process.execPath, join(out, 'bin', 'node.xz'), args.cache, args.level);
  compress(dawn, join(out, 'lib', 'dawn.node.xz'), args.cache, args.level);

  console.log('fetching the Vulkan loader (libvulkan1, amd64)…');
  const deb = vulkanDeb(args, join(out, 'deb'));

  cpSync(join(ROOT, 'python', 'meap_torch'), join(out, 'python', 'meap_torch'), {
    recursive: true, filter: (src) => !src.includes('__pycache__') && !src.endsWith('.pyc'),
  });
  mkdirSync(join(out, 'python', 'configs'));
  for (const name of TWIN_CHECK_PRESETS) writeFileSync(join(out, 'python', 'configs', `${name}.json`), JSON.stringify(preset(name)));

  const files = filesOf(out);
  const total = files.reduce((s, f) => s + f.bytes, 0);
  const manifest = {
    builtAt: new Date().toISOString(), commit: gitCommit(), node: process.version, vulkanDeb: deb, bytes: total, files,
  };
  writeFileSync(join(out, 'kit.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  for (const f of files.filter((x) => x.bytes > 1024 * 1024)) console.log(`  ${f.path.padEnd(30)} ${mib(f.bytes).padStart(10)}`);
  console.log(`kit: ${out}, ${files.length + 1} files, ${mib(total)} (limit ${mib(KIT_LIMIT_BYTES)}), built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (total > KIT_LIMIT_BYTES) throw new KitError(`the kit is ${mib(total)}, over its ${mib(KIT_LIMIT_BYTES)} limit`);
  console.log(`run it on the server: ${join(out, 'run.sh')} --out RESULTS [--studies NAME,NAME] [--budget SECONDS]`);
}

async function main(argv: string[]): Promise<number> {
  let args: Args | null;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`gpu-kit: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  try {
    await buildKit(args);
    return 0;
  } catch (error) {
    console.error(`gpu-kit: ${error instanceof KitError ? error.message : (error as Error).stack ?? error}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`gpu-kit: ${(error as Error).stack ?? error}`);
  process.exit(1);
});

/**
 * Runs the PyTorch twin (python/meap_torch) for the parity tests: Debian's /usr/bin/python3 with python3-torch
 * (1.13), and .venv-torch2 (torch 2.x on CPU, made by scripts/torch2-venv.sh) for the generation GPUs run.
 * A missing interpreter or torch is a failure with the fix, never a skip (the twin's parity is a test).
 */
import { expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { StudyConfig } from '../src/config/presets';
import type { TensorSlot } from '../src/model/layout';

export const PYTHON = process.env.MEAP_TORCH_PYTHON ?? '/usr/bin/python3';
const ROOT = resolve(__dirname, '..');
/** torch 2.x (CPU) and its real torchrun, beside Debian's 1.13. */
export const TORCH2_PYTHON = process.env.MEAP_TORCH2_PYTHON ?? join(ROOT, '.venv-torch2', 'bin', 'python');
export const TORCH2_TORCHRUN = join(dirname(TORCH2_PYTHON), 'torchrun');
export const PYTHON_PATH = join(ROOT, 'python');

/** Throws with the install line when the twin's interpreter or torch is missing. */
export function assertTorchAvailable(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`The PyTorch twin's parity tests need ${PYTHON} with torch (${probe.error?.message ?? probe.stderr.trim()}). ` +
      'Fix: apt-get install -y python3-torch (npm test\'s pretest, scripts/system-deps.sh, does it as root).');
  }
}

/** Throws with the fix unless TORCH2_PYTHON has torch 2.x; returns its version. */
export function assertTorch2Available(): string {
  const probe = spawnSync(TORCH2_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  const version = probe.status === 0 ? probe.stdout.trim() : '';
  if (probe.error || probe.status !== 0 || !(Number(version.split('.')[0]) >= 2)) {
    throw new Error(`The twin's torch-2 tests need ${TORCH2_PYTHON} with torch 2.x ` +
      `(${probe.error?.message ?? (version || probe.stderr.trim())}). Fix: bash scripts/torch2-venv.sh (npm test's pretest runs it).`);
  }
  return version;
}

/** `python -m meap_torch.MODULE args…` (PYTHONPATH = python/); throws with its stderr on failure, returns stdout. */
export function runPython(args: string[], env: NodeJS.ProcessEnv = {}, python = PYTHON): string {
  const result = spawnSync(python, args, {
    encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PYTHONPATH: PYTHON_PATH, ...env },
  });
  if (result.error || result.status !== 0) {
    throw new Error(`${python} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`);
  }
  return result.stdout;
}

/** `torchrun --standalone --nproc_per_node 2 -m MODULE args…` of torch 2.x (a free rendezvous port); returns stdout. */
export function torchrunTwoRanks(moduleAndArgs: string[]): string {
  const run = spawnSync(TORCH2_TORCHRUN, ['--standalone', '--nproc_per_node', '2', '-m', ...moduleAndArgs],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, PYTHONPATH: PYTHON_PATH } });
  if (run.error || run.status !== 0) throw new Error(`torchrun failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr}`);
  return run.stdout;
}

/** The twin's two interpreters, for tests that run on both: Debian's torch 1.13 and torch 2.x. */
export const TWIN_INTERPRETERS = [
  { name: 'torch 1.13 (Debian)', python: PYTHON, assertAvailable: assertTorchAvailable },
  { name: 'torch 2.x (.venv-torch2)', python: TORCH2_PYTHON, assertAvailable: assertTorch2Available },
];

/** `python -m meap_torch.MODULE args…` with CONFIG written to a file; its stdout parsed as JSON. */
export function runTwin<T>(module: string, args: (string | number)[], config?: StudyConfig, env: NodeJS.ProcessEnv = {},
  python = PYTHON): T {
  const dir = mkdtempSync(join(tmpdir(), 'meap-torch-'));
  const configPath = join(dir, 'config.json');
  if (config) writeFileSync(configPath, JSON.stringify(config));
  const argv = ['-m', `meap_torch.${module}`, ...args.map((a) => (a === 'CONFIG' ? configPath : String(a)))];
  return JSON.parse(runPython(argv, env, python)) as T;
}

/** Every number of `ours` within `tolerance` (relative above 1) of `expected`, the same structure and names otherwise. */
export function expectClose(ours: unknown, expected: unknown, where: string, tolerance: number): void {
  if (typeof expected === 'number') {
    expect(typeof ours, where).toBe('number');
    expect(Math.abs((ours as number) - expected) / Math.max(1, Math.abs(expected)), where).toBeLessThan(tolerance);
  } else if (Array.isArray(expected)) {
    expect((ours as unknown[]).length, where).toBe(expected.length);
    expected.forEach((e, i) => expectClose((ours as unknown[])[i], e, `${where}[${i}]`, tolerance));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(ours as object).sort(), where).toEqual(Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) expectClose((ours as Record<string, unknown>)[k], e, `${where}.${k}`, tolerance);
  } else {
    expect(ours, where).toEqual(expected);
  }
}

/**
 * Largest ‖a − b‖₂ / ‖b‖₂ over the layout's tensors: each weight matrix's error as a whole. `a` is the twin's
 * (name → values), `b` one run's flat parameters in the engine's layout (from `base`).
 */
export function tensorRelativeError(a: Record<string, number[]>, b: ArrayLike<number>, tensors: readonly TensorSlot[], base = 0):
  { rel: number; where: string } {
  let worst = { rel: 0, where: '' };
  for (const t of tensors) {
    let diff = 0;
    let norm = 0;
    a[t.name].forEach((value, i) => {
      const expected = b[base + t.offset + i];
      diff += (value - expected) ** 2;
      norm += expected ** 2;
    });
    const rel = Math.sqrt(diff / norm);
    if (!(rel <= worst.rel)) worst = { rel, where: t.name };
  }
  return worst;
}

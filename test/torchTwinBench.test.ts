/** `npm run bench-twin`: the engine's tokens/s beside the twin's, as a ratio; bad arguments exit 2 with the reason. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertTorchAvailable } from './torchTwinSupport';

const ROOT = resolve(__dirname, '..');
const benchTwin = (...args: string[]) => spawnSync('npx', ['vite-node', 'src/cli/benchTwin.ts', '--', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('bench-twin', () => {
  it('reports both speeds and their ratio (tiny, CPU engine)', () => {
    assertTorchAvailable();
    const result = benchTwin('--preset', 'tiny', '--steps', '2', '--engine', 'cpu');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/CPU reference engine \(float64\): \d+ tokens\/s/);
    expect(result.stdout).toMatch(/PyTorch twin \(torch [^)]+\): \d+ tokens\/s/);
    expect(result.stdout).toMatch(/engine \/ twin = \d+\.\d\d/);
  });

  it('refuses a bad argument with a one-line reason', () => {
    const result = benchTwin('--steps', '0');
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe('bench-twin: --steps must be a positive integer, got "0"');
  });
});

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, parseCompareArgs } from '../src/cli/args';

describe('compare CLI arguments', () => {
  it('builds the study from a preset and flags', () => {
    const { config, json } = parseCompareArgs(['--', '--preset', 'tiny', '--steps', '30', '--seeds', '2', '--mask-ratios', '0,0.05,0.15', '--json', 'x.json']);
    expect(config.steps).toBe(30);
    expect(config.seedsPerArm).toBe(2);
    expect(config.arms).toEqual([0, 0.05, 0.15]);
    expect(json).toBe('x.json');
    expect(parseCompareArgs(['--paper-grid']).config.arms).toEqual([0, 0.05, 0.1, 0.15, 0.2]);
    expect(parseCompareArgs(['--mask-ratio', '0.2']).config.arms).toEqual([0, 0.2]);
  });

  it.each([
    [['--steps', 'ten'], /--steps must be an integer/],
    [['--steps=-5'], /steps must be a positive integer/],
    [['--lr', 'NaN'], /--lr must be a number/],
    [['--mask-ratio', '1.5'], /mask ratio must be in \[0, 1\)/],
    [['--preset', 'huge'], /unknown preset "huge"/],
    [['--task', 'poetry'], /--task must be "needle"/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--mask-ratio', '0.1', '--paper-grid'], /only one of/],
  ])('refuses %j with one clear line', (argv, message) => {
    expect(() => parseCompareArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseCompareArgs(argv as string[])).toThrow(message as RegExp);
  });
});

describe('npm run compare', () => {
  it('trains both arms, prints a table and writes the JSON history', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'compare-')), 'out.json');
    const result = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', '--preset', 'tiny', '--steps', '12', '--eval-every', '6',
      '--eval-count', '8', '--json', out], { encoding: 'utf8', timeout: 300_000 });
    expect(result.stderr).not.toMatch(/compare:/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/NTP/);
    expect(result.stdout).toMatch(/MEAP P=0\.15/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.config.steps).toBe(12);
    expect(report.runs.map((r: { objective: string }) => r.objective)).toEqual(['ntp', 'meap']);
    for (const run of report.runs) {
      expect(run.history.map((h: { step: number }) => h.step)).toEqual([6, 12]);
      const [first, last] = run.history;
      expect(last.trainLoss).toBeLessThan(first.trainLoss);
      for (const key of ['trainLoss', 'valLoss', 'retrievalAcc', 'tokensPerSec']) expect(Number.isFinite(first[key])).toBe(true);
      expect(first.accByDepth).toHaveLength(4);
    }
  });

  it('exits non-zero with a one-line reason for an invalid argument', () => {
    const result = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', '--steps', 'x'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('compare:'))).toEqual(['compare: --steps must be an integer, got "x"']);
  });
});

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError, parseCompareArgs, runDirectoryName } from '../src/cli/args';

describe('compare CLI arguments', () => {
  it('builds the study from a preset and flags', () => {
    const { config, json } = parseCompareArgs(['--', '--preset', 'tiny', '--steps', '30', '--seeds', '2', '--mask-ratios', '0,0.05,0.15', '--json', 'x.json']);
    expect(config.steps).toBe(30);
    expect(config.seedsPerArm).toBe(2);
    expect(config.arms).toEqual([0, 0.05, 0.15]);
    expect(json).toBe('x.json');
    expect(parseCompareArgs(['--paper-grid']).config.arms).toEqual([0, 0.05, 0.1, 0.15, 0.2]);
    expect(parseCompareArgs(['--mask-ratio', '0.2']).config.arms).toEqual([0, 0.2]);
    expect(parseCompareArgs(['--protect-query']).config.protectQuery).toBe(true);
    expect(parseCompareArgs([]).config.protectQuery).toBeUndefined();
    const controls = parseCompareArgs(['--replace', 'random-filler', '--protect', 'needle-key,query-marker']).config;
    expect(controls.replace).toBe('random-filler');
    expect(controls.protect).toEqual(['needle-key', 'query-marker']);
    expect(parseCompareArgs([]).config.replace).toBeUndefined();
  });

  it.each([
    [['--steps', 'ten'], /--steps must be an integer/],
    [['--steps=-5'], /steps must be a positive integer/],
    [['--lr', 'NaN'], /--lr must be a number/],
    [['--mask-ratio', '1.5'], /mask ratio must be in \[0, 1\)/],
    [['--preset', 'huge'], /unknown preset "huge"/],
    [['--task', 'poetry'], /--task must be one of needle, recall, multidoc, qa, text, got "poetry"/],
    [['--task', 'recall', '--preset', 'needle-s'], /--task recall does not match --preset needle-s, a needle preset/],
    [['--preset', 'recall-s', '--text-file', 'x.txt'], /--text-file needs the text task/],
    [['--task', 'text', '--text-file', '/nonexistent/corpus.txt'], /--text-file: cannot read "\/nonexistent\/corpus\.txt" \(ENOENT\)/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--mask-ratio', '0.1', '--paper-grid'], /only one of/],
    [['--replace', 'zeros'], /--replace: replace must be one of mask, random, random-filler, got "zeros"/],
    [['--protect', 'needle'], /--protect: .*needle-key, needle-value, query-marker, query-key/],
    [['--task', 'text', '--replace', 'random-filler'], /--replace: replace: random-filler needs a task with filler words/],
    [['--protect', 'needle-key', '--shared-mask'], /--protect: .*turn off sharedMask/],
  ])('refuses %j with one clear line', (argv, message) => {
    expect(() => parseCompareArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseCompareArgs(argv as string[])).toThrow(message as RegExp);
  });

  it('picks the task\'s default preset when --preset is not given', () => {
    expect(parseCompareArgs([]).config.task).toBe('needle');
    expect(parseCompareArgs(['--task', 'needle']).config.model).toEqual(parseCompareArgs(['--preset', 'tiny']).config.model);
    for (const [task, name] of [['recall', 'recall-s'], ['multidoc', 'multidoc-s'], ['text', 'text-s']] as const) {
      const { config } = parseCompareArgs(['--task', task, '--steps', '10']);
      expect(config.task).toBe(task);
      expect(config.model).toEqual(parseCompareArgs(['--preset', name]).config.model);
      expect(config.steps).toBe(10);
    }
    expect(parseCompareArgs(['--task', 'needle', '--preset', 'needle-long']).config.model.context).toBe(256);
  });

  it('trains the text task on a user file, and refuses a binary, empty or too short one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'text-file-'));
    const file = (name: string, content: string | Buffer) => { const path = join(dir, name); writeFileSync(path, content); return path; };
    const good = file('good.txt', 'A plain text file with a few sentences in it. '.repeat(20));
    const { config } = parseCompareArgs(['--task', 'text', '--text-file', good]);
    expect(config.taskOptions).toMatchObject({ source: { kind: 'user', text: readFileSync(good, 'utf8') } });
    const binary = file('binary.bin', Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
    expect(() => parseCompareArgs(['--task', 'text', '--text-file', binary])).toThrow(/looks binary/);
    expect(() => parseCompareArgs(['--task', 'text', '--text-file', file('empty.txt', '\n\n')])).toThrow(/empty/);
    expect(() => parseCompareArgs(['--task', 'text', '--text-file', file('short.txt', 'Too short.')]))
      .toThrow(/the text \(10 characters after normalisation\) is too short for context T = 64.*at least 650 characters/);
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

  it('gives, timings aside, the very JSON the code before the structural move gave (test/fixtures/premove)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compare-premove-'));
    const json = join(dir, 'history.json');
    const result = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', '--preset', 'tiny', '--steps', '40', '--seeds', '2',
      '--eval-every', '10', '--json', json], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const withoutTimings = (text: string) => JSON.stringify(JSON.parse(text), (key, value: unknown) => (key === 'tokensPerSec' ? undefined : value));
    expect(withoutTimings(readFileSync(json, 'utf8'))).toBe(withoutTimings(readFileSync('test/fixtures/premove/compare-tiny-40.json', 'utf8')));
  });

  it('exits non-zero with a one-line reason for an invalid argument', () => {
    const result = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', '--steps', 'x'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('compare:'))).toEqual(['compare: --steps must be an integer, got "x"']);
  });
});

describe('compare --save, then export to ONNX', () => {
  it('names run directories ntp/meap, with ratio and seed suffixes only when needed', () => {
    const base = parseCompareArgs([]).config;
    expect(runDirectoryName({ arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' }, base)).toBe('ntp');
    expect(runDirectoryName({ arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' }, base)).toBe('meap');
    const grid = parseCompareArgs(['--paper-grid', '--seeds', '2']).config;
    expect(runDirectoryName({ arm: 2, maskRatio: 0.1, seed: 1, objective: 'meap' }, grid)).toBe('meap-p0.1-seed1');
  });

  it('writes each run as safetensors + config.json, and the MEAP run exports to an ONNX model that verifies', () => {
    const dir = mkdtempSync(join(tmpdir(), 'save-'));
    const trained = spawnSync('npx', ['vite-node', 'src/cli/compare.ts', '--', '--preset', 'tiny', '--steps', '6', '--eval-every', '6',
      '--eval-count', '8', '--save', dir], { encoding: 'utf8', timeout: 300_000 });
    expect(trained.stderr).not.toMatch(/compare:/);
    expect(trained.status).toBe(0);
    for (const run of ['ntp', 'meap']) {
      expect(existsSync(join(dir, run, 'model.safetensors')), run).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, run, 'config.json'), 'utf8')).model_type).toBe('llama');
    }
    const onnx = join(dir, 'meap.onnx');
    const exported = spawnSync('npx', ['vite-node', 'src/cli/export.ts', '--', '--checkpoint', join(dir, 'meap'), '--out', onnx, '--verify'],
      { encoding: 'utf8', timeout: 300_000 });
    expect(exported.stderr).not.toMatch(/export:/);
    expect(exported.status).toBe(0);
    expect(existsSync(onnx)).toBe(true);
  });
});

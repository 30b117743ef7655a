/**
 * Nothing lost, nothing overwritten (issue 18 items 2–4): the CLIs resolve and probe their outputs before any
 * training and exit 2 with one line when an output is a directory, a FIFO, missing its folder, or one of the
 * command's inputs; `export --out` never replaces its own checkpoint; `reproduce --from` never rewrites an
 * existing report folder unless `--force` names it; `compare --save` gives every run its own folder; inputs
 * (--text-file, --checkpoint, --from) are read only from regular files and never past their byte limit.
 * Spawned commands run with a timeout: a command that waits on a FIFO fails the test instead of hanging it.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCompareArgs, runDirectoryName, UsageError } from '../src/cli/args';
import { planCompareOutputs, plannedRuns } from '../src/cli/compareOutputs';
import { MAX_RECORD_BYTES, renderRecordFile } from '../src/study/renderRecord';
import { writeCheckpointDir } from '../src/export/checkpointFiles';
import { preset } from '../src/config/presets';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';

function cli(script: string, argv: string[], timeout = 90_000) {
  const started = Date.now();
  // vite-node itself (not through npx), so a timeout kills the process that may be stuck on a FIFO.
  const result = spawnSync('node_modules/.bin/vite-node', [`src/cli/${script}.ts`, '--', ...argv], { encoding: 'utf8', timeout, killSignal: 'SIGKILL' });
  const reasons = (result.stderr ?? '').trim().split('\n').filter((l) => l.startsWith(`${script}:`));
  return { status: result.status, stdout: result.stdout ?? '', reasons, seconds: (Date.now() - started) / 1000 };
}

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `${name}-`));

function fifo(dir: string): string {
  const path = join(dir, 'pipe');
  expect(spawnSync('mkfifo', [path]).status).toBe(0);
  return path;
}

/** Every file under `dir` with its bytes, to see that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[join(entry.parentPath, entry.name)] = readFileSync(join(entry.parentPath, entry.name)).toString('base64');
  }
  return files;
}

describe('compare: outputs checked before training', () => {
  it('--json into a directory, a FIFO, a missing folder or its own --text-file: exit 2, one line, nothing trained', () => {
    const dir = fresh('compare-out');
    const text = join(dir, 'corpus.txt');
    writeFileSync(text, 'A plain text file with a few sentences in it. '.repeat(20));
    const cases: [string[], RegExp][] = [
      [['--json', dir], /^compare: --json: ".*" is a directory; give a file name$/],
      [['--json', fifo(dir)], /^compare: --json: ".*pipe" is not a regular file \(a FIFO, socket or device\); give a file name$/],
      [['--json', join(dir, 'missing', 'x.json')], /^compare: --json: the directory ".*missing" does not exist$/],
      [['--task', 'text', '--text-file', text, '--json', text], /^compare: --json: ".*corpus\.txt" is also an input of this command/],
    ];
    for (const [argv, reason] of cases) {
      const result = cli('compare', ['--steps', '2000', ...argv]);
      expect(result.status, argv.join(' ')).toBe(2);
      expect(result.reasons).toHaveLength(1);
      expect(result.reasons[0]).toMatch(reason);
      expect(result.stdout).not.toMatch(/trainLoss/); // refused before the adapter was asked for
    }
    expect(readFileSync(text, 'utf8')).toMatch(/^A plain text file/);
  });

  it('a save that fails after training keeps the JSON history (written first) and says where it is', async () => {
    const dir = fresh('compare-failed-save');
    const json = join(dir, 'history.json');
    const save = join(dir, 'runs');
    const child = spawn('node_modules/.bin/vite-node', ['src/cli/compare.ts', '--', '--steps', '120', '--eval-every', '60',
      '--eval-count', '8', '--json', json, '--save', save], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    let swapped = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      // Training has started (the outputs were checked): the --save folder is replaced by a file, so the save fails.
      if (!swapped && stdout.includes('trainLoss')) {
        swapped = true;
        rmSync(save, { recursive: true, force: true });
        writeFileSync(save, 'not a folder');
      }
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(swapped).toBe(true);
    expect(status).toBe(1);
    const reasons = stderr.trim().split('\n').filter((l) => l.startsWith('compare:'));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(new RegExp(`^compare: --save: cannot write ".*ntp" \\(\\w+\\); the history is in ${json.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const history = JSON.parse(readFileSync(json, 'utf8'));
    expect(history.runs.map((r: { history: unknown[] }) => r.history.length)).toEqual([2, 2]);
  }, 300_000);

  it('bench --json into a directory: exit 2 before the browser starts', () => {
    const dir = fresh('bench-json');
    const result = cli('bench', ['--quick', '--json', dir], 60_000);
    expect(result.status).toBe(2);
    expect(result.reasons).toEqual([`bench: --json: "${dir}" is a directory; give a file name`]);
  });

  it('reproduce --out that cannot hold the study folder: exit 2 before training', () => {
    const dir = fresh('reproduce-out');
    writeFileSync(join(dir, 'file'), 'x');
    const result = cli('reproduce', ['--study', 'needle-quick', '--quick', '--out', join(dir, 'file')], 120_000);
    expect(result.status).toBe(2);
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toMatch(/^reproduce: --out: /);
    expect(result.seconds).toBeLessThan(60);
  });

  it('--save with a repeated mask ratio gives every run its own folder (arm index in the name)', () => {
    const config = parseCompareArgs(['--mask-ratios', '0,0.15,0.15', '--seeds', '2']).config;
    const names = plannedRuns(config).map((run) => runDirectoryName(run, config));
    expect(names).toEqual(['ntp-seed0', 'ntp-seed1', 'meap-p0.15-arm1-seed0', 'meap-p0.15-arm1-seed1', 'meap-p0.15-arm2-seed0', 'meap-p0.15-arm2-seed1']);
    const twoNtp = parseCompareArgs(['--mask-ratios', '0,0']).config;
    expect(plannedRuns(twoNtp).map((run) => runDirectoryName(run, twoNtp))).toEqual(['ntp-arm0', 'ntp-arm1']);
    // Unchanged where nothing repeats.
    const base = parseCompareArgs([]).config;
    expect(plannedRuns(base).map((run) => runDirectoryName(run, base))).toEqual(['ntp', 'meap']);
    const root = join(fresh('compare-save'), 'runs');
    const outputs = planCompareOutputs({ ...parseCompareArgs(['--mask-ratios', '0,0.15,0.15', '--save', root]), textFile: undefined });
    expect(new Set(outputs.runDirs).size).toBe(3);
    expect(existsSync(root)).toBe(true); // created up front, with a write probe
    expect(readdirSync(root)).toEqual([]);
  });

  it('--json that is one of the files --save writes, or a --save path that is a file: refused up front', () => {
    const dir = fresh('compare-clash');
    expect(() => planCompareOutputs(parseCompareArgs(['--save', dir, '--json', join(dir, 'ntp', 'config.json')])))
      .toThrow(UsageError);
    mkdirSync(join(dir, 'ntp'));
    expect(() => planCompareOutputs(parseCompareArgs(['--save', dir, '--json', join(dir, 'ntp', 'config.json')])))
      .toThrow(/--json: ".*config\.json" is one of the run files --save writes/);
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => planCompareOutputs(parseCompareArgs(['--save', join(dir, 'file')]))).toThrow(/^--save: ".*file" exists and is not a directory$/);
  });
});

describe('inputs read only from regular files, within their limits', () => {
  it('--text-file: a FIFO or a device is refused with one line (not read forever)', () => {
    const dir = fresh('text-fifo');
    const result = cli('compare', ['--task', 'text', '--text-file', fifo(dir)], 60_000);
    expect(result.status).toBe(2);
    expect(result.reasons).toEqual([`compare: --text-file: "${join(dir, 'pipe')}" is not a regular file (a FIFO, socket or device); give a file`]);
  });

  it('export-study: a FIFO as --config, or a file as --out, is refused with one line before anything is written', () => {
    const dir = fresh('export-study-guards');
    const pipe = fifo(dir);
    // The command is `export-study`; its file is src/cli/exportStudy.ts.
    const exportStudy = (argv: string[]) => {
      const result = spawnSync('node_modules/.bin/vite-node', ['src/cli/exportStudy.ts', '--', ...argv], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
      return { status: result.status, reasons: (result.stderr ?? '').trim().split('\n').filter((l) => l.startsWith('export-study:')) };
    };
    const byFifo = exportStudy(['--config', pipe, '--out', join(dir, 'out')]);
    expect(byFifo.status).toBe(2);
    expect(byFifo.reasons).toEqual([`export-study: --config: "${pipe}" is not a regular file (a FIFO, socket or device); give a file`]);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'kept');
    const byFile = exportStudy(['--study', 'needle-quick', '--quick', '--out', file]);
    expect(byFile.status).toBe(2);
    expect(byFile.reasons).toEqual([`export-study: --out: "${file}" exists and is not a directory`]);
    expect(readFileSync(file, 'utf8')).toBe('kept');
  });

  it('--text-file /dev/zero is refused by what it is, not read until memory runs out', () => {
    expect(() => parseCompareArgs(['--task', 'text', '--text-file', '/dev/zero'])).toThrow(/^--text-file: "\/dev\/zero" is not a regular file/);
  });

  it('--from: a FIFO is refused with one line; a record over the size limit is refused by its bytes', () => {
    const dir = fresh('from-bounded');
    const result = cli('reproduce', ['--from', fifo(dir), '--out', dir], 60_000);
    expect(result.status).toBe(1);
    expect(result.reasons).toEqual([`reproduce: cannot read ${join(dir, 'pipe')}: is not a regular file (a FIFO, socket or device); give a file`]);
    // A valid record padded with whitespace past the limit (once rendered in minutes, with a GB of memory).
    const big = join(dir, 'big.json');
    const record = readFileSync('reports/needle-quick/study.json', 'utf8').trimEnd();
    writeFileSync(big, record + ' '.repeat(MAX_RECORD_BYTES - record.length + 1));
    expect(() => renderRecordFile(big, join(dir, 'out'))).toThrow(`cannot read ${big}: has ${MAX_RECORD_BYTES + 1} bytes; at most ${MAX_RECORD_BYTES} are accepted`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('export never overwrites its checkpoint', () => {
  it('--out that is the checkpoint\'s model.safetensors (or a link to it, or its config.json): exit 2, the weights unchanged', () => {
    const dir = fresh('export-self');
    const config = preset('tiny').model;
    const ck = join(dir, 'ck');
    writeCheckpointDir(ck, config, initParameters(config, parameterLayout(config), 1));
    const before = snapshot(ck);
    symlinkSync(join(ck, 'model.safetensors'), join(dir, 'link.onnx'));
    for (const out of [join(ck, 'model.safetensors'), join(dir, 'link.onnx'), join(ck, 'config.json')]) {
      const result = cli('export', ['--checkpoint', ck, '--out', out]);
      expect(result.status, out).toBe(2);
      expect(result.reasons).toHaveLength(1);
      expect(result.reasons[0]).toMatch(/^export: --out: ".*" is also an input of this command/);
    }
    const file = cli('export', ['--checkpoint', join(ck, 'model.safetensors'), '--out', join(ck, 'model.safetensors')]);
    expect(file.status).toBe(2);
    expect(snapshot(ck)).toEqual(before);
  });

  it('--checkpoint that is a FIFO is refused with one line', () => {
    const dir = fresh('export-fifo');
    const result = cli('export', ['--checkpoint', fifo(dir), '--out', join(dir, 'x.onnx')], 60_000);
    expect(result.status).toBe(1);
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toMatch(/is not a regular file/);
  });
});

describe('reproduce --study never rewrites a committed report unless --force names it', () => {
  it('refused (exit 2) before training when the study folder holds a committed report.md', () => {
    const repo = fresh('committed-report');
    const folder = join(repo, 'reports', 'needle-quick-quick');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'report.md'), '# committed\n');
    const git = (...args: string[]) => expect(spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo }).status).toBe(0);
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'report');
    const result = cli('reproduce', ['--study', 'needle-quick', '--quick', '--out', join(repo, 'reports')], 60_000);
    expect(result.status).toBe(2);
    expect(result.reasons).toEqual([`reproduce: ${folder} holds a committed report; reproduce into another --out, or pass --force ${folder} to update it`]);
    expect(readdirSync(folder)).toEqual(['report.md']);
    expect(readFileSync(join(folder, 'report.md'), 'utf8')).toBe('# committed\n');
  });
});

describe('reproduce --from never rewrites an existing report unless --force names it', () => {
  it('a record named like a committed study: refused (exit 2), the folder unchanged; --force with that folder replaces it', () => {
    const root = fresh('from-committed');
    const reports = join(root, 'reports');
    cpSync('reports/needle-quick', join(reports, 'needle-quick'), { recursive: true });
    // What the page downloads for an unedited study: named after it, but with other numbers.
    const record = JSON.parse(readFileSync('reports/needle-quick/study.json', 'utf8'));
    record.units = record.units.slice(0, 1);
    const download = join(root, 'study.json');
    writeFileSync(download, JSON.stringify(record));
    const before = snapshot(reports);

    const refused = cli('reproduce', ['--from', download, '--out', reports]);
    expect(refused.status).toBe(2);
    expect(refused.reasons).toEqual([`reproduce: ${join(reports, 'needle-quick')} already exists; render into another --out, or pass --force ${join(reports, 'needle-quick')} to replace its report`]);
    expect(snapshot(reports)).toEqual(before);

    expect(() => renderRecordFile(download, reports, { force: join(reports, 'other') })).toThrow(/--force names .*other, but the report goes to .*needle-quick/);
    // The record itself inside the folder it would be written to: refused even with --force.
    expect(() => renderRecordFile(join(reports, 'needle-quick', 'study.json'), reports, { force: join(reports, 'needle-quick') }))
      .toThrow(/study\.json is inside .*needle-quick, where its report would be written/);
    expect(snapshot(reports)).toEqual(before);

    const { dir } = renderRecordFile(download, reports, { force: join(reports, 'needle-quick') });
    expect(dir).toBe(join(reports, 'needle-quick'));
    expect(JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')).units).toHaveLength(1);
  });
});

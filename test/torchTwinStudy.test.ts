/**
 * export-study → `python -m meap_torch.train` → `reproduce --from`: the export holds the engine's initial weights,
 * the twin's study record (float64) matches the CPU engine's histories evaluation by evaluation and its attention analyses, two ranks give the
 * same record as one (timings aside), and the record renders into a report.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/export/safetensors';
import { CpuStudy } from '../src/engine/cpuStudy';
import { RunPlan } from '../src/engine/runPlan';
import { trainToEnd } from '../src/engine/trainingLoop';
import { analyseAttention } from '../src/engine/modelAnalysis';
import { parameterLayout } from '../src/model/layout';
import { renderRecordFile } from '../src/study/renderRecord';
import type { StudyRecord } from '../src/study/report';
import { computeEstimate, quickDefinition, studyDefinition, unitConfig } from '../src/study/studies';
import { SCALE_STUDIES } from '../src/cli/scaleStudies';
import { validateStudyConfig } from '../src/config/validate';
import {
  assertTorch2Available, assertTorchAvailable, expectClose, runPython, TORCH2_PYTHON, torchrunTwoRanks,
} from './torchTwinSupport';

const ROOT = resolve(__dirname, '..');
const definition = quickDefinition(studyDefinition('needle-quick'));
let exportDir: string;

function twinTrain(args: string[]): StudyRecord {
  runPython(['-m', 'meap_torch.train', ...args]);
  return JSON.parse(readFileSync(join(args[args.indexOf('--out') + 1], 'study.json'), 'utf8')) as StudyRecord;
}

/** The record's numbers without wall-clock fields (tokens/s, dates, adapter, command). */
function numbersOf(record: StudyRecord) {
  return record.units.map((u) => u.runs.map((r) => ({ ...r, history: r.history.map(({ tokensPerSec: _, ...p }) => p) })));
}

beforeAll(() => {
  assertTorchAvailable();
  exportDir = join(mkdtempSync(join(tmpdir(), 'meap-export-')), 'needle-quick');
  const result = spawnSync('npx', ['vite-node', 'src/cli/exportStudy.ts', '--', '--study', 'needle-quick', '--quick', '--out', exportDir],
    { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`export-study failed: ${result.stderr}`);
});

describe('PyTorch twin: export-study, train, reproduce --from', () => {
  it('exports the definition, each unit seed\'s engine init and a README', () => {
    const exported = JSON.parse(readFileSync(join(exportDir, 'export.json'), 'utf8'));
    expect(exported.definition).toEqual(JSON.parse(JSON.stringify(definition)));
    expect(readFileSync(join(exportDir, 'README.md'), 'utf8')).toContain('python3 -m meap_torch.train');
    const layout = parameterLayout(definition.config.model);
    exported.units.forEach((unit: { unit: number; initial: string[]; config: unknown }) => {
      expect(unit.config).toEqual(unitConfig(definition, unit.unit));
      const initial = new RunPlan(unitConfig(definition, unit.unit)).initialParameters(layout);
      unit.initial.forEach((path, seed) => {
        const file = readSafetensors(new Uint8Array(readFileSync(join(exportDir, path))));
        expect(Array.from(file.params)).toEqual(Array.from(initial[seed]));
      });
    });
  });

  it('float64 twin: every evaluation and the attention analyses of unit 0 match the CPU engine; 2 ranks equal 1; the record renders', async () => {
    const one = twinTrain([exportDir, '--float64', '--threads', '1', '--out', join(exportDir, 'one')]);
    const study = CpuStudy.create(unitConfig(definition, 0));
    const engine = await trainToEnd(study);
    const attention = await analyseAttention(study, null, definition.attentionExamples);
    one.units[0].runs.forEach((run, r) => {
      expect(run.history.map((p) => p.step)).toEqual(engine[r].map((p) => p.step));
      run.history.forEach((p, i) => {
        const e = engine[r][i];
        expect(Math.abs(p.trainLoss - e.trainLoss) / e.trainLoss, `run ${r} step ${p.step} trainLoss`).toBeLessThan(1e-12);
        expect(Math.abs(p.valLoss - e.valLoss) / e.valLoss, `run ${r} step ${p.step} valLoss`).toBeLessThan(1e-12);
        expect(p.retrievalAcc).toBe(e.retrievalAcc);
        expect(p.accByDepth).toEqual(e.accByDepth);
      });
      expect(attention[r].tokenMassByLayer, 'the needle task has the single-token split').toHaveLength(2);
      expect(attention[r].keySwap, 'and the key-swap probe').toBeDefined();
      expectClose(run.attention, attention[r], `run ${r} attention`, 1e-9);
    });

    // torchrun --nproc_per_node 2 stand-in (Debian's torchrun crashes on Python 3.11): the same environment per rank.
    runPython(['-m', 'meap_torch.launch', '--nproc_per_node', '2', '-m', 'meap_torch.train',
      exportDir, '--float64', '--threads', '1', '--out', join(exportDir, 'two')]);
    const two = JSON.parse(readFileSync(join(exportDir, 'two', 'study.json'), 'utf8')) as StudyRecord;
    expect(two.units[0].adapter).toContain('2 rank(s)');
    expect(numbersOf(two)).toEqual(numbersOf(one));

    const rendered = renderRecordFile(join(exportDir, 'one', 'study.json'), join(exportDir, 'reports'));
    expect(existsSync(join(rendered.dir, 'report.md'))).toBe(true);
    expect(rendered.record.units).toHaveLength(2);
  });

  it('torch 2.x: the same record as torch 1.13 to rounding; a real `torchrun --nproc_per_node 2` gives one process\'s record', () => {
    assertTorch2Available();
    // torch 1.13's record: the one the float64 test above wrote, or trained now when that test was filtered out.
    const torch113Path = join(exportDir, 'one', 'study.json');
    const torch113 = existsSync(torch113Path) ? JSON.parse(readFileSync(torch113Path, 'utf8')) as StudyRecord
      : twinTrain([exportDir, '--float64', '--threads', '1', '--out', join(exportDir, 'one')]);
    runPython(['-m', 'meap_torch.train', exportDir, '--float64', '--threads', '1', '--out', join(exportDir, 'torch2-one')], {}, TORCH2_PYTHON);
    const one = JSON.parse(readFileSync(join(exportDir, 'torch2-one', 'study.json'), 'utf8')) as StudyRecord;
    expect(one.units[0].adapter).toMatch(/^PyTorch 2\./);
    // Unit 0 to 1e-9, as the engine (above). Unit 1's MEAP run is chaotic at this size: float64 rounding differences
    // (another torch's kernels) grow to 3e-4 in its loss by the second evaluation, as data-parallel's do (README).
    expectClose(numbersOf(one)[0], numbersOf(torch113)[0], 'unit 0', 1e-9);
    expect(numbersOf(one).map((runs) => runs.map((r) => r.history.map((p) => p.step))))
      .toEqual(numbersOf(torch113).map((runs) => runs.map((r) => r.history.map((p) => p.step))));

    // The export README's launch line, with --standalone (a free rendezvous port: tests run side by side).
    torchrunTwoRanks(['meap_torch.train', exportDir, '--float64', '--threads', '1', '--out', join(exportDir, 'torch2-two')]);
    const two = JSON.parse(readFileSync(join(exportDir, 'torch2-two', 'study.json'), 'utf8')) as StudyRecord;
    expect(two.units[0].adapter).toContain('2 rank(s)');
    expect(numbersOf(two)).toEqual(numbersOf(one));
  });

  it('resumes from saved units, and a control study\'s NTP runs reused from needle-quick are the runs it would train', () => {
    const out = join(exportDir, 'resume');
    const first = twinTrain([exportDir, '--threads', '1', '--out', out]);
    // A rerun skips the saved units: the very same record, timings and all.
    const again = twinTrain([exportDir, '--threads', '1', '--out', out]);
    expect(again.units).toEqual(first.units);
    // Two processes can share the units (--units FIRST-LAST); a run without it assembles the same record.
    const split = join(exportDir, 'split');
    runPython(['-m', 'meap_torch.train', exportDir, '--threads', '1', '--out', split, '--units', '1-1']);
    expect(existsSync(join(split, 'units', 'unit-00.json'))).toBe(false);
    expect(numbersOf(twinTrain([exportDir, '--threads', '1', '--out', split]))).toEqual(numbersOf(first));

    const control = join(dirname(exportDir), 'needle-quick-needle-visible');
    const exported = spawnSync('npx', ['vite-node', 'src/cli/exportStudy.ts', '--', '--study', 'needle-quick-needle-visible', '--quick', '--out', control],
      { cwd: ROOT, encoding: 'utf8' });
    if (exported.status !== 0) throw new Error(`export-study failed: ${exported.stderr}`);
    const trained = twinTrain([control, '--threads', '1', '--out', join(control, 'trained')]);
    const reused = twinTrain([control, '--threads', '1', '--out', join(control, 'reused'), '--reuse-ntp-from', out]);
    expect(numbersOf(reused)).toEqual(numbersOf(trained));
    expect(reused.command).toContain('--reuse-ntp-from');
    const arm = (record: StudyRecord, a: number) => numbersOf(record).map((runs) => runs.filter((r) => r.arm === a).map(({ history, attention }) => ({ history, attention })));
    expect(arm(trained, 0)).toEqual(arm(first, 0));
    expect(arm(trained, 1)).not.toEqual(arm(first, 1)); // the control changed MEAP's masks
    // Another study's units (a different config beyond the mask policy) are refused, not mixed in.
    const other = join(control, 'other');
    mkdirSync(join(other, 'units'), { recursive: true });
    const unit0 = JSON.parse(readFileSync(join(out, 'units', 'unit-00.json'), 'utf8'));
    writeFileSync(join(other, 'units', 'unit-00.json'), JSON.stringify({ ...unit0, config: { ...unit0.config, steps: unit0.config.steps + 1 } }));
    const foreign = spawnSync('/usr/bin/python3', ['-m', 'meap_torch.train', control, '--out', join(control, 'x'), '--reuse-ntp-from', other],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(ROOT, 'python') } });
    expect(foreign.stderr).toContain('is another study\'s unit');
    expect(foreign.status).not.toBe(0);
  });

  it('GPU-sized studies: valid, listed with FLOPs, the twin builds their models with the engine\'s parameter counts, --quick exports', () => {
    const list = spawnSync('npx', ['vite-node', 'src/cli/exportStudy.ts', '--', '--list'], { cwd: ROOT, encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const names = Object.keys(SCALE_STUDIES);
    expect(names).toEqual(['scale-needle-1m', 'scale-text-1m', 'scale-needle-10m', 'scale-text-10m', 'scale-needle-50m', 'scale-text-50m']);
    const definitions = names.map((name) => SCALE_STUDIES[name]());
    for (const d of definitions) {
      expect(() => validateStudyConfig(d.config)).not.toThrow();
      expect(list.stdout).toContain(`${d.name}: ${d.config.arms.length * d.config.seedsPerArm} runs`);
    }
    // One interpreter for all six (meta tensors would be faster but are newer than torch 1.13's nn.Module init).
    const counted = runPython(['-c', `import json, sys
from meap_torch.model import MeapLlama
print(json.dumps([sum(p.numel() for p in MeapLlama(m).parameters()) for m in json.loads(sys.argv[1])]))`,
    JSON.stringify(definitions.map((d) => d.config.model))]);
    expect(JSON.parse(counted)).toEqual(definitions.map((d) => computeEstimate(d).parameters));
    const out = join(mkdtempSync(join(tmpdir(), 'meap-scale-')), 'x');
    const quick = spawnSync('npx', ['vite-node', 'src/cli/exportStudy.ts', '--', '--study', 'scale-text-10m', '--quick', '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(quick.status, quick.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')).study).toBe('scale-text-10m');
  });
});

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContext } from './gpuContext';
import { UsageError } from '../src/cli/args';
import { parseReproduceArgs } from '../src/cli/reproduceArgs';
import { reproduce, savedUnit, studyDir, unitPath } from '../src/study/reproduce';
import { unitKey, type UnitRecord } from '../src/study/runner';
import { STUDY_NAMES } from '../src/study/studies';
import { quickDefinition, studyDefinition } from '../src/study/studies';
import {
  analyseStudy, formatLossEstimate, formatP, formatPercentEstimate, formatPoints, formatPointsInterval, statSeed, type StudyRecord,
} from '../src/study/report';
import { bootstrapDiffCI, estimate, mean, permutationTest } from '../src/study/stats';
import { RETRIEVAL_TOKEN_NAMES } from '../src/data/retrievalTokens';

describe('reproduce arguments', () => {
  it('defaults to needle-s under reports/ and records the canonical command', () => {
    expect(parseReproduceArgs([])).toMatchObject({ study: 'needle-s', quick: false, out: 'reports', command: 'npm run reproduce -- --study needle-s' });
    expect(parseReproduceArgs(['--', '--study', 'sweep', '--quick', '--out', '/tmp/x'])).toMatchObject({
      study: 'sweep', quick: true, out: '/tmp/x', command: 'npm run reproduce -- --study sweep --quick --out "/tmp/x"',
    });
  });

  it.each([
    [['--study', 'needle'], new RegExp(`--study must be one of ${STUDY_NAMES.join(', ')}, got "needle"`)],
    [['--out', ''], /--out needs a folder/],
    [['--seeds', '3'], /Unknown option '--seeds'/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j with one clear line', (argv, message) => {
    expect(() => parseReproduceArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseReproduceArgs(argv as string[])).toThrow(message as RegExp);
  });

  it('exits 2 with a one-line reason from the command line', () => {
    const result = spawnSync('npx', ['vite-node', 'src/cli/reproduce.ts', '--', '--study', 'bogus'], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n').filter((l) => l.startsWith('reproduce:')))
      .toEqual([`reproduce: --study must be one of ${STUDY_NAMES.join(', ')}, got "bogus"`]);
  });
});

/** The cells of the markdown table row whose first cell is `first` (and optionally whose second is `second`). */
function row(markdown: string, first: string, second?: string): string[] {
  const found = markdown.split('\n').find((l) => l.startsWith(`| ${first} |`) && (second === undefined || l.startsWith(`| ${first} | ${second} |`)));
  if (!found) throw new Error(`no table row "${first}${second ? ` | ${second}` : ''}"`);
  return found.slice(2, -2).split(' | ');
}

describe('npm run reproduce -- --study needle-s --quick', () => {
  it('trains, writes the report, whose numbers are recomputed from study.json, and resumes from its units', async () => {
    const ctx = await testContext();
    const out = mkdtempSync(join(tmpdir(), 'reproduce-'));
    const command = 'npm run reproduce -- --study needle-s --quick';
    const lines: string[] = [];
    const first = await reproduce({ study: 'needle-s', quick: true, out, command, ctx, log: (l) => lines.push(l) });
    const dir = studyDir(out, 'needle-s', true);
    expect(first.dir).toBe(dir);
    expect(first.trainedUnits).toEqual([0, 1]);
    expect(lines.some((l) => /unit 1\/2 step 20\/60: NTP/.test(l))).toBe(true);

    // Structure of the raw result.
    const record = JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')) as StudyRecord;
    expect(record.format).toBe('meap-study/1');
    expect(record.quick).toBe(true);
    expect(record.command).toBe(command);
    expect(record.definition.config.arms).toEqual([0, 0.05, 0.15]);
    const runs = record.units.flatMap((u) => u.runs);
    expect(runs).toHaveLength(6);
    for (const u of record.units) {
      expect(u.runs.map((r) => [r.arm, r.seed])).toEqual([[0, u.unit], [1, u.unit], [2, u.unit]]);
      expect(u.adapter).toMatch(/\S/);
    }
    for (const r of runs) {
      expect(r.history.map((p) => p.step)).toEqual([20, 40, 60]);
      expect(r.history[2].trainLoss).toBeLessThan(r.history[0].trainLoss);
      expect(r.attention!.segmentMass.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(r.attention!.headEntropy).toHaveLength(2);
      expect(Number.isFinite(r.attention!.scoreDecay)).toBe(true);
      // The single tokens split the needle (K : V) and the query (? K) segments, layer by layer.
      expect(r.attention!.tokenNames).toEqual([...RETRIEVAL_TOKEN_NAMES]);
      r.attention!.tokenMassByLayer!.forEach((tokens, l) => {
        expect(tokens[0] + tokens[1] + tokens[2]).toBeCloseTo(r.attention!.segmentMassByLayer[l][1], 12);
        expect(tokens[3] + tokens[4]).toBeCloseTo(r.attention!.segmentMassByLayer[l][3], 12);
      });
      const { clean, swapped } = r.attention!.keySwap!;
      for (const share of [clean, swapped]) expect(share * r.attention!.examples.length % 1).toBeCloseTo(0, 9); // counts of prompts
    }

    // The report's files and sections.
    const markdown = readFileSync(join(dir, 'report.md'), 'utf8');
    for (const heading of ['## Setup', '## Retrieval accuracy over training', '## When retrieval is learned', '## Final accuracy and clean validation loss per arm',
      '## MEAP − NTP', '## Accuracy by needle depth', '## Attention on the trained models', '## Method']) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain(`\`${command}\``);
    expect(markdown).toContain(record.units[0].adapter);
    expect(markdown).toContain(record.generatedAt);
    expect(markdown).toMatch(/Quick run/);
    const images = [...markdown.matchAll(/!\[[^\]]*\]\((figures\/[^)]+\.svg)\)/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThanOrEqual(9);
    for (const image of images) {
      const svg = readFileSync(join(dir, image), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
      expect(svg).not.toMatch(/NaN|undefined/);
    }
    expect(readFileSync(join(dir, 'figures', 'accuracy.svg'), 'utf8')).toContain('#2563eb');

    // Every number: recomputed here from study.json alone.
    const study = record.study;
    const byArm = (arm: number) => runs.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    const finalAcc = (arm: number) => byArm(arm).map((r) => r.history[r.history.length - 1].retrievalAcc);
    const finalLoss = (arm: number) => byArm(arm).map((r) => r.history[r.history.length - 1].valLoss);
    const meanAcc = (arm: number) => byArm(arm).map((r) => mean(r.history.map((p) => p.retrievalAcc)));
    for (const [arm, label] of [[0, 'NTP'], [1, 'MEAP 5%'], [2, 'MEAP 15%']] as const) {
      const cells = row(markdown, label, '2');
      expect(cells[2]).toBe(formatPercentEstimate(estimate(finalAcc(arm), statSeed(study, 'finalAcc', arm))));
      expect(cells[3]).toBe(formatPercentEstimate(estimate(meanAcc(arm), statSeed(study, 'meanAcc', arm))));
      expect(cells[4]).toBe(formatLossEstimate(estimate(finalLoss(arm), statSeed(study, 'finalValLoss', arm))));
      const needle = estimate(byArm(arm).map((r) => r.attention!.segmentMass[1]), statSeed(study, 'mass1', arm));
      expect(row(markdown, 'attention on needle')[1 + arm]).toBe(formatPercentEstimate(needle));
      const layer0Needle = estimate(byArm(arm).map((r) => r.attention!.segmentMassByLayer[0][1]), statSeed(study, 'mass0.1', arm));
      expect(row(markdown, 'layer 0: needle')[1 + arm]).toBe(formatPercentEstimate(layer0Needle));
      const layer1Value = estimate(byArm(arm).map((r) => r.attention!.tokenMassByLayer![1][2]), statSeed(study, 'token1.2', arm));
      expect(row(markdown, 'layer 1: needle value')[1 + arm]).toBe(formatPercentEstimate(layer1Value));
      const depth0 = estimate(byArm(arm).map((r) => r.history[2].accByDepth[0]), statSeed(study, 'depth0', arm));
      expect(row(markdown, '0–25%')[1 + arm]).toBe(formatPercentEstimate(depth0));
      if (arm > 0) {
        const diff = bootstrapDiffCI(finalAcc(arm), finalAcc(0), { seed: statSeed(study, 'diff:finalAcc', arm) });
        const test = permutationTest(finalAcc(arm), finalAcc(0), { seed: statSeed(study, 'perm:finalAcc', arm) });
        const cells = row(markdown, label, 'final retrieval accuracy');
        expect(cells[2]).toBe(`${formatPoints(diff.estimate)} ${formatPointsInterval(diff)}`);
        expect(cells[3]).toBe(formatP(test.p));
        expect(cells[5]).toBe('too few seeds for a claim');
      }
    }
    // summary.json holds exactly analyseStudy(study.json).
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toEqual(JSON.parse(JSON.stringify(analyseStudy(record))));

    // Rerun: every unit is reused and the numbers do not move.
    const again = await reproduce({ study: 'needle-s', quick: true, out, command, ctx });
    expect(again.trainedUnits).toEqual([]);
    expect(again.skippedUnits).toEqual([0, 1]);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))).toEqual(summary);

    // An interrupted study (unit 1 missing) retrains only that unit, to the same numbers.
    const unit1 = readFileSync(unitPath(dir, 1), 'utf8');
    rmSync(unitPath(dir, 1));
    const resumed = await reproduce({ study: 'needle-s', quick: true, out, command, ctx });
    expect(resumed.trainedUnits).toEqual([1]);
    expect(resumed.skippedUnits).toEqual([0]);
    // Same numbers, apart from the measured speed.
    const numbers = (u: UnitRecord) => u.runs.map((r) => ({ ...r, history: r.history.map((p) => ({ ...p, tokensPerSec: 0 })) }));
    const retrained = JSON.parse(readFileSync(unitPath(dir, 1), 'utf8')) as UnitRecord;
    expect(numbers(retrained)).toEqual(numbers(JSON.parse(unit1) as UnitRecord));
    expect(readdirSync(join(dir, 'units')).sort()).toEqual(['unit-00.json', 'unit-01.json']);
  });

  it('reuses a saved unit only when its key matches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'units-'));
    const d = quickDefinition(studyDefinition('needle-s'));
    const path = join(dir, 'unit.json');
    expect(savedUnit(path, unitKey(d, 0, true))).toEqual({ unit: null, reason: 'not run yet' });
    writeFileSync(path, JSON.stringify({ format: 'meap-study-unit/1', key: unitKey(d, 0, true), runs: [] }));
    expect(savedUnit(path, unitKey(d, 0, true)).unit).not.toBeNull();
    expect(savedUnit(path, unitKey(d, 1, true)).reason).toBe('saved for a different configuration');
    expect(savedUnit(path, unitKey(d, 0, false)).reason).toBe('saved for a different configuration');
    writeFileSync(path, '{ truncated');
    expect(savedUnit(path, unitKey(d, 0, true)).reason).toMatch(/^unreadable/);
    expect(existsSync(path)).toBe(true);
  });
});

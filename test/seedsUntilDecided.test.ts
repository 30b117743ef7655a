/** `reproduce --seeds-until-decided MAX` (issue 17): grown unit by unit, the looks in the report, resumable. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContext } from './gpuContext';
import { UsageError } from '../src/cli/args';
import { parseReproduceArgs } from '../src/cli/reproduceArgs';
import { reproduce, studyDir } from '../src/study/reproduce';
import { studyRecordIssue } from '../src/study/renderRecord';
import { analyseStudy, type StudyRecord } from '../src/study/report';

describe('--seeds-until-decided', () => {
  it('is parsed, recorded in the command, and refused where it cannot apply', () => {
    expect(parseReproduceArgs(['--study', 'needle-quick', '--seeds-until-decided', '64'])).toMatchObject({
      seedsUntilDecided: 64, command: 'npm run reproduce -- --study needle-quick --seeds-until-decided 64',
    });
    // needle-quick trains 4 seeds per unit: the maximum must be whole units.
    expect(() => parseReproduceArgs(['--study', 'needle-quick', '--seeds-until-decided', '10'])).toThrow(/multiple of the study's 4/);
    expect(() => parseReproduceArgs(['--study', 'needle-quick', '--seeds-until-decided', '0x40'])).toThrow(UsageError);
    // needle-s has two MEAP arms: one rule for one comparison only.
    expect(() => parseReproduceArgs(['--study', 'needle-s', '--seeds-until-decided', '16'])).toThrow(/one MEAP arm/);
  });

  it('trains unit by unit, writes every look and the rule in the report, and resumes to the same looks', async () => {
    const ctx = await testContext();
    const out = mkdtempSync(join(tmpdir(), 'sequential-'));
    const command = 'npm run reproduce -- --study needle-quick --quick --seeds-until-decided 2';
    const lines: string[] = [];
    const first = await reproduce({ study: 'needle-quick', quick: true, out, command, ctx, seedsUntilDecided: 2, log: (l) => lines.push(l) });
    // Two seeds per arm cannot decide (Fisher's smallest p at 2 + 2 is 1/3): both units run.
    expect(first.trainedUnits).toEqual([0, 1]);
    expect(lines.filter((l) => /^look \d: .* → not decided$/.test(l))).toHaveLength(2);
    const dir = studyDir(out, 'needle-quick', true);
    const record = JSON.parse(readFileSync(join(dir, 'study.json'), 'utf8')) as StudyRecord;
    expect(studyRecordIssue(record)).toBeNull();
    expect(record.definition.sequential).toEqual({ maxSeedsPerArm: 2, alpha: 0.05, spending: 'obrien-fleming' });
    expect(record.definition.config.seedsPerArm).toBe(2);
    const s = analyseStudy(record);
    expect(s.sequential?.outcome.looks.map((l) => l.seedsPerArm)).toEqual([1, 2]);
    expect(s.sequential?.outcome.exhausted).toBe(true);
    expect(s.sequential?.outcome.looks.reduce((a, l) => a + l.level, 0)).toBeCloseTo(0.05, 12);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Sequential design');
    expect(md).toContain('not decided after the maximum of 2 seeds per arm');
    const again = await reproduce({ study: 'needle-quick', quick: true, out, command, ctx, seedsUntilDecided: 2, log: () => {} });
    expect(again.trainedUnits).toEqual([]);
    expect(again.skippedUnits).toEqual([0, 1]);
    expect(analyseStudy(again.record).sequential).toEqual(s.sequential);
  }, 300_000);
});

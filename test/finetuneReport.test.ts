/** The fine-tuning study's report: paired statistics, verdicts, the record check and the files written. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { studyDefinition } from '../src/study/studies';
import { analyseFinetuneStudy, signFlipTest } from '../src/study/finetuneStatistics';
import { renderRecordFile, studyRecordIssue } from '../src/study/renderRecord';
import { STUDY_FORMAT, type StudyRecord } from '../src/study/report';
import type { RunRecord, UnitRecord } from '../src/study/records';
import type { HistoryPoint } from '../src/engine/types';

/** A fine-tuning record of `seeds` seeds whose MEAP-SFT arm's final token accuracy is SFT's + delta(seed). */
function record(seeds: number, delta: (seed: number) => number): StudyRecord {
  const d = studyDefinition('qa-finetune-quick');
  d.config.seedsPerArm = seeds;
  d.seedsPerUnit = seeds;
  const f = d.config.finetune!;
  const buckets = d.config.evaluation.buckets;
  const point = (step: number, tokenAcc: number, exact: number): HistoryPoint => ({
    step, trainLoss: 1, valLoss: 1, retrievalAcc: exact, accByDepth: Array(buckets).fill(exact), tokensPerSec: 1000, tokenAcc, answerLoss: 2 - tokenAcc,
  });
  const run = (variant: 'sft' | 'meap-sft', arm: number, seed: number): RunRecord => {
    const final = 0.3 + 0.01 * seed + (variant === 'sft' ? 0 : delta(seed));
    return {
      arm, maskRatio: 0, objective: 'ntp', seed, unit: 0, unitSeed: seed, attention: null, finetune: variant, baseArm: 0,
      history: [point(f.steps / 2, final / 2, 0.1), point(f.steps, final, final / 2)],
    };
  };
  const unit: UnitRecord = {
    format: 'meap-study-unit/1', study: d.name, quick: false, unit: 0, key: 'k', config: d.config, adapter: 'test adapter', softwareAdapter: true,
    startedAt: '2026-12-04T00:00:00.000Z', finishedAt: '2026-12-04T00:01:00.000Z', wallMs: 60_000,
    runs: [...Array.from({ length: seeds }, (_, s) => run('sft', 0, s)), ...Array.from({ length: seeds }, (_, s) => run('meap-sft', 1, s))],
    pretrain: Array.from({ length: seeds }, (_, s) => ({ ...run('sft', 0, s), finetune: undefined, baseArm: undefined, history: [point(d.config.steps, 0.2, 0.05)] })),
  };
  return { format: STUDY_FORMAT, study: d.name, quick: false, command: 'test', generatedAt: '2026-12-04T00:02:00.000Z', definition: d, units: [unit] };
}

describe('fine-tuning report statistics', () => {
  it('signFlipTest: exact two-sided p over all 2ⁿ sign patterns', () => {
    expect(signFlipTest([1, 1, 1, 1], 1)).toBeCloseTo(2 / 16, 12);
    expect(signFlipTest([1, -1], 1)).toBe(1);
    expect(signFlipTest([0.5, 0.2, -0.1], 1)).toBeCloseTo(4 / 8, 12); // |sums| ≥ 0.6: ±(0.5+0.2−0.1), ±(0.5+0.2+0.1)
  });

  it('a consistent gain over 16 seeds is "MEAP-SFT better", with n, CI and power', () => {
    const s = analyseFinetuneStudy(record(16, () => 0.05));
    expect(s.seeds).toBe(16);
    const [primary] = s.primary;
    expect(primary.n).toBe(16);
    expect(primary.difference.estimate).toBeCloseTo(0.05, 9);
    expect(primary.p).toBeLessThan(0.001);
    expect(primary.verdict).toBe('MEAP-SFT better (p < 0.05)');
    expect(s.arms.map((a) => a.label)).toEqual(['SFT', 'MEAP-SFT']);
    expect(s.arms[1].final.tokens.mean - s.arms[0].final.tokens.mean).toBeCloseTo(0.05, 9);
    expect(s.pretrain[0].tokens.mean).toBeCloseTo(0.2, 9);
  });

  it('noise around zero is "not decided" with the detectable difference; a tight zero is equivalence; few seeds make no claim', () => {
    const noisy = analyseFinetuneStudy(record(16, (seed) => (seed % 2 ? 0.08 : -0.07))).primary[0];
    expect(noisy.verdict).toMatch(/^not decided: 16 paired seeds detect a mean difference of ≥ \d+\.\d points with 80 % power$/);
    expect(noisy.detectable).toBeGreaterThan(0.05);
    const tight = analyseFinetuneStudy(record(16, (seed) => (seed % 2 ? 0.001 : -0.001))).primary[0];
    expect(tight.verdict).toBe('no difference larger than ±2.0 points');
    expect(analyseFinetuneStudy(record(4, () => 0.05)).primary[0].verdict).toMatch(/^no claim: 4 paired seeds/);
  });
});

describe('fine-tuning records: checked and rendered', () => {
  it('a fine-tuning record passes the record check; a run with the wrong variant is refused', () => {
    expect(studyRecordIssue(record(16, () => 0))).toBeNull();
    const bad = record(16, () => 0);
    bad.units[0].runs[0].finetune = 'meap-sft';
    expect(studyRecordIssue(bad)).toMatch(/fine-tuning variant "meap-sft" is not arm 0's "sft"/);
  });

  it('renders report.md, summary.json and the three figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'finetune-report-'));
    writeFileSync(join(dir, 'in.json'), JSON.stringify(record(16, () => 0.05)));
    const { dir: out, summary } = renderRecordFile(join(dir, 'in.json'), dir);
    expect(summary.overall).toMatch(/^MEAP-SFT vs SFT \(n = 16 paired seeds\): answer-token accuracy \+5\.0 points → MEAP-SFT better/);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| MEAP-SFT vs SFT | answer-token accuracy (primary) | 16 | +5.0');
    expect(md).toContain('25.56 % with SFT and 37.33 % with MEAP-SFT');
    for (const figure of ['exact.svg', 'tokens.svg', 'bydocument.svg']) expect(existsSync(join(out, 'figures', figure)), figure).toBe(true);
  });
});

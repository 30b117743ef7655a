/** `npm run reproduce -- --from study.json`: a saved study record rendered again, checked before anything is written. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRecordFile, studyRecordIssue } from '../src/study/renderRecord';
import { parseReproduceArgs } from '../src/cli/reproduceArgs';
import { UsageError } from '../src/cli/args';
import type { StudyRecord } from '../src/study/report';

const committed = 'reports/needle-quick';
const record = (): StudyRecord => JSON.parse(readFileSync(join(committed, 'study.json'), 'utf8'));

describe('reproduce --from', () => {
  // Every committed study, so a change to the statistics or their rendering cannot pass unnoticed.
  it.each(readdirSync('reports').filter((name) => existsSync(join('reports', name, 'study.json'))))(
    're-renders the committed %s study byte for byte (report, summary and figures)', (name) => {
      const study = join('reports', name);
      const out = mkdtempSync(join(tmpdir(), 'render-'));
      const { dir } = renderRecordFile(join(study, 'study.json'), out);
      expect(dir).toBe(join(out, name));
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toBe(readFileSync(join(study, 'report.md'), 'utf8'));
      expect(readFileSync(join(dir, 'summary.json'), 'utf8')).toBe(readFileSync(join(study, 'summary.json'), 'utf8'));
      const figures = readdirSync(join(study, 'figures'));
      expect(readdirSync(join(dir, 'figures')).sort()).toEqual([...figures].sort());
      for (const figure of figures) {
        expect(readFileSync(join(dir, 'figures', figure), 'utf8')).toBe(readFileSync(join(study, 'figures', figure), 'utf8'));
      }
    },
  );

  it('a record without attention analyses renders, saying so, with no attention figure', () => {
    const r = record();
    r.study = 'playground-run';
    for (const u of r.units) for (const run of u.runs) run.attention = null;
    const dir = mkdtempSync(join(tmpdir(), 'render-'));
    writeFileSync(join(dir, 'in.json'), JSON.stringify(r));
    const { dir: outDir, summary } = renderRecordFile(join(dir, 'in.json'), dir);
    expect(summary.arms.every((a) => 'attention' in a && a.attention === null)).toBe(true);
    const md = readFileSync(join(outDir, 'report.md'), 'utf8');
    expect(md).toMatch(/## Attention on the trained models\n\nNot analysed/);
    expect(md).not.toContain('attention-mass.svg');
    expect(existsSync(join(outDir, 'figures', 'attention-mass.svg'))).toBe(false);
    expect(existsSync(join(outDir, 'figures', 'accuracy.svg'))).toBe(true);
  });

  it('refuses what is not a study record, with the reason, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'render-'));
    const cases: [unknown, RegExp][] = [
      [[1, 2], /not a JSON object/],
      [{ ...record(), format: 'x' }, /format is "x"/],
      [{ ...record(), study: '../../etc' }, /not a plain name/],
      [{ ...record(), definition: { ...record().definition, config: { ...record().definition.config, batch: -1 } } }, /definition\.config: batch/],
      [{ ...record(), definition: { ...record().definition, primaryEndpoint: { kind: 'x', threshold: 0.5, margin: 0.2 } } }, /primaryEndpoint/],
      [{ ...record(), definition: { ...record().definition, primaryEndpoint: { kind: 'learned-by-last-step', threshold: 2, margin: 0.2 } } }, /primaryEndpoint/],
      [{ ...record(), definition: { ...record().definition, sequential: { maxSeedsPerArm: 16, alpha: 0.05, spending: 'pocock' } } }, /sequential/],
      [{ ...record(), units: [] }, /no units/],
      [{ ...record(), units: [{ ...record().units[0], runs: [{ ...record().units[0].runs[0], arm: 9 }] }] }, /arm must be 0\.\.1/],
      [{ ...record(), units: [{ ...record().units[0], runs: [{ ...record().units[0].runs[0], history: [] }] }] }, /has no evaluations/],
    ];
    for (const [value, reason] of cases) {
      expect(studyRecordIssue(value)).toMatch(reason);
      writeFileSync(join(dir, 'bad.json'), JSON.stringify(value));
      expect(() => renderRecordFile(join(dir, 'bad.json'), join(dir, 'out'))).toThrow(reason);
    }
    writeFileSync(join(dir, 'broken.json'), '{"format": ');
    expect(() => renderRecordFile(join(dir, 'broken.json'), join(dir, 'out'))).toThrow(/cannot read .*broken\.json/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(studyRecordIssue(record())).toBeNull();
  });

  it('parses --from and refuses it together with --study or --quick', () => {
    expect(parseReproduceArgs(['--from', 'x.json'])).toMatchObject({ from: 'x.json', out: 'reports', command: 'npm run reproduce -- --from "x.json"' });
    expect(() => parseReproduceArgs(['--from', 'x.json', '--quick'])).toThrow(UsageError);
    expect(() => parseReproduceArgs(['--from', 'x.json', '--study', 'long'])).toThrow(/takes no --study/);
    expect(() => parseReproduceArgs(['--from', ' '])).toThrow(/needs a study.json/);
  });
});

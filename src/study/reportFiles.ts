/** Writes a study's report into a folder (Node only; report.ts itself stays free of Node APIs for the page). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseStudy, figures, renderMarkdown, type StudyRecord, type StudySummary } from './report';

/** Writes report.md, summary.json and figures/*.svg into `dir` (study.json is written by the caller). */
export function writeReport(dir: string, record: StudyRecord): { summary: StudySummary; files: string[] } {
  const summary = analyseStudy(record);
  const figs = figures(record, summary);
  mkdirSync(join(dir, 'figures'), { recursive: true });
  const files: string[] = [];
  for (const [name, svg] of Object.entries(figs)) {
    writeFileSync(join(dir, 'figures', name), svg);
    files.push(join('figures', name));
  }
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
  writeFileSync(join(dir, 'report.md'), renderMarkdown(record, summary));
  files.push('summary.json', 'report.md');
  return { summary, files };
}

/** Writes a study's report into a folder (Node only; report.ts itself stays free of Node APIs for the page). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseStudy, figures, renderMarkdown, type StudyRecord, type StudySummary } from './report';
import { analyseFinetuneStudy, finetuneFigures, isFinetuneRecord, renderFinetuneMarkdown, type FinetuneSummary } from './finetuneReport';

/** Writes report.md, summary.json and figures/*.svg into `dir` (study.json is written by the caller). */
export function writeReport(dir: string, record: StudyRecord): { summary: StudySummary | FinetuneSummary; files: string[] } {
  if (isFinetuneRecord(record)) {
    const summary = analyseFinetuneStudy(record);
    return { summary, files: writeFiles(dir, finetuneFigures(record, summary), summary, renderFinetuneMarkdown(record, summary)) };
  }
  const summary = analyseStudy(record);
  return { summary, files: writeFiles(dir, figures(record, summary), summary, renderMarkdown(record, summary)) };
}

function writeFiles(dir: string, figs: Record<string, string>, summary: unknown, markdown: string): string[] {
  mkdirSync(join(dir, 'figures'), { recursive: true });
  const files: string[] = [];
  for (const [name, svg] of Object.entries(figs)) {
    writeFileSync(join(dir, 'figures', name), svg);
    files.push(join('figures', name));
  }
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
  writeFileSync(join(dir, 'report.md'), markdown);
  files.push('summary.json', 'report.md');
  return files;
}

/**
 * `npm run controls-report -- [--reports DIR]`: reads DIR/needle-quick/study.json and the study.json of every
 * control study present under DIR (src/study/controlStudies.ts), and writes DIR/controls.md — the controls side by
 * side with Holm-adjusted tests (src/study/controlFamily.ts), with needle-quick's older mask variants (protectQuery,
 * shared masks) when present; and, from the pre-registered studies when present, DIR/query-attention.md and
 * DIR/high-ratios.md and DIR/key-swap.md. Trains nothing.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CONTROLS, FRESH_STUDIES } from '../study/controlStudies';
import { queryAttention, queryAttentionMarkdown } from '../study/queryAttention';
import { HIGH_RATIOS_STUDY, highRatios, highRatiosMarkdown } from '../study/highRatios';
import { keySwap, keySwapMarkdown } from '../study/keySwap';
import { controlFamily, controlFamilyMarkdown, type ControlStudy } from '../study/controlFamily';
import { MAX_RECORD_BYTES, recordAsHeld, studyRecordIssue } from '../study/renderRecord';
import type { StudyRecord } from '../study/report';
import { readFileBounded } from '../util/safeFiles';

/**
 * needle-quick's older mask-policy variant with shared masks (studies.ts), side by side with the controls when its
 * record is there: the same seeds, batches and initial weights, so the same pairing and the same family.
 * (needle-quick-protect, protectQuery, is left out: it draws exactly needle-quick-protect-query-marker's masks —
 * the query key is the last input, never masked — so it would count one comparison twice.)
 */
const VARIANTS = [
  { name: 'needle-quick-shared', what: 'one set of mask positions for the whole batch (the reference code)' },
];

function readRecord(path: string): StudyRecord {
  const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readFileBounded(path, MAX_RECORD_BYTES)));
  const issue = studyRecordIssue(value);
  if (issue) throw new Error(`${path} is not a study record: ${issue}`);
  return recordAsHeld(value as StudyRecord).record;
}

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv.filter((a) => a !== '--'), options: { reports: { type: 'string' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    console.log('usage: npm run controls-report -- [--reports DIR]   (default reports/; writes DIR/controls.md)');
    return 0;
  }
  const dir = values.reports ?? 'reports';
  const sources: string[] = [];
  const mainPath = join(dir, 'needle-quick', 'study.json');
  const main = existsSync(mainPath) ? readRecord(mainPath) : null;
  if (main) sources.push(mainPath);
  const controls: ControlStudy[] = [];
  for (const c of [...CONTROLS, ...VARIANTS]) {
    const path = join(dir, c.name, 'study.json');
    if (!existsSync(path)) continue;
    controls.push({ name: c.name, what: c.what, record: readRecord(path) });
    sources.push(path);
  }
  if (controls.length === 0) {
    console.error(`controls-report: no control study under ${dir} (${CONTROLS.map((c) => c.name).join(', ')}); run them first`);
    return 1;
  }
  const out = join(dir, 'controls.md');
  writeFileSync(out, controlFamilyMarkdown(controlFamily(main, controls), sources));
  console.log(`wrote ${out} (${controls.length} control stud${controls.length === 1 ? 'y' : 'ies'}${main ? ', paired with needle-quick' : ''})`);
  writeQueryAttention(dir, main, controls);
  writeHighRatios(dir);
  writeKeySwap(dir);
  return 0;
}

/** Pre-registration 4 (src/study/keySwap.ts) → DIR/key-swap.md, when needle-quick-fresh's record has the key-swap probe. */
function writeKeySwap(dir: string): void {
  const path = join(dir, FRESH_STUDIES[0].name, 'study.json');
  if (!existsSync(path)) return;
  const record = readRecord(path);
  if (!record.units.every((u) => u.runs.every((r) => r.attention?.keySwap))) return;
  const out = join(dir, 'key-swap.md');
  writeFileSync(out, keySwapMarkdown(keySwap(record)));
  console.log(`wrote ${out} (pre-registration 4: does retrieval read the key?)`);
}

/** Pre-registration 3 (src/study/highRatios.ts) → DIR/high-ratios.md, when its study is there. */
function writeHighRatios(dir: string): void {
  const path = join(dir, HIGH_RATIOS_STUDY, 'study.json');
  if (!existsSync(path)) return;
  const out = join(dir, 'high-ratios.md');
  writeFileSync(out, highRatiosMarkdown(highRatios(readRecord(path))));
  console.log(`wrote ${out} (pre-registration 3: ratios above 0.20, the layer-0 shift token by token)`);
}

/**
 * The pre-registered query-attention test (src/study/queryAttention.ts) → DIR/query-attention.md, when both
 * fresh-seed studies are there; the first 64 seeds' numbers beside it when needle-quick and its never-mask-`?`
 * control are.
 */
function writeQueryAttention(dir: string, main: StudyRecord | null, controls: ControlStudy[]): void {
  const [fresh, freshMarker] = FRESH_STUDIES.map(({ name }) => join(dir, name, 'study.json'));
  if (!existsSync(fresh) || !existsSync(freshMarker)) return;
  const marker = controls.find((c) => c.name === 'needle-quick-protect-query-marker');
  const exploratory = main && marker ? queryAttention(main, marker.record) : null;
  const out = join(dir, 'query-attention.md');
  writeFileSync(out, queryAttentionMarkdown(queryAttention(readRecord(fresh), readRecord(freshMarker)), exploratory));
  console.log(`wrote ${out} (the pre-registered test on fresh seeds${exploratory ? ', beside the first 64 seeds' : ''})`);
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  console.error(`controls-report: ${(error as Error).message.split('\n')[0]}`);
  process.exitCode = 1;
}

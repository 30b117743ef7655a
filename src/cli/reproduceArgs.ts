/** Arguments of `npm run reproduce` (src/cli/reproduce.ts); every invalid one becomes a one-line reason. */
import { parseArgs } from 'node:util';
import { UsageError } from './args';
import { quickDefinition, studyDefinition, STUDY_NAMES } from '../study/studies';
import { seedsUntilDecidedIssue } from '../study/reproduce';
import { parseDecimal } from '../util/decimal';

export const REPRODUCE_USAGE = `usage: npm run reproduce -- [--study ${STUDY_NAMES.join('|')}] [--quick] [--out DIR] [--force DIR] [--seeds-until-decided MAX] [--budget SECONDS]
       npm run reproduce -- --from FILE [--out DIR] [--force DIR]
  --study NAME  the study to run (default needle-s)
  --quick       the one-minute version (tiny model, 2 seeds, few steps): a pipeline check, not evidence
  --from FILE   train nothing: render a study.json (e.g. the playground's "Download study.json") into a report
  --out DIR     root folder of the reports (default reports); the study goes to DIR/NAME or DIR/NAME-quick
  --force DIR   replace the report in DIR, an existing folder: without it, --from refuses any existing report
                folder and --study one holding a committed report (reports/NAME); not part of the recorded command
  --seeds-until-decided MAX  grow the seeds unit by unit (resumable) until the primary endpoint is decided or MAX
                seeds per arm are spent; α = 0.05 spent over the looks (O'Brien–Fleming type), written in the report
  --budget SECONDS  start no unit that would end past SECONDS of this call (judged by the last unit's time); the
                saved units resume on the next call; exits 3 when it stopped early; not part of the recorded command`;

export interface ReproduceArgs {
  study: string;
  quick: boolean;
  out: string;
  help: boolean;
  /** --from: the study record to render (nothing is trained). */
  from?: string;
  /** --force: the existing report folder this run may replace (--from: any; --study: one with a committed report). */
  force?: string;
  /** --seeds-until-decided MAX: the most seeds per arm a sequential study may spend. */
  seedsUntilDecided?: number;
  /** --budget SECONDS: the wall time this call may spend before it stops between units. */
  budgetSeconds?: number;
  /** The canonical command line, recorded in the report. */
  command: string;
}

export function parseReproduceArgs(argv: string[]): ReproduceArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { study: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, from: { type: 'string' }, force: { type: 'string' }, help: { type: 'boolean' },
        'seeds-until-decided': { type: 'string' }, budget: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.from !== undefined) {
    if (v.study !== undefined || v.quick) throw new UsageError('--from renders a saved study; it takes no --study or --quick');
    if (v.budget !== undefined) throw new UsageError('--from trains nothing; it takes no --budget');
    if (v.from.trim() === '') throw new UsageError('--from needs a study.json file, got an empty string');
  }
  if (v.force !== undefined && v.force.trim() === '') throw new UsageError('--force needs the report folder to replace, got an empty string');
  const study = v.study ?? 'needle-s';
  if (!STUDY_NAMES.includes(study)) throw new UsageError(`--study must be one of ${STUDY_NAMES.join(', ')}, got "${study}"`);
  if (v.out !== undefined && v.out.trim() === '') throw new UsageError('--out needs a folder, got an empty string');
  const out = v.out ?? 'reports';
  if (v.from !== undefined) {
    const command = ['npm run reproduce --', '--from', JSON.stringify(v.from), ...(v.out !== undefined ? ['--out', JSON.stringify(out)] : [])].join(' ');
    return { study, quick: false, out, help: v.help === true, from: v.from, force: v.force, command };
  }
  let budgetSeconds: number | undefined;
  if (v.budget !== undefined) {
    budgetSeconds = parseDecimal(v.budget) ?? Number.NaN;
    if (!(Number.isFinite(budgetSeconds) && budgetSeconds >= 0)) throw new UsageError(`--budget must be a number of seconds ≥ 0, got "${v.budget}"`);
  }
  let seedsUntilDecided: number | undefined;
  if (v['seeds-until-decided'] !== undefined) {
    seedsUntilDecided = parseDecimal(v['seeds-until-decided']) ?? Number.NaN;
    const base = studyDefinition(study);
    const issue = seedsUntilDecidedIssue(v.quick ? quickDefinition(base) : base, seedsUntilDecided);
    if (issue) throw new UsageError(issue);
  }
  const command = ['npm run reproduce --', '--study', study, ...(v.quick ? ['--quick'] : []), ...(v.out !== undefined ? ['--out', JSON.stringify(out)] : []),
    ...(seedsUntilDecided !== undefined ? ['--seeds-until-decided', String(seedsUntilDecided)] : [])].join(' ');
  return { study, quick: v.quick === true, out, help: v.help === true, force: v.force, seedsUntilDecided, budgetSeconds, command };
}

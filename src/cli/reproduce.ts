/**
 * `npm run reproduce -- [--study NAME] [--quick] [--out DIR] [--budget SECONDS]`: runs a named study on this machine's
 * WebGPU adapter (resuming from its saved units) and writes its report under DIR (default reports/).
 * `--from FILE` renders a saved study record (e.g. downloaded from the page) instead, training nothing.
 */
import { createGpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';
import { BudgetReached, reproduce, studyDir } from '../study/reproduce';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalPath, FileGuardError, isCommittedFile, prepareOutputDir } from '../util/safeFiles';
import { REPRODUCE_USAGE, parseReproduceArgs, type ReproduceArgs } from './reproduceArgs';
import { UsageError } from './args';
import { renderRecordFile, ReportFolderError, StudyRecordError } from '../study/renderRecord';

async function main(argv: string[]): Promise<number> {
  let args: ReproduceArgs;
  try {
    args = parseReproduceArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`reproduce: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    console.log(REPRODUCE_USAGE);
    return 0;
  }
  if (args.from !== undefined) {
    try {
      const { dir, summary, partial } = renderRecordFile(args.from, args.out, { force: args.force });
      if (partial) console.log(`note: ${partial}`);
      console.log(`wrote ${dir}/report.md`);
      console.log(`answer: ${summary.overall}`);
      return 0;
    } catch (error) {
      if (error instanceof ReportFolderError) {
        console.error(`reproduce: ${error.message}`);
        return 2;
      }
      if (error instanceof StudyRecordError) {
        console.error(`reproduce: ${error.message}`);
        return 1;
      }
      throw error;
    }
  }
  const dir = studyDir(args.out, args.study, args.quick);
  // A committed report is not rewritten by accident (an unfinished study's folder resumes freely).
  const report = join(dir, 'report.md');
  if (existsSync(report) && isCommittedFile(canonicalPath(report)) && (args.force === undefined || canonicalPath(args.force) !== canonicalPath(dir))) {
    console.error(`reproduce: ${dir} holds a committed report; reproduce into another --out, or pass --force ${dir} to update it`);
    return 2;
  }
  try {
    // The study's folder (its saved units are what a rerun resumes from) is created and probed before training.
    prepareOutputDir(dir);
  } catch (error) {
    if (error instanceof FileGuardError) {
      console.error(`reproduce: --out: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
  try {
    const result = await reproduce({ study: args.study, quick: args.quick, out: args.out, command: args.command, ctx, log: (line) => console.log(line),
      seedsUntilDecided: args.seedsUntilDecided, budgetSeconds: args.budgetSeconds });
    console.log(`done in ${(result.wallMs / 1000).toFixed(1)} s (trained ${result.trainedUnits.length} unit(s), reused ${result.skippedUnits.length})`);
    return 0;
  } catch (error) {
    // Stopped between units by --budget: not a failure, and distinguishable from one (the GPU kit's run.sh reads it).
    if (error instanceof BudgetReached) {
      console.log(`stopped: ${error.message}`);
      return 3;
    }
    throw error;
  } finally {
    ctx.destroy();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`reproduce: ${(error as Error).message.split('\n')[0]}`);
  process.exit(1);
});

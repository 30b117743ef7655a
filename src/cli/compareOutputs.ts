/**
 * Where `npm run compare` writes, decided and checked before anything is trained: `--json` must be a
 * writable file that is not the `--text-file`, not a committed file and not one of the run files `--save`
 * writes; `--save` is created (with a write probe) and every run gets its own folder whose two files are
 * neither inputs nor committed. A problem is one line naming the flag (exit 2), found in seconds rather than
 * after the whole run.
 */
import { finetuneRuns } from '../engine/finetuneBatch';
import { finetuneStageConfig } from '../config/finetuneStage';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { HF_CONFIG_FILE, SAFETENSORS_FILE } from '../export/checkpointFiles';
import type { RunInfo } from '../engine/types';
import type { StudyConfig } from '../config/presets';
import { canonicalPath, checkOutputFile, FileGuardError, isCommittedFile, prepareOutputDir } from '../util/safeFiles';
import { UsageError, runDirectoryName, type CompareArgs } from './args';

export interface CompareOutputs {
  /** Canonical path of the JSON history. */
  json: string | undefined;
  /** Each run's folder under --save, in run order (run r = arm · seedsPerArm + seed, as the engine numbers them). */
  runDirs: string[] | undefined;
}

/** The runs a config trains, in the engine's order (src/engine/runPlan.ts); with fine-tuning, the fine-tuned runs. */
export function plannedRuns(config: StudyConfig): RunInfo[] {
  if (config.finetune) return finetuneRuns(finetuneStageConfig(config));
  return config.arms.flatMap((maskRatio, arm) => Array.from({ length: config.seedsPerArm }, (_, seed) => ({
    arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
  })));
}

function guarded<T>(flag: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof FileGuardError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
}

/** Checks (and for --save creates) every output of `args`; throws UsageError naming the flag. */
export function planCompareOutputs(args: CompareArgs): CompareOutputs {
  const inputs = [args.textFile, args.from].filter((f): f is string => f !== undefined);
  let runFiles: string[] = [];
  let runDirs: string[] | undefined;
  if (args.save !== undefined) {
    const names = plannedRuns(args.config).map((run) => runDirectoryName(run, args.config));
    if (new Set(names).size !== names.length) throw new UsageError(`--save: two runs would share a folder (${names.join(', ')})`);
    const root = canonicalPath(args.save);
    runDirs = names.map((name) => join(root, name));
    runFiles = runDirs.flatMap((dir) => [join(dir, SAFETENSORS_FILE), join(dir, HF_CONFIG_FILE)]);
    const canonicalInputs = inputs.map(canonicalPath);
    for (const file of runFiles) {
      if (canonicalInputs.includes(file)) throw new UsageError(`--save: it would overwrite its input "${inputs[canonicalInputs.indexOf(file)]}"`);
    }
  }
  const json = args.json === undefined ? undefined : guarded('--json', () => {
    const target = checkOutputFile(args.json!, { inputs });
    if (runFiles.includes(target)) throw new FileGuardError(`"${args.json}" is one of the run files --save writes`);
    return target;
  });
  if (runDirs !== undefined) {
    guarded('--save', () => {
      prepareOutputDir(args.save!);
      for (const dir of runDirs!) {
        let stats;
        try { stats = statSync(dir); } catch { continue; }
        if (!stats.isDirectory()) throw new FileGuardError(`"${dir}" exists and is not a directory`);
      }
      for (const file of runFiles) {
        let stats;
        try { stats = statSync(file); } catch { continue; }
        if (!stats.isFile()) throw new FileGuardError(`"${file}" is not a regular file`);
        if (isCommittedFile(file)) throw new FileGuardError(`"${file}" is a committed file; save somewhere else`);
      }
    });
  }
  return { json, runDirs };
}

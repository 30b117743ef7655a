/**
 * `npm run compare -- …`: trains NTP and MEAP arms (× seeds) side by side on this machine's WebGPU
 * adapter, prints a table at every evaluation and optionally writes the whole history as JSON.
 */
import { createGpuContext, type GpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';
import { runStudy, type StudyResult } from '../engine/trainingLoop';
import { COMPARE_USAGE, UsageError, parseCompareArgs, type CompareArgs } from './args';
import { planCompareOutputs, type CompareOutputs } from './compareOutputs';
import { compareFinetune } from './compareFinetune';
import { finetuneStageConfig } from '../config/finetuneStage';
import type { StudyConfig } from '../config/presets';
import { writeFileAtomic } from '../util/safeFiles';
import { writeCheckpointDir } from '../export/checkpointFiles';
import type { HistoryPoint, RunInfo } from '../engine/types';

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function printEvaluation(step: number, points: HistoryPoint[], runs: RunInfo[], arms: number[]): void {
  for (let arm = 0; arm < arms.length; arm++) {
    const mine = points.filter((_, r) => runs[r].arm === arm);
    const label = arms[arm] === 0 ? 'NTP' : `MEAP P=${arms[arm]}`;
    console.log(`${String(step).padStart(6)}  ${label.padEnd(13)} ${mean(mine.map((p) => p.trainLoss)).toFixed(4).padStart(9)} ` +
      `${mean(mine.map((p) => p.valLoss)).toFixed(4).padStart(9)} ${(100 * mean(mine.map((p) => p.retrievalAcc))).toFixed(1).padStart(8)}%` +
      `${Math.round(points[0].tokensPerSec).toString().padStart(11)}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCompareArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`compare: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    console.log(COMPARE_USAGE);
    return 0;
  }
  let outputs;
  try {
    // Every output is checked (and --save created) before the adapter is even asked for.
    outputs = planCompareOutputs(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`compare: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { config } = args;
  const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
  if (config.finetune) return finishFinetune(ctx, args, outputs);
  const a = ctx.adapter;
  console.log(`${config.arms.length} arms × ${config.seedsPerArm} seeds = ${config.arms.length * config.seedsPerArm} runs, ` +
    `${config.steps} steps, batch ${config.batch}, T=${config.model.context} on ${a.description || a.architecture}` +
    `${a.isFallbackAdapter ? ' (software)' : ''}; means over seeds`);
  console.log('  step  arm            trainLoss   valLoss  retrieval   tokens/s');
  let trained: { params: Float32Array; P: number } | undefined;
  const result = await runStudy(ctx, config, {
    onEvaluation: (step, points, runs) => printEvaluation(step, points, runs, config.arms),
    // The weights are kept and written after the history, so a save that fails cannot take the history with it.
    onFinished: outputs.runDirs === undefined ? undefined : async (study) => {
      trained = { params: await study.model.readParams(), P: study.model.layout.P };
    },
  });
  ctx.destroy();
  const json = outputs.json ? JSON.stringify({
    config: result.config,
    runs: result.runs.map((r) => ({ objective: r.objective, maskRatio: r.maskRatio, seed: r.seed, history: r.history })),
  }, null, 1) : '';
  const weights = trained;
  return writeOutputs(args, outputs, json, weights && ((r) => weights.params.slice(r * weights.P, (r + 1) * weights.P)), config);
}

/**
 * Writes --json (the history, first, so a save that fails cannot take it along) and --save (run r's weights
 * from `runParams`, with `study` in its metadata). 1 when a write fails.
 */
function writeOutputs(
  args: CompareArgs, outputs: CompareOutputs, json: string, runParams: ((r: number) => Float32Array) | undefined, study: StudyConfig,
): number {
  if (outputs.json) {
    try {
      writeFileAtomic(outputs.json, json);
    } catch (error) {
      console.error(`compare: --json: cannot write "${args.json}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return 1;
    }
    console.log(`wrote ${args.json}`);
  }
  if (outputs.runDirs && runParams) {
    for (const [r, dir] of outputs.runDirs.entries()) {
      try {
        writeCheckpointDir(dir, study.model, runParams(r), { study });
      } catch (error) {
        console.error(`compare: --save: cannot write "${dir}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` +
          `${outputs.json ? `; the history is in ${args.json}` : ''}`);
        return 1;
      }
      console.log(`saved ${dir}`);
    }
  }
  return 0;
}

/** The fine-tuning comparison: both stages trained and printed, the stage-2 runs written to --json / --save. */
async function finishFinetune(ctx: GpuContext, args: CompareArgs, outputs: CompareOutputs): Promise<number> {
  const { config } = args;
  let result;
  try {
    result = await compareFinetune(ctx, config, args.from);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`compare: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    ctx.destroy();
  }
  const runsOf = (r: StudyResult | null) => r?.runs.map((run) => ({
    objective: run.objective, maskRatio: run.maskRatio, seed: run.seed, finetune: run.finetune, history: run.history,
  })) ?? null;
  const json = outputs.json ? JSON.stringify({ config, from: args.from ?? null, pretrain: runsOf(result.pretrain), runs: runsOf(result.finetune) }, null, 1) : '';
  const stage = finetuneStageConfig(config);
  return writeOutputs(args, outputs, json, (r) => result.params.slice(r * result.P, (r + 1) * result.P), stage);
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`compare: ${(error as Error).message}`);
  process.exit(1);
});

/**
 * `npm run compare -- …`: trains NTP and MEAP arms (× seeds) side by side on this machine's WebGPU
 * adapter, prints a table at every evaluation and optionally writes the whole history as JSON.
 */
import { createGpuContext } from '../gpu/context';
import { nodeGpu } from '../gpu/node';
import { runStudy } from '../engine/trainingLoop';
import { COMPARE_USAGE, UsageError, parseCompareArgs } from './args';
import { planCompareOutputs } from './compareOutputs';
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
  if (outputs.json) {
    try {
      writeFileAtomic(outputs.json, JSON.stringify({
        config: result.config,
        runs: result.runs.map((r) => ({ objective: r.objective, maskRatio: r.maskRatio, seed: r.seed, history: r.history })),
      }, null, 1));
    } catch (error) {
      console.error(`compare: --json: cannot write "${args.json}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return 1;
    }
    console.log(`wrote ${args.json}`);
  }
  if (outputs.runDirs && trained) {
    const { params, P } = trained;
    for (const [r, dir] of outputs.runDirs.entries()) {
      try {
        writeCheckpointDir(dir, config.model, params.slice(r * P, (r + 1) * P), { study: config });
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

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`compare: ${(error as Error).message}`);
  process.exit(1);
});

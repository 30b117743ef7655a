/**
 * `npm run compare` for a study with a fine-tuning stage (qa task, `--finetune`): pretraining as usual, then
 * every (arm, seed) model fine-tuned by each variant from the same weights and examples — or, with `--from`,
 * every run fine-tuned from one saved model (no pretraining). Prints both stages' tables.
 */
import type { GpuContext } from '../gpu/context';
import { runFinetuneStudy, runStudy, type StudyResult } from '../engine/trainingLoop';
import { finetuneStageConfig } from '../config/finetuneStage';
import { canonicalJson } from '../util/canonicalJson';
import { readCheckpoint } from '../export/checkpointFiles';
import type { StudyConfig } from '../config/presets';
import type { HistoryPoint, RunInfo } from '../engine/types';
import { runLabel } from '../util/palette';
import { UsageError } from './args';

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One line per arm (means over seeds): either stage, labelled by runLabel ("NTP", "SFT", "MEAP 15% → SFT"). */
function printEvaluation(step: number, points: HistoryPoint[], runs: RunInfo[], config: StudyConfig): void {
  for (const arm of [...new Set(runs.map((r) => r.arm))]) {
    const mine = points.filter((_, r) => runs[r].arm === arm);
    const label = runLabel(runs.find((r) => r.arm === arm)!, config.arms);
    const byDocument = mine[0].accByDepth.map((_, b) => pct(mean(mine.map((p) => p.accByDepth[b])))).join(' ');
    console.log(`${String(step).padStart(6)}  ${label.padEnd(16)} ${mean(mine.map((p) => p.trainLoss)).toFixed(4).padStart(10)} ` +
      `${mean(mine.map((p) => p.answerLoss ?? Number.NaN)).toFixed(4).padStart(10)} ${pct(mean(mine.map((p) => p.retrievalAcc))).padStart(8)} ` +
      `${pct(mean(mine.map((p) => p.tokenAcc ?? Number.NaN))).padStart(8)}  ${byDocument}`);
  }
}

const HEADER = '  step  arm               trainLoss answerLoss    exact   tokens  exact by answer document';

export interface FinetuneCompareResult {
  pretrain: StudyResult | null;
  finetune: StudyResult;
  /** Fine-tuned weights of every stage-2 run, [R, P]. */
  params: Float32Array;
  P: number;
}

/** The saved model every run starts from (--from), checked against the study's model. */
function baseFromFile(path: string, config: StudyConfig): Float32Array {
  let checkpoint;
  try {
    checkpoint = readCheckpoint(path);
  } catch (error) {
    throw new UsageError(`--from: ${(error as Error).message}`);
  }
  if (canonicalJson(checkpoint.config) !== canonicalJson(config.model)) {
    throw new UsageError(`--from: "${path}" holds a model of another shape than the study's (${JSON.stringify(checkpoint.config)} vs ${JSON.stringify(config.model)})`);
  }
  return checkpoint.params;
}

/** Trains both stages (or stage 2 from --from) and prints them. */
export async function compareFinetune(ctx: GpuContext, config: StudyConfig, from: string | undefined): Promise<FinetuneCompareResult> {
  const f = config.finetune!;
  const base = from === undefined ? null : baseFromFile(from, config);
  let trained: { params: Float32Array; P: number } | undefined;
  const keep = async (study: { model: { readParams(): Promise<Float32Array>; layout: { P: number } } }) => {
    trained = { params: await study.model.readParams(), P: study.model.layout.P };
  };
  const stage2Hooks = { onEvaluation: (step: number, points: HistoryPoint[], runs: RunInfo[]) => printEvaluation(step, points, runs, config), onFinished: keep };
  let pretrain: StudyResult | null = null;
  let finetune: StudyResult;
  if (base) {
    console.log(`fine-tuning from ${from}: ${f.variants.join(', ')} × ${config.seedsPerArm} seeds, ${f.steps} steps`);
    console.log(HEADER);
    finetune = await runStudy(ctx, finetuneStageConfig(config), { ...stage2Hooks, base: () => base });
  } else {
    console.log(`stage 1, pretraining: ${config.steps} steps`);
    console.log(HEADER);
    let announced = false;
    const result = await runFinetuneStudy(ctx, config, {
      ...stage2Hooks,
      onEvaluation: (step, points, runs) => {
        if (!announced) {
          console.log(`stage 2, fine-tuning: ${f.variants.join(', ')}, ${f.steps} steps from each pretrained model`);
          console.log(HEADER);
          announced = true;
        }
        printEvaluation(step, points, runs, config);
      },
    }, { onEvaluation: (step, points, runs) => printEvaluation(step, points, runs, config) });
    pretrain = result.pretrain;
    finetune = result.finetune;
  }
  if (!trained) throw new Error('fine-tuning ended without weights');
  return { pretrain, finetune, params: trained.params, P: trained.P };
}

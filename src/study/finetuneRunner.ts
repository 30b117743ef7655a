/**
 * Trains one unit of a fine-tuning study (a StudyConfig with `finetune`): stage 1 pretrains the unit's arms ×
 * seeds, stage 2 fine-tunes every (arm, seed) model by each variant from the same weights and examples; the
 * attention analyses run on the fine-tuned models. The unit record holds the stage-2 runs (their `arm` numbers
 * the (pretraining arm, variant) pairs) and, in `pretrain`, the stage-1 histories.
 */
import type { GpuContext } from '../gpu/context';
import { runFinetuneStudy } from '../engine/trainingLoop';
import { analyseAttention, type AttentionRecord } from '../engine/modelAnalysis';
import { unitConfig, type StudyDefinition } from './studies';
import { UNIT_FORMAT, type RunRecord, type UnitRecord } from './records';
import { adapterName, unitKey, type UnitProgress } from './runner';

/** Trains unit u of a fine-tuning study to the end; `onEvaluation` sees both stages' evaluations. */
export async function trainFinetuneUnit(
  ctx: GpuContext, d: StudyDefinition, u: number, quick: boolean, onEvaluation?: (progress: UnitProgress & { stage: 'pretrain' | 'finetune' }) => void,
): Promise<UnitRecord> {
  const config = unitConfig(d, u);
  const f = config.finetune!;
  const startedAt = new Date();
  const t0 = performance.now();
  let attention: AttentionRecord[] = [];
  const { pretrain, finetune } = await runFinetuneStudy(ctx, config, {
    onEvaluation: (step, points, runs) => onEvaluation?.({ unit: u, step, steps: f.steps, points, runs, stage: 'finetune' }),
    onFinished: async (study) => { attention = await analyseAttention(study, null, d.attentionExamples); },
  }, {
    onEvaluation: (step, points, runs) => onEvaluation?.({ unit: u, step, steps: config.steps, points, runs, stage: 'pretrain' }),
  });
  const record = (run: (typeof finetune.runs)[number], r: number, withAttention: boolean): RunRecord => ({
    arm: run.arm, maskRatio: run.maskRatio, objective: run.objective,
    seed: u * d.seedsPerUnit + run.seed, unit: u, unitSeed: run.seed,
    history: run.history, attention: withAttention ? attention[r] ?? null : null,
    ...(run.finetune ? { finetune: run.finetune, baseArm: run.baseArm } : {}),
  });
  return {
    format: UNIT_FORMAT, study: d.name, quick, unit: u, key: unitKey(d, u, quick), config,
    adapter: adapterName(ctx), softwareAdapter: ctx.adapter.isFallbackAdapter,
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), wallMs: Math.round(performance.now() - t0),
    runs: finetune.runs.map((run, r) => record(run, r, true)),
    pretrain: pretrain.runs.map((run, r) => record(run, r, false)),
  };
}

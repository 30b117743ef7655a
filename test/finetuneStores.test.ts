/**
 * The page's side of the fine-tuning stage (issue 13 item 4): the runs store keeps the stage a 'built' says,
 * stage-2 runs are grouped by (pretraining arm, variant) and named and coloured by variant, and the curves
 * export names them so.
 */
import { describe, expect, it } from 'vitest';
import { applyMessages, type RunsState } from '../src/store/runs';
import { curveRows } from '../src/store/curves';
import { presetConfig } from '../src/store/configCodec';
import { finetuneStageConfig } from '../src/config/finetuneStage';
import { armGroups } from '../src/ui/charts/series';
import { NTP_COLOR, runColor, runLabel, armColor } from '../src/util/palette';
import type { FromTrainer, RunInfo } from '../src/session/protocol';
import { defaultArms } from '../src/store/attention';

const task = { segmentNames: [], inputSegments: 4, tokenNames: [], characters: null, bucketLabel: 'answer document (first … last)', examples: [] };
const empty: RunsState = {
  state: 'idle', step: 0, study: null, error: null, train: { steps: [], loss: [] }, evals: { steps: [], points: [] },
  speed: { steps: [], stepsPerSecond: [], tokensPerSecond: [], msPerStep: [] }, failures: [],
  optim: { gradNorm: [], learningRate: [], weightNorm: [] },
};
const stage2Runs = (arms: number[], variants: ('sft' | 'meap-sft' | 'meap-sft-all')[], seeds: number): RunInfo[] =>
  arms.flatMap((maskRatio, baseArm) => variants.flatMap((finetune, v) => Array.from({ length: seeds }, (_, seed) => ({
    arm: baseArm * variants.length + v, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const, finetune, baseArm,
  }))));

describe('the fine-tuning stage in the page\'s stores and views', () => {
  it('names and colours runs by variant: SFT blue (NTP\'s), MEAP-SFT orange, MEAP-SFT (all) purple; the base arm first when there are several', () => {
    expect(runLabel({ maskRatio: 0, finetune: 'sft' })).toBe('SFT');
    expect(runLabel({ maskRatio: 0, finetune: 'meap-sft' })).toBe('MEAP-SFT');
    expect(runLabel({ maskRatio: 0, finetune: 'meap-sft-all' })).toBe('MEAP-SFT (all)');
    expect(runLabel({ maskRatio: 0.15, finetune: 'sft' }, [0, 0.15])).toBe('MEAP 15% → SFT');
    expect(runLabel({ maskRatio: 0.15 })).toBe('MEAP 15%');
    expect(runColor({ maskRatio: 0, finetune: 'sft' })).toBe(NTP_COLOR);
    expect(runColor({ maskRatio: 0, finetune: 'meap-sft' })).toBe(armColor(0.15));
    expect(runColor({ maskRatio: 0, finetune: 'meap-sft-all' })).toBe(armColor(0.1));
    expect(runColor({ maskRatio: 0.05 })).toBe(armColor(0.05));
  });

  it('groups stage-2 runs by (pretraining arm, variant), SFT the baseline', () => {
    const runs = stage2Runs([0, 0.15], ['sft', 'meap-sft'], 2);
    const groups = armGroups(runs, [0, 0.15]);
    expect(groups.map((g) => [g.arm, g.label, g.baseline, g.runs])).toEqual([
      [0, 'NTP → SFT', true, [0, 1]], [1, 'NTP → MEAP-SFT', false, [2, 3]],
      [2, 'MEAP 15% → SFT', true, [4, 5]], [3, 'MEAP 15% → MEAP-SFT', false, [6, 7]],
    ]);
    // The attention views compare SFT with the next variant of the same pretrained model.
    expect(defaultArms(runs)).toEqual({ baseArm: 0, meapArm: 1 });
    expect(defaultArms(stage2Runs([0.15, 0], ['meap-sft', 'sft'], 1))).toEqual({ baseArm: 1, meapArm: 0 });
    // Pretraining: one group per mask ratio, NTP the baseline (unchanged).
    const pretrain = armGroups([{ arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' }, { arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' }], [0, 0.15]);
    expect(pretrain.map((g) => [g.label, g.baseline])).toEqual([['NTP', true], ['MEAP 15%', false]]);
  });

  it('keeps the stage and study of \'built\' (pretraining when absent), and the curves name the variants', () => {
    const study = presetConfig('qa-tiny');
    const stage = finetuneStageConfig(study);
    const runs = stage2Runs([0], ['sft', 'meap-sft'], 1);
    const point = { step: 0, trainLoss: 1, valLoss: 2, retrievalAcc: 0.5, accByDepth: [0.5, 0.5], tokensPerSec: 1, tokenAcc: 0.6, answerLoss: 1.5 };
    const messages: FromTrainer[] = [
      { type: 'built', runs, parameterCount: 10, memoryBytes: 100, config: stage, task, stage: 'finetune', study },
      { type: 'evaluation', step: 0, points: [point, point] },
    ];
    const s = applyMessages(empty, messages);
    expect(s.study).toMatchObject({ stage: 'finetune', study, config: stage });
    expect(new Set(curveRows(s).map((r) => r.arm))).toEqual(new Set(['SFT', 'MEAP-SFT']));
    const plain = applyMessages(empty, [{ type: 'built', runs: [], parameterCount: 1, memoryBytes: 1, config: study, task }]);
    expect(plain.study?.stage ?? 'pretrain').toBe('pretrain');
  });
});

/**
 * Studies sized for a GPU or a cluster (issue 14 item 4), for the PyTorch twin only: `npm run export-study --
 * --study scale-…` exports them; they are not in `npm run reproduce` or the page, which could not train them.
 * Three model sizes (≈ 1 M, 10 M, 50 M parameters, LLaMA proportions: SwiGLU width ≈ 8/3·d, head size 64 from
 * 10 M up), each for direct needle retrieval at a longer context and for pretraining on the generated corpus with
 * the zero-shot needle probe. Optimizer as the paper (AdamW β = (0.9, 0.95), weight decay 0.05, clip 1, cosine
 * with 10 % warm-up), the peak learning rate lowered with size.
 */
import { preset, type StudyConfig } from '../config/presets';
import type { ModelConfig } from '../model/config';
import { computeEstimate, SEEDS_FOR_CLAIM, type StudyDefinition } from '../study/studies';

interface Size { label: string; layers: number; dModel: number; heads: number; dFF: number; lr: number }

const SIZES: Size[] = [
  { label: '1m', layers: 5, dModel: 128, heads: 4, dFF: 352, lr: 2e-3 },
  { label: '10m', layers: 8, dModel: 320, heads: 5, dFF: 864, lr: 1e-3 },
  { label: '50m', layers: 12, dModel: 576, heads: 9, dFF: 1536, lr: 6e-4 },
];

/** What the wall-time column assumes: achieved training FLOP/s on one H200 with --bf16 (an assumption, not measured). */
export const ASSUMED_H200_FLOPS = 100e12;

function optimizer(steps: number, lr: number): StudyConfig['optimizer'] {
  return { lr, warmupSteps: Math.round(steps / 10), minLrRatio: 0.1, weightDecay: 0.05, beta1: 0.9, beta2: 0.95, eps: 1e-8, maxGradNorm: 1 };
}

function model(base: ModelConfig, s: Size, context: number): ModelConfig {
  return { ...base, layers: s.layers, dModel: s.dModel, heads: s.heads, dFF: s.dFF, context };
}

function needleAtScale(s: Size): StudyDefinition {
  const base = preset('needle-s');
  const steps = 6000;
  return {
    name: `scale-needle-${s.label}`,
    title: `scale-needle-${s.label}: needle retrieval at T = 1024, ${s.label.toUpperCase()}-parameter models`,
    question: `Trained directly on the needle task at context 1024, does MEAP (P = 0.15) learn retrieval more often, sooner or better `
      + `than NTP at ≈ ${s.label.toUpperCase()} parameters?`,
    config: {
      ...base, model: model(base.model, s, 1024), batch: 32, steps, optimizer: optimizer(steps, s.lr),
      arms: [0, 0.15], seedsPerArm: SEEDS_FOR_CLAIM, evaluation: { every: 250, count: 500, buckets: 5, seed: 12345 },
    },
    seedsPerUnit: SEEDS_FOR_CLAIM, learnedThreshold: 0.5, attentionExamples: 8, bucketLabel: 'needle depth', seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

function textAtScale(s: Size): StudyDefinition {
  const base = preset('text-s') as StudyConfig<'text'>;
  const steps = 10000;
  return {
    name: `scale-text-${s.label}`,
    title: `scale-text-${s.label}: pretraining on the generated corpus (T = 512), zero-shot needle probe, ${s.label.toUpperCase()} parameters`,
    question: `After pretraining on the generated corpus at ≈ ${s.label.toUpperCase()} parameters, does a MEAP model (P = 0.15) retrieve a `
      + 'fact planted in a prompt of the same language more often than an NTP model, zero-shot, and at what cost in validation loss?',
    config: {
      ...base,
      taskOptions: { ...base.taskOptions, source: { kind: 'generated', seed: 1, documents: 10000 } },
      model: model(base.model, s, 512), batch: 32, steps, optimizer: optimizer(steps, s.lr),
      arms: [0, 0.15], seedsPerArm: SEEDS_FOR_CLAIM, evaluation: { every: 500, count: 256, buckets: 1, seed: 12345 },
      zeroShotProbe: { kind: 'text-needle', count: 200, buckets: 5, seed: 4242 },
    },
    seedsPerUnit: SEEDS_FOR_CLAIM, learnedThreshold: 0.5, attentionExamples: 8, bucketLabel: 'fact depth', seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

export const SCALE_STUDIES: Record<string, () => StudyDefinition> = Object.fromEntries(
  SIZES.flatMap((s) => [[`scale-needle-${s.label}`, () => needleAtScale(s)], [`scale-text-${s.label}`, () => textAtScale(s)]]),
);

/** One line per scale study: parameters, training FLOPs, the assumed wall time on one H200. */
export function scaleStudyLine(d: StudyDefinition): string {
  const est = computeEstimate(d);
  const hours = (est.trainFlops + est.evalFlops) / ASSUMED_H200_FLOPS / 3600;
  return `${d.name}: ${est.runs} runs × ${(est.parameters / 1e6).toFixed(2)} M parameters, ${(est.tokensPerRun / 1e6).toFixed(0)} M tokens per run, `
    + `${((est.trainFlops + est.evalFlops) / 1e15).toFixed(1)} PFLOP ≈ ${hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`} `
    + `on one H200 at an assumed ${ASSUMED_H200_FLOPS / 1e12} TFLOP/s`;
}

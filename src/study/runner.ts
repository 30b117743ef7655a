/**
 * Trains one unit of a study (all arms × the unit's seeds in one Study), evaluates it during training,
 * and runs the attention analyses on the trained models before they are freed. The result is a plain
 * JSON-able record: the unit file that makes a study resumable.
 */
import type { GpuContext } from '../gpu/context';
import { Study } from '../train/study';
import type { HistoryPoint } from '../train/compare';
import type { StudyConfig } from '../train/presets';
import { charTokenizer } from '../data/charTokenizer';
import { SEGMENT_NAMES } from '../data/needleTask';
import { maskCount, samplePositions } from '../data/maskPolicy';
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import { entropyByLayer, meanRows, pairedMaskAnalysis, segmentMassByLayer, uniformEntropy, type AttentionStack } from '../analysis/attentionStack';
import { relativeChange } from '../analysis/attention';
import { unitConfig, type StudyDefinition } from './studies';
import { answerCorrect, answerRows, textProbeSet, type TextProbeSet } from './textProbe';

export const UNIT_FORMAT = 'meap-study-unit/1';

/** Segments whose attention mass is measured from the answer-generating position (inputs only). */
export const ATTENTION_SEGMENTS = SEGMENT_NAMES.slice(0, 4);
/** Share of input positions masked in the paired clean-vs-masked analysis (the paper's default ratio). */
export const PAIRED_MASK_RATIO = 0.15;

export interface AttentionRecord {
  /** Evaluation (or probe) examples analysed. */
  examples: number[];
  segmentNames: string[];
  /** [layer][segment]: share of attention from the answer-generating position, mean over heads and examples. */
  segmentMassByLayer: number[][];
  /** Mean over layers of the above. */
  segmentMass: number[];
  /** Mean attention on the masked keys, clean and masked input (mean over layers, heads and examples). */
  onMaskedClean: number;
  onMaskedMasked: number;
  /** (masked − clean) / clean of the above: the paper's "score decay". */
  scoreDecay: number;
  /** Mean variance of attention over the unmasked keys, clean and masked input. */
  varianceClean: number;
  varianceMasked: number;
  /** (masked − clean) / clean of the above: the paper's "variance increase". */
  varianceIncrease: number;
  /** [layer][head]: mean row entropy (nats) on the clean input, mean over examples. */
  headEntropy: number[][];
  /** Entropy of a uniformly attending head at this T (the largest possible). */
  uniformEntropy: number;
}

export interface RunRecord {
  arm: number;
  maskRatio: number;
  objective: 'ntp' | 'meap';
  /** Global seed index within the study: unit · seedsPerUnit + unitSeed. */
  seed: number;
  unit: number;
  unitSeed: number;
  history: HistoryPoint[];
  attention: AttentionRecord;
}

export interface UnitRecord {
  format: typeof UNIT_FORMAT;
  study: string;
  quick: boolean;
  unit: number;
  /** What the unit's result depends on; a saved unit is reused only when its key matches. */
  key: string;
  config: StudyConfig;
  adapter: string;
  softwareAdapter: boolean;
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  runs: RunRecord[];
}

/** The resume key of unit u: its training config and everything else its numbers depend on. */
export function unitKey(d: StudyDefinition, u: number, quick: boolean): string {
  return JSON.stringify({
    format: UNIT_FORMAT, study: d.name, quick, unit: u, config: unitConfig(d, u),
    probe: d.probe ?? null, attentionExamples: d.attentionExamples, pairedMaskRatio: PAIRED_MASK_RATIO,
  });
}

export function adapterName(ctx: GpuContext): string {
  const a = ctx.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s && s.trim() !== '').join(' / ') || 'unknown adapter';
  return a.isFallbackAdapter ? `${name} (software)` : name;
}

/**
 * Input positions masked in the paired analysis of one example: ⌊0.15·T⌋ positions drawn from
 * 0..min(T − 2, answerPosition) — never the query (the run of positions ending at the answer position with
 * its segment label, e.g. `? K`), which would hide what to retrieve — as a pure function of the seed.
 */
export function pairedMaskPositions(segments: ArrayLike<number>, answerPosition: number, T: number, seed: number): number[] {
  const query = new Set<number>();
  for (let t = answerPosition; t >= 0 && segments[t] === segments[answerPosition]; t--) query.add(t);
  const candidates: number[] = [];
  for (let t = 0; t <= Math.min(T - 2, answerPosition); t++) if (!query.has(t)) candidates.push(t);
  const k = Math.min(candidates.length, maskCount(PAIRED_MASK_RATIO, T));
  return samplePositions(new Rng(seed), candidates.length, k).map((i) => candidates[i]);
}

interface Example { tokens: ArrayLike<number>; segments: number[]; answerPosition: number }

function examplesFor(study: Study, probeSet: TextProbeSet | null, count: number): { index: number; example: Example }[] {
  const T = study.config.model.context;
  const total = probeSet ? probeSet.count : study.evalSet.count;
  return Array.from({ length: Math.min(count, total) }, (_, index) => {
    if (probeSet) {
      return {
        index,
        example: {
          tokens: probeSet.tokens.subarray(index * (T + 1), (index + 1) * (T + 1)),
          segments: Array.from(probeSet.segments.subarray(index * (T + 1), index * (T + 1) + T)),
          answerPosition: probeSet.answerStart[index] - 1,
        },
      };
    }
    const e = study.evalSet;
    return {
      index,
      example: {
        tokens: e.tokens.subarray(index * (T + 1), (index + 1) * (T + 1)),
        segments: Array.from(e.segments.subarray(index * (T + 1), index * (T + 1) + T)),
        answerPosition: e.answerPositions[index],
      },
    };
  });
}

/** Attention analyses of every run of the study on `count` examples (clean and paired-masked inputs). */
export async function analyseAttention(study: Study, probeSet: TextProbeSet | null, count: number): Promise<AttentionRecord[]> {
  const { config, R } = study;
  const T = config.model.context, L = config.model.layers, H = config.model.heads;
  const perRun = L * H * T * T;
  const examples = examplesFor(study, probeSet, count);
  const acc = Array.from({ length: R }, () => ({
    mass: [] as number[][][], onClean: [] as number[], onMasked: [] as number[], varClean: [] as number[], varMasked: [] as number[], entropy: [] as number[][][],
  }));
  for (const { index, example } of examples) {
    const masked = pairedMaskPositions(example.segments, example.answerPosition, T, deriveSeed(config.evaluation.seed, index, 'report-mask'));
    const clean = await study.probe(example.tokens, []);
    const withMask = await study.probe(example.tokens, masked);
    for (let r = 0; r < R; r++) {
      const stack = (probs: Float32Array): AttentionStack => ({ probs: probs.subarray(r * perRun, (r + 1) * perRun), layers: L, heads: H, T });
      const cleanStack = stack(clean.probs), maskedStack = stack(withMask.probs);
      acc[r].mass.push(segmentMassByLayer(cleanStack, example.segments, [example.answerPosition], ATTENTION_SEGMENTS.length));
      const paired = pairedMaskAnalysis(cleanStack, maskedStack, masked);
      acc[r].onClean.push(paired.onMaskedClean);
      acc[r].onMasked.push(paired.onMaskedMasked);
      acc[r].varClean.push(paired.varianceClean);
      acc[r].varMasked.push(paired.varianceMasked);
      acc[r].entropy.push(entropyByLayer(cleanStack));
    }
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return acc.map((a) => {
    const byLayer = Array.from({ length: L }, (_, l) => meanRows(a.mass.map((m) => m[l])));
    const onMaskedClean = avg(a.onClean), onMaskedMasked = avg(a.onMasked);
    const varianceClean = avg(a.varClean), varianceMasked = avg(a.varMasked);
    return {
      examples: examples.map((e) => e.index),
      segmentNames: [...ATTENTION_SEGMENTS],
      segmentMassByLayer: byLayer,
      segmentMass: meanRows(byLayer),
      onMaskedClean, onMaskedMasked, scoreDecay: relativeChange(onMaskedClean, onMaskedMasked),
      varianceClean, varianceMasked, varianceIncrease: relativeChange(varianceClean, varianceMasked),
      headEntropy: Array.from({ length: L }, (_, l) => meanRows(a.entropy.map((e) => e[l]))),
      uniformEntropy: uniformEntropy(T),
    };
  });
}

/** Zero-shot retrieval of every run on the text probe: share of prompts whose answer is decoded exactly, overall and by depth. */
export async function zeroShotRetrieval(study: Study, set: TextProbeSet): Promise<{ acc: number; byDepth: number[] }[]> {
  const { R } = study;
  const T = study.config.model.context, V = study.config.model.vocabSize;
  const correct = Array.from({ length: R }, () => new Float64Array(set.bucketCount));
  const total = new Float64Array(set.bucketCount);
  for (let i = 0; i < set.count; i++) {
    const rows = answerRows(set, i);
    const { logits } = await study.probe(set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1)), [], rows);
    total[set.buckets[i]]++;
    for (let r = 0; r < R; r++) {
      if (answerCorrect(set, i, logits.subarray(r * rows.length * V, (r + 1) * rows.length * V), V)) correct[r][set.buckets[i]]++;
    }
  }
  return correct.map((c) => ({
    acc: c.reduce((a, b) => a + b, 0) / set.count,
    byDepth: Array.from(c, (n, b) => (total[b] > 0 ? n / total[b] : 0)),
  }));
}

/** The text probe of a pretrain-then-probe study (null for the other studies). */
export function probeSetFor(d: StudyDefinition, config: StudyConfig): TextProbeSet | null {
  if (!d.probe) return null;
  if (config.task !== 'text') throw new RangeError(`study ${d.name}: the text-needle probe needs the text task, not ${config.task}`);
  const tokenizer = charTokenizer((config as StudyConfig<'text'>).taskOptions.alphabet);
  return textProbeSet(tokenizer, d.probe.count, config.model.context, d.probe.buckets, d.probe.seed, config.batch);
}

export interface UnitProgress {
  unit: number;
  step: number;
  steps: number;
  points: HistoryPoint[];
  runs: { arm: number; maskRatio: number }[];
}

/** Trains unit u of the study to the end and analyses its models. */
export async function trainUnit(
  ctx: GpuContext, d: StudyDefinition, u: number, quick: boolean, onEvaluation?: (progress: UnitProgress) => void,
): Promise<UnitRecord> {
  const config = unitConfig(d, u);
  const startedAt = new Date();
  const t0 = performance.now();
  const study = await Study.create(ctx, config);
  try {
    const probeSet = probeSetFor(d, config);
    const histories: HistoryPoint[][] = study.runs.map(() => []);
    const tokensPerStep = study.R * config.batch * config.model.context;
    let trainingMs = 0;
    let stepsInInterval = 0;
    for (let step = 1; step <= config.steps; step++) {
      const start = performance.now();
      study.trainStep();
      stepsInInterval++;
      if (!(step % config.evaluation.every === 0 || step === config.steps)) {
        trainingMs += performance.now() - start;
        continue;
      }
      const trainLoss = await study.intervalLosses();
      trainingMs += performance.now() - start;
      const tokensPerSec = (tokensPerStep * stepsInInterval) / (trainingMs / 1000);
      trainingMs = 0;
      stepsInInterval = 0;
      const evaluation = await study.evaluate();
      const zeroShot = probeSet ? await zeroShotRetrieval(study, probeSet) : null;
      const points = evaluation.map((e, r) => ({
        step, trainLoss: trainLoss[r], valLoss: e.valLoss,
        retrievalAcc: zeroShot ? zeroShot[r].acc : e.retrievalAcc,
        accByDepth: zeroShot ? zeroShot[r].byDepth : e.accByDepth,
        tokensPerSec,
      }));
      points.forEach((p, r) => histories[r].push(p));
      onEvaluation?.({ unit: u, step, steps: config.steps, points, runs: study.runs });
    }
    const attention = await analyseAttention(study, probeSet, d.attentionExamples);
    const runs: RunRecord[] = study.runs.map((run, r) => ({
      arm: run.arm, maskRatio: run.maskRatio, objective: run.objective,
      seed: u * d.seedsPerUnit + run.seed, unit: u, unitSeed: run.seed,
      history: histories[r], attention: attention[r],
    }));
    return {
      format: UNIT_FORMAT, study: d.name, quick, unit: u, key: unitKey(d, u, quick), config,
      adapter: adapterName(ctx), softwareAdapter: ctx.adapter.isFallbackAdapter,
      startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), wallMs: Math.round(performance.now() - t0), runs,
    };
  } finally {
    study.dispose();
  }
}

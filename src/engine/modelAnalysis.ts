/**
 * Measurements on trained models, shared by `npm run reproduce` (src/study/runner.ts) and the page's
 * training session: the attention analyses of the report (segment mass from the answer position, the
 * paired clean-vs-masked analysis, head entropy) and the zero-shot text-needle probe. They only need a
 * StudyEngine's probe/evaluate, so the GPU Study and the CPU fallback give the same numbers.
 */
import type { StudyEngine } from './studyEngine';
import type { StudyConfig } from '../config/presets';
import { charTokenizer } from '../data/charTokenizer';
import { SEGMENT_NAMES } from '../data/needleTask';
import { maskCount, queryPositions, samplePositions } from '../data/maskPolicy';
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import {
  entropyByLayer, meanRows, pairedMaskAnalysis, positionMassByLayer, segmentMassByLayer, uniformEntropy, type AttentionStack,
  type PairedMaskAnalysis,
} from '../analysis/attentionStack';
import { keySwappedPrompt, RETRIEVAL_TOKEN_NAMES, retrievalTokenPositions } from '../data/retrievalTokens';
import { argmax } from '../util/argmax';
import { relativeChange } from '../analysis/attention';
import { answerCorrect, answerRows, textProbeSet, type TextProbeSet } from '../data/textProbe';
import type { RunEvaluation } from './types';

/** Segments whose attention mass is measured from the answer-generating position (inputs only). */
export const ATTENTION_SEGMENTS = SEGMENT_NAMES.slice(0, 4);
/** Share of input positions masked in the paired clean-vs-masked analysis (the paper's default ratio). */
export const PAIRED_MASK_RATIO = 0.15;

/** The paired clean/masked fields are means over layers, heads and examples. */
export interface AttentionRecord extends PairedMaskAnalysis {
  /** Evaluation (or probe) examples analysed. */
  examples: number[];
  segmentNames: string[];
  /** [layer][segment]: share of attention from the answer-generating position, mean over heads and examples. */
  segmentMassByLayer: number[][];
  /** Mean over layers of the above. */
  segmentMass: number[];
  /** [layer][head]: mean row entropy (nats) on the clean input, mean over examples. */
  headEntropy: number[][];
  /** Entropy of a uniformly attending head at this T (the largest possible). */
  uniformEntropy: number;
  /**
   * Retrieval tasks only (every example a `K : V … ? K` block: src/data/retrievalTokens.ts): the single tokens
   * the segment mass lumps together, RETRIEVAL_TOKEN_NAMES. Absent for other tasks and in older records.
   */
  tokenNames?: string[];
  /** [layer][token]: share of attention from the answer-generating position on each, mean over heads and examples. */
  tokenMassByLayer?: number[][];
  /**
   * Retrieval tasks: does the answer read the query's key? Over the same examples, the share the model answers with
   * the needle's value (greedy) on the clean prompt, and with the query key swapped for a key absent from the prompt
   * (keySwappedPrompt). A model that copies the context's value without reading the key scores the same on both.
   */
  keySwap?: { clean: number; swapped: number };
}

/**
 * Input positions masked in the paired analysis of one example: ⌊0.15·T⌋ positions drawn from
 * 0..min(T − 2, answerPosition) — never the query (the run of positions ending at the answer position with
 * its segment label, e.g. `? K`: `queryPositions`) — as a pure function of the seed.
 */
export function pairedMaskPositions(segments: ArrayLike<number>, answerPosition: number, T: number, seed: number): number[] {
  const query = queryPositions(segments, answerPosition, T);
  const candidates: number[] = [];
  for (let t = 0; t <= Math.min(T - 2, answerPosition); t++) if (!query.has(t)) candidates.push(t);
  const k = Math.min(candidates.length, maskCount(PAIRED_MASK_RATIO, T));
  return samplePositions(new Rng(seed), candidates.length, k).map((i) => candidates[i]);
}

interface Example { tokens: ArrayLike<number>; segments: number[]; answerPosition: number }

function examplesFor(study: StudyEngine, probeSet: TextProbeSet | null, count: number): { index: number; example: Example }[] {
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
export async function analyseAttention(study: StudyEngine, probeSet: TextProbeSet | null, count: number): Promise<AttentionRecord[]> {
  const { config, R } = study;
  const T = config.model.context, L = config.model.layers, H = config.model.heads;
  const perRun = L * H * T * T;
  const examples = examplesFor(study, probeSet, count);
  const tokenPositions = examples.map(({ example }) => retrievalTokenPositions(example.segments, example.answerPosition));
  const retrieval = tokenPositions.length > 0 && tokenPositions.every((p) => p !== null);
  const swappedPrompts = examples.map(({ example }, e) => keySwappedPrompt(example.tokens, tokenPositions[e], study.task.keyIds ?? []));
  const keySwap = retrieval && swappedPrompts.every((p) => p !== null);
  const V = config.model.vocabSize;
  const acc = Array.from({ length: R }, () => ({
    mass: [] as number[][][], tokens: [] as number[][][], cleanValue: 0, swappedValue: 0, onClean: [] as number[], onMasked: [] as number[], varClean: [] as number[], varMasked: [] as number[], entropy: [] as number[][][],
  }));
  for (const [e, { index, example }] of examples.entries()) {
    const masked = pairedMaskPositions(example.segments, example.answerPosition, T, deriveSeed(config.evaluation.seed, index, 'report-mask'));
    const rows = [example.answerPosition];
    const clean = await study.probe(example.tokens, [], keySwap ? rows : undefined);
    const withMask = await study.probe(example.tokens, masked);
    const swapped = keySwap ? await study.probe(swappedPrompts[e]!, [], rows) : null;
    const value = keySwap ? example.tokens[tokenPositions[e]![2]] : -1;
    for (let r = 0; r < R; r++) {
      const stack = (probs: Float32Array): AttentionStack => ({ probs: probs.subarray(r * perRun, (r + 1) * perRun), layers: L, heads: H, T });
      const cleanStack = stack(clean.probs), maskedStack = stack(withMask.probs);
      acc[r].mass.push(segmentMassByLayer(cleanStack, example.segments, [example.answerPosition], ATTENTION_SEGMENTS.length));
      if (retrieval) acc[r].tokens.push(positionMassByLayer(cleanStack, example.answerPosition, tokenPositions[e]!));
      if (swapped) {
        if (argmax(clean.logits.subarray(r * V, (r + 1) * V)) === value) acc[r].cleanValue++;
        if (argmax(swapped.logits.subarray(r * V, (r + 1) * V)) === value) acc[r].swappedValue++;
      }
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
      ...(retrieval ? {
        tokenNames: [...RETRIEVAL_TOKEN_NAMES],
        tokenMassByLayer: Array.from({ length: L }, (_, l) => meanRows(a.tokens.map((m) => m[l]))),
      } : {}),
      ...(keySwap ? { keySwap: { clean: a.cleanValue / examples.length, swapped: a.swappedValue / examples.length } } : {}),
    };
  });
}

/** Zero-shot retrieval of every run on the text probe: share of prompts whose answer is decoded exactly, overall and by depth. */
export async function zeroShotRetrieval(study: StudyEngine, set: TextProbeSet): Promise<{ acc: number; byDepth: number[] }[]> {
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

/** The zero-shot text probe of a config that has one (pretrain-then-probe), else null. */
export function probeSetFor(config: StudyConfig): TextProbeSet | null {
  const probe = config.zeroShotProbe;
  if (!probe) return null;
  if (config.task !== 'text') throw new RangeError(`the text-needle probe needs the text task, not ${config.task}`);
  const tokenizer = charTokenizer((config as StudyConfig<'text'>).taskOptions.alphabet);
  return textProbeSet(tokenizer, probe.count, config.model.context, probe.buckets, probe.seed, config.batch);
}

/**
 * Clean validation loss and retrieval accuracy of every run: the task's own evaluation, with retrieval
 * replaced by the zero-shot probe's when the config has one (so the CLI's studies and the page agree).
 */
export async function evaluateRuns(engine: StudyEngine, probeSet: TextProbeSet | null): Promise<RunEvaluation[]> {
  const evaluation = await engine.evaluate();
  if (!probeSet) return evaluation;
  const zeroShot = await zeroShotRetrieval(engine, probeSet);
  return evaluation.map((e, r) => ({ valLoss: e.valLoss, retrievalAcc: zeroShot[r].acc, accByDepth: zeroShot[r].byDepth }));
}


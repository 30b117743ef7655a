/**
 * Looking at the models of a study (for the training session, src/session/session.ts): the paired
 * clean/masked attention snapshot of one evaluation example through one run, the report's attention
 * analyses of every run, and greedy generation by every run. The `answer…` functions check the request,
 * do the work on the engine and post the one reply ('attention', 'attentionAnalysis', 'generation' or an 'error').
 */
import { maskCount, queryPositions, samplePositions } from '../data/maskPolicy';
import { Rng } from '../util/random';
import { deriveSeed } from '../util/seeds';
import type { StudyEngine } from '../engine/studyEngine';
import type { AttentionSnapshot, FromTrainer, GenerationResult } from './protocol';
import { argmax } from '../util/argmax';
import { errorMessage } from '../util/errorMessage';
import { analyseAttention, type AttentionRecord } from '../engine/modelAnalysis';
import type { TextProbeSet } from '../data/textProbe';
import { lastBatchOf } from './pageSchedule';

type Post = (message: FromTrainer, transfer?: Transferable[]) => void;

/** Most examples one 'analyseAttention' may ask for (each is two forwards of every run). */
export const MAX_ANALYSIS_EXAMPLES = 64;

/** Share of positions masked in the paired clean/masked attention snapshot (the paper's default P). */
export const SNAPSHOT_MASK_RATIO = 0.15;
/** Candidates shown by 'generate' for the next token after the prompt. */
export const TOP_CANDIDATES = 5;

/**
 * Input positions masked in the paired attention snapshot of one evaluation example: ⌊0.15·T⌋ positions
 * (at least 1) drawn from 0..T−2, a pure function of (seed, example) so successive snapshots of an example
 * compare the same positions. The query that asks for the answer is never masked (`queryPositions`).
 */
export function snapshotMaskPositions(segments: ArrayLike<number>, answerPosition: number, T: number, seed: number): number[] {
  const query = queryPositions(segments, answerPosition, T);
  const candidates: number[] = [];
  for (let t = 0; t <= T - 2; t++) if (!query.has(t)) candidates.push(t);
  const k = Math.min(candidates.length, maskCount(SNAPSHOT_MASK_RATIO, T));
  return samplePositions(new Rng(seed), candidates.length, k).map((i) => candidates[i]).sort((a, b) => a - b);
}

/** The `count` most probable next tokens of one logits row (softmax in float64; ties to the lower id). */
export function topCandidates(logits: ArrayLike<number>, count: number): { token: number; probability: number }[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exp = Float64Array.from(logits, (x) => Math.exp(x - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const order = Array.from(exp.keys()).sort((a, b) => exp[b] - exp[a] || a - b);
  return order.slice(0, count).map((token) => ({ token, probability: exp[token] / sum }));
}

/** The selected example through the selected run, clean and with `snapshotMaskPositions` masked. */
export async function attentionSnapshot(engine: StudyEngine, selection: { run: number; example: number }): Promise<AttentionSnapshot> {
  const { config, evalSet } = engine;
  const { run, example } = selection;
  const T = config.model.context, layers = config.model.layers, heads = config.model.heads;
  const block = evalSet.tokens.subarray(example * (T + 1), (example + 1) * (T + 1));
  const segments = Array.from(evalSet.segments.subarray(example * (T + 1), example * (T + 1) + T));
  const answerPosition = evalSet.answerPositions[example];
  const maskedPositions = snapshotMaskPositions(segments, answerPosition, T, deriveSeed(config.evaluation.seed, example, 'snapshot-mask'));
  const clean = await engine.probe(block, []);
  const masked = await engine.probe(block, maskedPositions);
  const perRun = layers * heads * T * T;
  const tokens = Array.from(block.subarray(0, T));
  return {
    step: engine.step, run, example, T, layers, heads,
    tokens, tokenNames: tokens.map((id) => engine.task.tokenName(id)), segments,
    maskedPositions, answerPosition,
    clean: clean.probs.slice(run * perRun, (run + 1) * perRun),
    masked: masked.probs.slice(run * perRun, (run + 1) * perRun),
  };
}

/**
 * Greedy continuation of `prompt` by every run (each run continues its own text), up to `maxTokens`
 * tokens and at most to a total of T + 1 tokens (the last input position T − 1 predicts token T), and
 * the top next-token candidates right after the prompt. A request that does not fit the study gets the
 * problem back as `{ problem }` (nothing is run).
 */
export async function generateContinuations(
  engine: StudyEngine, requestId: number, prompt: number[], maxTokens: number,
): Promise<{ result: GenerationResult } | { problem: string }> {
  const T = engine.config.model.context, V = engine.config.model.vocabSize;
  const problem = !Array.isArray(prompt) || prompt.length === 0 ? 'the prompt is empty'
    : prompt.length > T ? `the prompt has ${prompt.length} tokens, more than the context T = ${T}`
      : prompt.some((id) => !(Number.isInteger(id) && id >= 0 && id < V)) ? `every token must be an id in 0..${V - 1}`
        : !(Number.isInteger(maxTokens) && maxTokens >= 0) ? `maxTokens must be an integer ≥ 0, got ${maxTokens}` : null;
  if (problem) return { problem };
  const sequences = engine.runs.map(() => [...prompt]);
  let top: GenerationResult['runs'][number]['top'][] | undefined;
  for (;;) {
    const length = sequences[0].length;
    const more = length - prompt.length < maxTokens && length <= T;
    if (top && !more) break;
    const { logits } = await engine.probe(sequences, [], [length - 1]);
    const row = (r: number) => logits.subarray(r * V, (r + 1) * V);
    top ??= engine.runs.map((_, r) => topCandidates(row(r), TOP_CANDIDATES));
    if (!more) break;
    sequences.forEach((sequence, r) => sequence.push(argmax(row(r))));
  }
  return {
    result: {
      requestId,
      runs: sequences.map((sequence, r) => ({ continuation: sequence.slice(prompt.length), top: top![r] })),
    },
  };
}

/** 'probe': the attention snapshot of evaluation example `example` through run `run`. */
export async function answerProbe(engine: StudyEngine, post: Post, run: number, example: number): Promise<void> {
  if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) {
    return post({ type: 'error', message: `Cannot probe run ${run}: the study has runs 0..${engine.R - 1}.` });
  }
  if (!(Number.isInteger(example) && example >= 0 && example < engine.evalSet.count)) {
    return post({ type: 'error', message: `Cannot probe example ${example}: the evaluation set has examples 0..${engine.evalSet.count - 1}.` });
  }
  const snapshot = await attentionSnapshot(engine, { run, example });
  post({ type: 'attention', snapshot }, [snapshot.clean.buffer, snapshot.masked.buffer]);
}

/** 'analyseAttention': the report's attention analyses of every run (src/engine/modelAnalysis.ts), on the models as they are now. */
export async function answerAnalysis(
  engine: StudyEngine | undefined, probeSet: TextProbeSet | null, post: Post, requestId: number, examples: number,
): Promise<void> {
  const answer = (records: AttentionRecord[] | null, error: string | null, step = 0) =>
    post({ type: 'attentionAnalysis', requestId, step, records, error });
  if (!engine) return answer(null, 'Configure and train a study first.');
  if (!(Number.isInteger(examples) && examples >= 1 && examples <= MAX_ANALYSIS_EXAMPLES)) {
    return answer(null, `The number of examples must be a whole number from 1 to ${MAX_ANALYSIS_EXAMPLES}, got ${examples}.`, engine.step);
  }
  try {
    answer(await analyseAttention(engine, probeSet, examples), null, engine.step);
  } catch (error) {
    answer(null, errorMessage(error), engine.step);
  }
}

/** 'generate': every run's greedy continuation of the prompt. */
export async function answerGeneration(engine: StudyEngine, post: Post, requestId: number, prompt: number[], maxTokens: number): Promise<void> {
  const generated = await generateContinuations(engine, requestId, prompt, maxTokens);
  if ('problem' in generated) return post({ type: 'error', message: `Cannot generate: ${generated.problem}.` });
  post({ type: 'generation', result: generated.result });
}

/**
 * The batch the engine trained on at its last step (the page's batch viewer): every run's clean tokens and
 * MEAP mask, as the engine wrote them for its kernels. Null (with the reason) before the first step since
 * the study was built or restored.
 */
export function answerBatch(engine: StudyEngine | undefined, post: Post, requestId: number): void {
  const last = engine ? lastBatchOf(engine) : null;
  // A copy to transfer: a batch carried across a rebuild is answered again on the next request.
  const batch = last && { ...last, tokens: last.tokens.slice(), mask: last.mask.slice() };
  const error = !engine ? 'No study is built.' : batch ? null : 'No training step since the study was built or restored: take a step first.';
  post({ type: 'batch', requestId, batch, error }, batch ? [batch.tokens.buffer, batch.mask.buffer] : []);
}

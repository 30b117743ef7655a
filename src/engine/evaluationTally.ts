/**
 * The scores of one evaluation pass over the fixed evaluation set, per run: the summed clean loss, greedy
 * answers right overall and per depth bucket. Both engines (GPU Study, CPU fallback) fill one the same way,
 * so their RunEvaluations are computed by the same lines.
 */
import type { EvalSet } from '../data/task';
import { argmax } from '../util/argmax';
import type { RunEvaluation } from './types';

/** Tokens of each evaluation answer (1 unless the task's answers are phrases, as qa's). */
export function answerLength(evalSet: EvalSet, example: number): number {
  return evalSet.answerLengths ? evalSet.answerLengths[example] : 1;
}

/** The longest answer of the set: how many logits rows per example an engine reads back. */
export function maxAnswerLength(evalSet: EvalSet): number {
  return evalSet.answerLengths ? Math.max(1, ...evalSet.answerLengths) : 1;
}

export class EvaluationTally {
  private readonly lossSum: Float64Array;
  private readonly correct: Float64Array;
  private readonly bucketCorrect: Float64Array[];
  private readonly bucketTotal: Float64Array;
  /** Multi-token answers: answer tokens predicted right (teacher-forced), and the answer rows' summed loss. */
  private readonly tokensRight: Float64Array;
  private readonly answerLossSum: Float64Array;
  private answerTokens = 0;

  constructor(private readonly evalSet: EvalSet, R: number) {
    this.lossSum = new Float64Array(R);
    this.correct = new Float64Array(R);
    this.bucketCorrect = Array.from({ length: R }, () => new Float64Array(evalSet.bucketCount));
    this.bucketTotal = new Float64Array(evalSet.bucketCount);
    this.tokensRight = new Float64Array(R);
    this.answerLossSum = new Float64Array(R);
  }

  /** Examples start .. start + used − 1 are scored next (every run scores them). */
  examples(start: number, used: number): void {
    for (let b = 0; b < used; b++) {
      this.bucketTotal[this.evalSet.buckets[start + b]]++;
      this.answerTokens += answerLength(this.evalSet, start + b);
    }
  }

  /**
   * Scores run r on `example`: `logitsRow(i)` is the logits row predicting its i-th answer token (input position
   * answerPositions + i, teacher-forced) and `rowLoss(i)` that row's loss. The answer is right when every token's
   * argmax is — exactly what greedy decoding of the span would produce. Per-token accuracy and the answer loss
   * are recorded for multi-token answers.
   */
  scoreAnswer(r: number, example: number, logitsRow: (i: number) => ArrayLike<number>, rowLoss: (i: number) => number): void {
    const { evalSet } = this;
    const length = answerLength(evalSet, example);
    const T = evalSet.T;
    let right = 0;
    for (let i = 0; i < length; i++) {
      const position = evalSet.answerPositions[example] + i;
      const target = i === 0 ? evalSet.answers[example] : evalSet.tokens[example * (T + 1) + position + 1];
      if (argmax(logitsRow(i)) === target) right++;
      this.answerLossSum[r] += rowLoss(i);
    }
    this.tokensRight[r] += right;
    this.answer(r, example, right === length);
  }

  /** Adds run r's summed per-token loss. */
  loss(r: number, sum: number): void {
    this.lossSum[r] += sum;
  }

  /** Records whether run r's greedy answer to `example` was right. */
  answer(r: number, example: number, right: boolean): void {
    if (!right) return;
    this.correct[r]++;
    this.bucketCorrect[r][this.evalSet.buckets[example]]++;
  }

  results(T: number): RunEvaluation[] {
    const { evalSet, bucketTotal } = this;
    return Array.from(this.lossSum, (lossSum, r) => ({
      valLoss: lossSum / (evalSet.count * T),
      // Tasks without a retrieval answer (plain language modelling) report NaN rather than a meaningless score.
      retrievalAcc: evalSet.hasRetrieval ? this.correct[r] / evalSet.count : Number.NaN,
      accByDepth: evalSet.hasRetrieval ? Array.from(this.bucketCorrect[r], (c, i) => (bucketTotal[i] > 0 ? c / bucketTotal[i] : 0)) : [],
      ...(evalSet.answerLengths && this.answerTokens > 0
        ? { tokenAcc: this.tokensRight[r] / this.answerTokens, answerLoss: this.answerLossSum[r] / this.answerTokens } : {}),
    }));
  }
}

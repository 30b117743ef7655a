/**
 * The scores of one evaluation pass over the fixed evaluation set, per run: the summed clean loss, greedy
 * answers right overall and per depth bucket. Both engines (GPU Study, CPU fallback) fill one the same way,
 * so their RunEvaluations are computed by the same lines.
 */
import type { EvalSet } from '../data/task';
import type { RunEvaluation } from './types';

export class EvaluationTally {
  private readonly lossSum: Float64Array;
  private readonly correct: Float64Array;
  private readonly bucketCorrect: Float64Array[];
  private readonly bucketTotal: Float64Array;

  constructor(private readonly evalSet: EvalSet, R: number) {
    this.lossSum = new Float64Array(R);
    this.correct = new Float64Array(R);
    this.bucketCorrect = Array.from({ length: R }, () => new Float64Array(evalSet.bucketCount));
    this.bucketTotal = new Float64Array(evalSet.bucketCount);
  }

  /** Examples start .. start + used − 1 are scored next (every run scores them). */
  examples(start: number, used: number): void {
    for (let b = 0; b < used; b++) this.bucketTotal[this.evalSet.buckets[start + b]]++;
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
    }));
  }
}

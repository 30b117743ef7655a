/**
 * Statistics over seeds of retrieval accuracy histories: at playground scale retrieval appears as a sudden
 * jump whose step varies widely between seeds, so the share of seeds that have learned it by each step
 * (and when each did) tells an objective's effect from seed luck better than one curve.
 */

export interface AccuracyPoint { step: number; retrievalAcc: number }

/** First evaluated step at which accuracy reached `threshold`, or null if it never did. */
export function learnedStep(history: readonly AccuracyPoint[], threshold: number): number | null {
  for (const point of history) if (point.retrievalAcc >= threshold) return point.step;
  return null;
}

/** For each step of the first history: the fraction of runs that had learned retrieval by then. */
export function shareLearnedByStep(histories: readonly (readonly AccuracyPoint[])[], threshold: number): { step: number; share: number }[] {
  if (histories.length === 0) return [];
  const learned = histories.map((h) => learnedStep(h, threshold));
  return histories[0].map(({ step }) => ({
    step,
    share: learned.filter((s) => s !== null && s <= step).length / histories.length,
  }));
}

export interface Band { step: number; mean: number; min: number; max: number }

/** Mean and min–max band across runs of a value at each evaluated step (histories share their steps). */
export function bandByStep<P extends { step: number }>(histories: readonly (readonly P[])[], value: (p: P) => number): Band[] {
  if (histories.length === 0) return [];
  return histories[0].map((point, k) => {
    const values = histories.map((h) => value(h[k]));
    return {
      step: point.step,
      mean: values.reduce((a, b) => a + b, 0) / values.length,
      min: Math.min(...values),
      max: Math.max(...values),
    };
  });
}

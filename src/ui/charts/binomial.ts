/**
 * The Wilson score interval of a binomial proportion: `successes` of `n` prompts answered right. Unlike the
 * normal approximation it stays inside [0, 1] and is honest at 0 % and 100 % — the accuracies a small
 * evaluation set mostly shows.
 */
export function wilsonInterval(proportion: number, n: number, z = 1.96): [number, number] {
  if (!(n > 0) || !Number.isFinite(proportion)) return [Number.NaN, Number.NaN];
  const p = Math.min(1, Math.max(0, proportion));
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Chance accuracy of a retrieval task: one of its `values` answer tokens at random (null: no such set). */
export function chanceAccuracy(taskOptions: unknown): number | null {
  const values = (taskOptions as { values?: unknown } | null)?.values;
  return typeof values === 'number' && values > 0 ? 1 / values : null;
}

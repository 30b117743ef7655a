/**
 * Learning-rate schedule: linear warm-up from lr/warmup to the peak over `warmupSteps`, then cosine decay
 * to `minRatio · peak` at `totalSteps` (the paper: cosine with 10 % warm-up; needle-s: 100 warm-up steps,
 * decay to 10 %). `step` counts from 1, like AdamW's t.
 */
export interface LrSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  minRatio: number;
}

export function learningRate(s: LrSchedule, step: number): number {
  if (step <= s.warmupSteps) return (s.peak * step) / Math.max(1, s.warmupSteps);
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.peak * (s.minRatio + (1 - s.minRatio) * cosine);
}

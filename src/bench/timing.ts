/**
 * Timing helper shared by every contender of the benchmark. `run(iterations)` must do `iterations`
 * operations and resolve only when the GPU has finished them (each side waits on its own device queue),
 * so every number is wall time of finished work, measured the same way for ours and for the references.
 */
export interface TimingOptions {
  /** Untimed runs first (pipeline compiles, uploads, allocator warm-up); 0 when the caller already warmed up. */
  warmup: number;
  /** Timed repetitions; the median counts. */
  repetitions: number;
  /** Operations per repetition are chosen so that one repetition takes about this long (≥ 1 operation). */
  targetMs: number;
  maxIterations?: number;
}

export interface Timing {
  /** Median time of one operation (ms). */
  medianMs: number;
  /** Every repetition's time per operation (ms). */
  samplesMs: number[];
  /** Operations per repetition. */
  iterations: number;
}

export interface Contestant {
  label: string;
  run(iterations: number): Promise<void>;
}

/**
 * Times several contenders doing comparable work, interleaved: after each one's warm-up and calibration,
 * repetition r of every contender runs before repetition r + 1 of any, so a change in machine load
 * (other processes on a shared CPU adapter) hits all sides alike instead of skewing a ratio. A contender
 * that throws is dropped (its entry is an Error); the others go on.
 */
export async function timeInterleaved(contestants: readonly Contestant[], options: TimingOptions): Promise<Map<string, Timing | Error>> {
  const calibrate = (msPerOperation: number) =>
    Math.max(1, Math.min(options.maxIterations ?? 200, Math.round(options.targetMs / Math.max(msPerOperation, 1e-3))));
  const results = new Map<string, Timing | Error>();
  const live = new Map<string, { c: Contestant; iterations: number; samples: number[] }>();
  for (const c of contestants) {
    try {
      let iterations = 1;
      for (let i = 0; i < options.warmup; i++) {
        const start = performance.now();
        await c.run(1);
        iterations = calibrate(performance.now() - start);
      }
      live.set(c.label, { c, iterations, samples: [] });
    } catch (error) {
      results.set(c.label, error instanceof Error ? error : new Error(String(error)));
    }
  }
  for (let r = 0; r < Math.max(1, options.repetitions); r++) {
    for (const [label, entry] of live) {
      try {
        const start = performance.now();
        await entry.c.run(entry.iterations);
        entry.samples.push((performance.now() - start) / entry.iterations);
        if (options.warmup === 0 && r === 0) entry.iterations = calibrate(entry.samples[0]);
      } catch (error) {
        results.set(label, error instanceof Error ? error : new Error(String(error)));
        live.delete(label);
      }
    }
  }
  for (const [label, entry] of live) {
    results.set(label, { medianMs: median(entry.samples), samplesMs: entry.samples, iterations: entry.iterations });
  }
  return new Map(contestants.filter((c) => results.has(c.label)).map((c) => [c.label, results.get(c.label)!]));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

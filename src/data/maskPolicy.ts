import { Rng } from '../util/random';

/**
 * The MEAP masking policy (arXiv 2502.07490; see ../shared/MEAP.md). MEAP changes the data, not the
 * model: for each clean block, k = max(1, ⌊P·T⌋) input positions drawn uniformly without replacement
 * from 0..T-2 are replaced by [MASK]; the targets stay the clean next tokens. P = 0 masks nothing (NTP).
 */
export interface MaskPolicy {
  /** Fraction P of the T input positions to mask, in [0, 1). */
  ratio: number;
  /** One set of positions for the whole batch (the reference code's behaviour) instead of one per sequence. */
  sharedAcrossBatch: boolean;
  /**
   * How many final input positions are never masked (default 1: the last input, as in the paper). A
   * retrieval task can protect its whole query (`? K` → 2), an option the paper does not use.
   */
  protectedTail?: number;
}

/**
 * Number of masked positions per sequence of T inputs: 0 for P = 0, else max(1, ⌊P·T⌋), at most the
 * T − protectedTail positions that may be masked.
 */
export function maskCount(ratio: number, T: number, protectedTail = 1): number {
  if (!(ratio >= 0 && ratio < 1)) throw new RangeError(`mask ratio must be in [0, 1), got ${ratio}`);
  const maskable = T - protectedTail;
  if (ratio === 0 || maskable < 1) return 0;
  return Math.min(maskable, Math.max(1, Math.floor(ratio * T)));
}

/** k distinct positions from 0..n-1, uniformly (partial Fisher–Yates), in increasing order. */
export function samplePositions(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}

/**
 * Fills `mask` ([B, T], 1 = masked input) for one batch. Positions come from `rng`, so the mask stream
 * is a pure function of the generator's seed. The last `protectedTail` inputs (default: position T − 1)
 * are never masked.
 */
export function fillMask(mask: Uint32Array, B: number, T: number, policy: MaskPolicy, rng: Rng): void {
  if (mask.length !== B * T) throw new RangeError(`mask has ${mask.length} entries, expected B·T = ${B * T}`);
  mask.fill(0);
  const tail = policy.protectedTail ?? 1;
  if (!(Number.isInteger(tail) && tail >= 1)) throw new RangeError(`protectedTail must be an integer ≥ 1, got ${tail}`);
  const k = maskCount(policy.ratio, T, tail);
  if (k === 0) return;
  let shared: number[] | undefined;
  for (let b = 0; b < B; b++) {
    const positions = policy.sharedAcrossBatch ? (shared ??= samplePositions(rng, T - tail, k)) : samplePositions(rng, T - tail, k);
    for (const t of positions) mask[b * T + t] = 1;
  }
}

/**
 * Input positions an attention probe never masks: the answer position and the query that asks for the
 * answer (the run of positions ending at the answer position with its segment label, e.g. `? K`), since
 * masking the query would hide what to retrieve rather than probe how context is attended. When that run
 * covers half the context or more (plain text: one segment) only the answer position is kept.
 */
export function queryPositions(segments: ArrayLike<number>, answerPosition: number, T: number): Set<number> {
  const query = new Set<number>([answerPosition]);
  if (answerPosition < 0 || answerPosition >= T) return query;
  const run: number[] = [];
  for (let t = answerPosition; t >= 0 && segments[t] === segments[answerPosition]; t--) run.push(t);
  if (run.length < T / 2) for (const t of run) query.add(t);
  return query;
}

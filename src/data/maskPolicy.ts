import { Rng } from '../util/random';

/**
 * The MEAP masking policy (arXiv 2502.07490; see ../shared/MEAP.md). MEAP changes the data, not the
 * model: for each clean block, k = max(1, ⌊P·T⌋) input positions drawn uniformly without replacement
 * from 0..T-2 are replaced by [MASK]; the targets stay the clean next tokens. P = 0 masks nothing (NTP).
 *
 * Two controls the paper lacks (issue 17): `replace` puts a random ordinary token or a random filler word at
 * the same positions instead of [MASK] (is it masking, or input corruption in general?), and protected
 * positions per sequence (src/data/protectedSegments.ts) are never chosen (what must stay visible?).
 */

/** What a chosen position's input becomes: [MASK], a random ordinary token, or a random filler word. */
export type MaskReplacement = 'mask' | 'random' | 'random-filler';
export const MASK_REPLACEMENTS = ['mask', 'random', 'random-filler'] as const satisfies readonly MaskReplacement[];

export function isMaskReplacement(x: unknown): x is MaskReplacement {
  return typeof x === 'string' && (MASK_REPLACEMENTS as readonly string[]).includes(x);
}

/**
 * A mask entry ([B, T], what the embedding kernel reads): 0 keeps the clean input, 1 gives [MASK], and
 * m ≥ 2 gives token id m − 2 (shaders/embedding.wgsl replacedId, src/reference/embedding.ts).
 */
export const MASK_ENTRY = { CLEAN: 0, MASK: 1 } as const;
export function replacementEntry(id: number): number {
  return id + 2;
}

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
  /** Absent or 'mask': chosen inputs become [MASK] (entry 1); otherwise a uniform draw from `replacementIds`. */
  replace?: MaskReplacement;
  /** The ids a replaced input is drawn from (the task's ordinary tokens or its filler words). */
  replacementIds?: readonly number[];
  /**
   * Input positions of sequence b that are never chosen (besides the tail), increasing; needs masks drawn per
   * sequence. k stays max(1, ⌊P·T⌋), at most the positions left.
   */
  protectedPositions?: (b: number) => readonly number[];
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
 * Fills `mask` ([B, T], entries as MASK_ENTRY) for one batch. Positions (and replacements) come from `rng`,
 * so the mask stream is a pure function of the generator's seed; for sequence b its positions are drawn
 * first, then one replacement per position in increasing order (none for [MASK], so the paper's policy reads
 * the stream exactly as it always has). The last `protectedTail` inputs (default: position T − 1) are never
 * masked, nor `protectedPositions(b)`.
 */
export function fillMask(mask: Uint32Array, B: number, T: number, policy: MaskPolicy, rng: Rng): void {
  if (mask.length !== B * T) throw new RangeError(`mask has ${mask.length} entries, expected B·T = ${B * T}`);
  mask.fill(0);
  const tail = policy.protectedTail ?? 1;
  if (!(Number.isInteger(tail) && tail >= 1)) throw new RangeError(`protectedTail must be an integer ≥ 1, got ${tail}`);
  const k = maskCount(policy.ratio, T, tail);
  if (k === 0) return;
  const replace = policy.replace ?? 'mask';
  const ids = policy.replacementIds ?? [];
  if (replace !== 'mask' && ids.length === 0) throw new RangeError(`replace: ${replace} needs the ids to draw replacements from`);
  const protect = policy.protectedPositions;
  if (protect && policy.sharedAcrossBatch) throw new RangeError('protected positions need masks drawn per sequence, not one mask per batch');
  let shared: number[] | undefined;
  for (let b = 0; b < B; b++) {
    let positions: number[];
    if (protect) {
      const allowed = allowedPositions(T - tail, protect(b));
      positions = samplePositions(rng, allowed.length, Math.min(k, allowed.length)).map((i) => allowed[i]);
    } else {
      positions = policy.sharedAcrossBatch ? (shared ??= samplePositions(rng, T - tail, k)) : samplePositions(rng, T - tail, k);
    }
    for (const t of positions) {
      mask[b * T + t] = replace === 'mask' ? MASK_ENTRY.MASK : replacementEntry(ids[rng.int(ids.length)]);
    }
  }
}

/** 0..n−1 without the protected positions (increasing), so position i of the list maps to a block position. */
function allowedPositions(n: number, protectedPositions: readonly number[]): number[] {
  const excluded = new Set(protectedPositions);
  const allowed: number[] = [];
  for (let t = 0; t < n; t++) if (!excluded.has(t)) allowed.push(t);
  return allowed;
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

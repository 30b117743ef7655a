/**
 * The parts of a retrieval block a mask policy can keep unmasked (`protect`, issue 17's control): the
 * needle's key and value and the query's marker and key, found in one clean block from its tokens alone, so
 * the policy needs no side channel from the task's generator. Layout shared by needle, recall, multidoc and qa:
 *
 *   … K : V … ? K V          (qa: … K : v₁ … v_L … ? K v₁ … v_L)
 *
 * The query `? K` sits just before the answer; the needle is the earlier occurrence of the queried key
 * (keys appear only in their fact and in the query), followed by `:` and the value (qa: the whole phrase).
 */
export type ProtectedSegment = 'needle-key' | 'needle-value' | 'query-marker' | 'query-key';
export const PROTECTED_SEGMENTS = ['needle-key', 'needle-value', 'query-marker', 'query-key'] as const satisfies readonly ProtectedSegment[];

export function isProtectedSegment(x: unknown): x is ProtectedSegment {
  return typeof x === 'string' && (PROTECTED_SEGMENTS as readonly string[]).includes(x);
}

/**
 * Block positions of each segment in one block of T + 1 tokens whose answer starts at `answerStart`
 * (needle, recall, multidoc: T; qa: the answer span's start). Throws a RangeError when the block does not
 * have the layout (no earlier occurrence of the queried key).
 */
export function segmentPositions(block: ArrayLike<number>, T: number, answerStart: number): Record<ProtectedSegment, number[]> {
  const queryKey = answerStart - 1;
  const marker = answerStart - 2;
  if (marker < 0) throw new RangeError(`a retrieval block needs its query before the answer at ${answerStart}`);
  const key = block[queryKey];
  let needle = -1;
  for (let p = marker - 1; p >= 0; p--) if (block[p] === key) { needle = p; break; }
  if (needle < 0) throw new RangeError('a retrieval block holds its queried key earlier, in the needle');
  const length = T + 1 - answerStart;
  return {
    'needle-key': [needle],
    'needle-value': Array.from({ length }, (_, i) => needle + 2 + i),
    'query-marker': [marker],
    'query-key': [queryKey],
  };
}

/** The input positions (< T) of the listed segments in one block, in increasing order, without repeats. */
export function protectedInputPositions(block: ArrayLike<number>, T: number, answerStart: number,
  segments: readonly ProtectedSegment[]): number[] {
  const all = segmentPositions(block, T, answerStart);
  const positions = new Set<number>();
  for (const s of segments) for (const p of all[s]) if (p < T) positions.add(p);
  return [...positions].sort((a, b) => a - b);
}

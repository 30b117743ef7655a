import { describe, expect, it } from 'vitest';
import { preset } from '../src/config/presets';
import { charTokenizer } from '../src/data/charTokenizer';
import { Segment } from '../src/data/needleTask';
import { Special } from '../src/data/needleVocab';
import { keySwappedPrompt, RETRIEVAL_TOKEN_NAMES, retrievalTokenPositions } from '../src/data/retrievalTokens';
import { createTask } from '../src/data/task';
import { textProbeSet } from '../src/data/textProbe';

describe('the single tokens of a retrieval example (K : V … ? K)', () => {
  for (const name of ['needle-s', 'recall-s', 'multidoc-s'] as const) {
    it(`finds the needle's key, colon and value and the query's ? and key in every ${name} evaluation example`, () => {
      const config = preset(name);
      const T = config.model.context;
      const task = createTask(config.task, config.taskOptions as never);
      const set = task.evalSet(40, T, config.evaluation.buckets, 7);
      for (let i = 0; i < set.count; i++) {
        const tokens = Array.from(set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1)));
        const segments = Array.from(set.segments.subarray(i * (T + 1), i * (T + 1) + T));
        const answer = set.answerPositions[i];
        const positions = retrievalTokenPositions(segments, answer);
        expect(positions, `example ${i}`).not.toBeNull();
        const [key, colon, value, marker, self] = positions!;
        expect(positions).toHaveLength(RETRIEVAL_TOKEN_NAMES.length);
        expect([colon - key, value - colon]).toEqual([1, 1]);
        expect(tokens[colon]).toBe(Special.COLON);
        expect(tokens[marker]).toBe(Special.QUERY);
        expect(self).toBe(answer);
        expect(tokens[self]).toBe(tokens[key]);          // the query asks for the needle's key
        expect(tokens[answer + 1]).toBe(tokens[value]);  // and the answer is its value
        // The key-swap probe: only the query key changes, to a key the prompt's inputs do not hold.
        const swapped = Array.from(keySwappedPrompt(tokens, positions, task.keyIds!)!);
        const changed = swapped.flatMap((t, k) => (t !== tokens[k] ? [k] : []));
        expect(changed).toEqual([self]);
        expect(task.keyIds).toContain(swapped[self]);
        expect(tokens.slice(0, T)).not.toContain(swapped[self]);
      }
    });
  }

  it('is null for layouts that are not one K : V needle and a two-token query ending at the answer position', () => {
    const { BEFORE: B, NEEDLE: N, AFTER: A, QUERY: Q } = Segment;
    expect(retrievalTokenPositions([B, N, N, N, A, Q, Q], 6)).toEqual([1, 2, 3, 5, 6]);
    expect(retrievalTokenPositions([B, N, N, N, A, Q, Q], 5)).toBeNull();         // not the query's last position
    expect(retrievalTokenPositions([B, N, N, N, Q, Q, Q], 6)).toBeNull();         // a longer query
    expect(retrievalTokenPositions([N, N, N, A, N, Q, Q], 6)).toBeNull();         // two needle runs
    expect(retrievalTokenPositions([B, N, N, A, A, Q, Q], 6)).toBeNull();         // a needle of two
    expect(retrievalTokenPositions([B, N, N, N, A, Q, Q], 7)).toBeNull();         // outside the input
  });

  it('swaps to the next absent key, cyclically, and gives up only when every key is in the prompt', () => {
    const { BEFORE: B, NEEDLE: N, QUERY: Q } = Segment;
    const segments = [B, N, N, N, Q, Q];
    const positions = retrievalTokenPositions(segments, 5);
    // keys 10..13; the prompt holds 13 (needle and query) and 10 (as a filler stand-in): 13 → (10 present) → 11.
    expect(Array.from(keySwappedPrompt([10, 13, 1, 20, 3, 13, 20], positions, [10, 11, 12, 13])!)).toEqual([10, 13, 1, 20, 3, 11, 20]);
    expect(keySwappedPrompt([10, 13, 1, 20, 3, 13, 20], positions, [10, 13])).toBeNull();   // every key present
    expect(keySwappedPrompt([10, 14, 1, 20, 3, 14, 20], positions, [10, 11, 12, 13])).toBeNull(); // the needle key is no key
    expect(keySwappedPrompt([10, 13, 1, 20, 3, 13, 20], null, [10, 11])).toBeNull();
  });

  it('is null for every text-probe prompt (its needle and query are sentences)', () => {
    const T = 256;
    const set = textProbeSet(charTokenizer(), 20, T, 4, 3, 12);
    for (let i = 0; i < set.count; i++) {
      const segments = Array.from(set.segments.subarray(i * (T + 1), i * (T + 1) + T));
      expect(retrievalTokenPositions(segments, set.answerStart[i] - 1)).toBeNull();
    }
  });
});

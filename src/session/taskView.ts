/**
 * What the page shows of a study's task, taken from the task and evaluation set the engine built (sent in
 * 'built'): the page never builds a task, so its token names, prompts and examples are the Worker's own.
 */
import { Segment, SEGMENT_NAMES } from '../data/needleTask';
import { keySwappedPrompt, retrievalTokenPositions } from '../data/retrievalTokens';
import type { StudyEngine } from '../engine/studyEngine';
import type { ExampleInfo, TaskView } from './protocol';

/** Evaluation examples the pickers offer (the first ones of the fixed evaluation set). */
export const MAX_VIEW_EXAMPLES = 100;

export function taskView(engine: Pick<StudyEngine, 'task' | 'evalSet'>): TaskView {
  const { task, evalSet } = engine;
  const tokenNames = Array.from({ length: task.vocabSize }, (_, id) => task.tokenName(id));
  let characters: TaskView['characters'] = null;
  if (task.encode && task.decode) {
    const decode = task.decode;
    characters = { texts: tokenNames.map((_, id) => decode([id])), unknownId: tokenNames.indexOf('[UNK]') };
  }
  const T = evalSet.T;
  // Every task, qa included: the prompt ends at the position predicting the (first) answer token, so a qa
  // example's prompt ends with `? K_i` and `answer` is its phrase's first word; segment names are shared.
  const examples: ExampleInfo[] = Array.from({ length: Math.min(evalSet.count, MAX_VIEW_EXAMPLES) }, (_, i) => {
    const block = evalSet.tokens.subarray(i * (T + 1), (i + 1) * (T + 1));
    const end = evalSet.answerPositions[i] + 1;
    const positions = retrievalTokenPositions(evalSet.segments.subarray(i * (T + 1), i * (T + 1) + T), end - 1);
    const swapped = keySwappedPrompt(block, positions, task.keyIds ?? []);
    return {
      index: i,
      bucket: evalSet.buckets[i],
      prompt: Array.from(block.subarray(0, end)),
      answer: evalSet.answers[i],
      ...(swapped ? { keySwapped: Array.from(swapped.subarray(0, end)) } : {}),
    };
  });
  return {
    segmentNames: [...SEGMENT_NAMES],
    inputSegments: Segment.ANSWER,
    tokenNames,
    characters,
    bucketLabel: task.bucketLabel,
    examples,
  };
}

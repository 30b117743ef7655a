/**
 * A text uploaded in the page for the text task, checked in the Worker exactly as the CLI's --text-file is
 * (src/data/textTask.ts: size before reading, binary, empty, alphabet; then the context): the page may not
 * import data/, and the one-line reasons are the CLI's.
 */
import type { FromTrainer } from './protocol';
import { MAX_TEXT_BYTES, prepareUserText, textContextProblem, userTextFromBytes } from '../data/textTask';
import { charTokenizer } from '../data/charTokenizer';
import { errorMessage } from '../util/errorMessage';

export type TextChecked = Extract<FromTrainer, { type: 'textChecked' }>;

/** The text of `file` if the text task can train on it with `alphabet` and context `context`, else why not. */
export async function checkUserText(file: Blob, name: string, alphabet: string, context: number, requestId = 0): Promise<TextChecked> {
  const refuse = (error: string): TextChecked => ({ type: 'textChecked', requestId, name, text: null, characters: 0, error });
  // Refused by its size before a byte is read (a Blob's size is known without reading it).
  if (file.size > MAX_TEXT_BYTES) return refuse(`"${name}" has ${file.size} bytes; at most ${MAX_TEXT_BYTES} bytes are accepted`);
  try {
    const text = userTextFromBytes(new Uint8Array(await file.arrayBuffer()), `"${name}"`);
    const streams = prepareUserText(text, charTokenizer(alphabet));
    const problem = textContextProblem(streams, context);
    if (problem) return refuse(problem);
    return { type: 'textChecked', requestId, name, text, characters: streams.train.length + streams.heldOut.length, error: null };
  } catch (error) {
    // The CLI's reason, naming the file where it names the config field.
    return refuse(errorMessage(error).replaceAll('taskOptions.source.text', `"${name}"`));
  }
}

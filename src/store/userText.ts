/**
 * The user's own text for the text task, uploaded in the page. The Worker reads and checks the file as the
 * CLI's --text-file is checked (src/session/userText.ts); an accepted text becomes the study's
 * `taskOptions.source` ({ kind: 'user', text }). It is not written into the link (too big): the URL names
 * the preset and edits only, so a shared link trains on the preset's generated corpus.
 */
import { create } from 'zustand';
import type { StudyConfig } from '../config/presets';
import type { FromTrainer } from '../session/protocol';
import { sendToTrainer, subscribeToTrainer } from './trainer';
import { useConfig } from './config';

export interface UserTextState {
  /** The file being checked by the Worker (null: none). */
  checking: string | null;
  /** Why the last file was refused (the CLI's one-line reason), or null. */
  error: string | null;
  /** The accepted file's name and length after normalisation (null: the study trains on the generated corpus). */
  accepted: { name: string; characters: number } | null;
}

export const useUserText = create<UserTextState>()(() => ({ checking: null, error: null, accepted: null }));

type TextOptions = StudyConfig<'text'>['taskOptions'];

let nextRequestId = 1;
let pendingRequest = 0;
/** The source the study had before the first accepted upload, for "use the generated corpus". */
let corpusSource: TextOptions['source'] | null = null;
let connected = false;

function textOptions(config: StudyConfig): TextOptions | null {
  return config.task === 'text' ? (config.taskOptions as TextOptions) : null;
}

/** Sends `file` to the Worker to be checked with the study's alphabet and context. */
export function uploadUserText(file: Blob, name: string): void {
  const { config } = useConfig.getState();
  const options = textOptions(config);
  if (!options) return;
  if (!connected) {
    connected = true;
    subscribeToTrainer(receiveUserTextMessage);
  }
  pendingRequest = nextRequestId++;
  useUserText.setState({ checking: name, error: null });
  sendToTrainer({ type: 'checkText', requestId: pendingRequest, file, name, alphabet: options.alphabet, context: config.model.context });
}

export function receiveUserTextMessage(message: FromTrainer): void {
  if (message.type !== 'textChecked' || message.requestId !== pendingRequest) return;
  pendingRequest = 0;
  const { presetName, config } = useConfig.getState();
  const options = textOptions(config);
  if (message.text === null || !options) {
    useUserText.setState({ checking: null, error: message.error ?? 'The text task is no longer selected.' });
    return;
  }
  if (options.source.kind === 'generated') corpusSource = options.source;
  useConfig.getState().replace(presetName, { ...config, taskOptions: { ...options, source: { kind: 'user', text: message.text } } });
  useUserText.setState({ checking: null, error: null, accepted: { name: message.name, characters: message.characters } });
}

/** Back to the generated corpus the study had before the upload. */
export function backToGeneratedCorpus(): void {
  const { presetName, config } = useConfig.getState();
  const options = textOptions(config);
  if (options && options.source.kind === 'user' && corpusSource) {
    useConfig.getState().replace(presetName, { ...config, taskOptions: { ...options, source: corpusSource } });
  }
  useUserText.setState({ accepted: null, error: null });
}

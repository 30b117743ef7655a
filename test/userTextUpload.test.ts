/**
 * A text uploaded in the page for the text task (issue 16 item 6): the Worker checks the file as the CLI's
 * --text-file is (size before reading, binary, alphabet, long enough for the context) with the CLI's one-line
 * reasons; an accepted text becomes the study's taskOptions.source and stays out of the link.
 */
import { describe, expect, it, vi } from 'vitest';
import type { FromTrainer, ToTrainer } from '../src/session/protocol';
import { preset, type StudyConfig } from '../src/config/presets';
import { MAX_TEXT_BYTES, prepareUserText } from '../src/data/textTask';
import { charTokenizer } from '../src/data/charTokenizer';
import { TrainingSession } from '../src/session/session';

const sent: ToTrainer[] = [];
vi.mock('../src/store/trainer', () => ({
  sendToTrainer: (message: ToTrainer) => { sent.push(message); },
  subscribeToTrainer: () => () => undefined,
  restartTrainer: () => undefined,
}));

const { checkUserText } = await import('../src/session/userText');
const { useConfig } = await import('../src/store/config');
const { configToQuery } = await import('../src/store/configCodec');
const { backToGeneratedCorpus, receiveUserTextMessage, uploadUserText, useUserText } = await import('../src/store/userText');
const { cliCommand } = await import('../src/ui/controls/cliCommand');

const textStudy = preset('text-s') as StudyConfig<'text'>;
const { alphabet } = textStudy.taskOptions;
const context = textStudy.model.context;
const prose = 'the cat sat on the mat and looked at the sky. '.repeat(200); // 9200 characters
const blob = (text: string | Uint8Array<ArrayBuffer>) => new Blob([typeof text === 'string' ? new TextEncoder().encode(text) : text]);

describe("the Worker's check of an uploaded text", () => {
  it('accepts plain text and gives its length after normalisation', async () => {
    const answer = await checkUserText(blob(prose), 'notes.txt', alphabet, context, 7);
    expect(answer).toEqual({ type: 'textChecked', requestId: 7, name: 'notes.txt', text: prose, characters: prose.length, error: null });
  });

  it("refuses with the CLI's reasons: size (before reading), binary, alphabet, too short for the context", async () => {
    const big = await checkUserText(new Blob([new Uint8Array(MAX_TEXT_BYTES + 1)]), 'big.txt', alphabet, context);
    expect(big.text).toBeNull();
    expect(big.error).toBe(`"big.txt" has ${MAX_TEXT_BYTES + 1} bytes; at most ${MAX_TEXT_BYTES} bytes are accepted`);

    const bytes = new Uint8Array(4000).fill(0x61);
    bytes[10] = 0;
    const binary = await checkUserText(blob(bytes), 'a.bin', alphabet, context);
    expect(binary.error).toBe('"a.bin" looks binary: it contains a NUL character (at offset 10); give plain UTF-8 text');

    const foreign = 'ЖЖЖЖ '.repeat(1000);
    const outside = await checkUserText(blob(foreign), 'ru.txt', alphabet, context);
    // The very reason the CLI gives for --text-file, naming the file where the CLI names the config field.
    let cliReason = '';
    try { prepareUserText(foreign, charTokenizer(alphabet)); } catch (error) { cliReason = (error as Error).message; }
    expect(outside.error).toBe(cliReason.replace('taskOptions.source.text', '"ru.txt"'));
    expect(outside.error).toContain('outside taskOptions.alphabet');

    const short = await checkUserText(blob('the cat sat. '.repeat(20)), 'short.txt', alphabet, context);
    expect(short.error).toContain(`is too short for context T = ${context}`);
  });

  it("is a protocol command of the session: 'checkText' is answered by 'textChecked'", async () => {
    const messages: FromTrainer[] = [];
    const session = new TrainingSession({ post: (m) => { messages.push(m); }, createContext: () => Promise.reject(new Error('no GPU needed')) });
    await session.handle({ type: 'checkText', requestId: 3, file: blob(prose), name: 'notes.txt', alphabet, context });
    expect(messages).toEqual([expect.objectContaining({ type: 'textChecked', requestId: 3, text: prose, error: null })]);
  });
});

describe("the page's upload", () => {
  it('sends the file with the study’s alphabet and context; an accepted text is the study’s source, not in the link', () => {
    useConfig.getState().replace('text-s', textStudy);
    const file = blob(prose);
    uploadUserText(file, 'notes.txt');
    const command = sent.at(-1) as Extract<ToTrainer, { type: 'checkText' }>;
    expect(command).toMatchObject({ type: 'checkText', name: 'notes.txt', alphabet, context });
    expect(command.file).toBe(file);
    expect(useUserText.getState().checking).toBe('notes.txt');

    receiveUserTextMessage({ type: 'textChecked', requestId: command.requestId, name: 'notes.txt', text: prose, characters: prose.length, error: null });
    const { config, presetName } = useConfig.getState();
    expect((config as StudyConfig<'text'>).taskOptions.source).toEqual({ kind: 'user', text: prose });
    expect(useUserText.getState()).toMatchObject({ checking: null, error: null, accepted: { name: 'notes.txt', characters: prose.length } });
    expect(configToQuery(presetName, config)).not.toContain('cat');
    // The command line for the same study names the text file (else it would train on the generated corpus).
    expect(cliCommand(presetName, config, 'notes.txt')).toBe(`${cliCommand('text-s', textStudy)} --text-file "notes.txt"`);
    expect(cliCommand('tiny', config)).toBeNull(); // a text study with tiny's model is no compare preset's

    backToGeneratedCorpus();
    expect((useConfig.getState().config as StudyConfig<'text'>).taskOptions.source).toEqual(textStudy.taskOptions.source);
  });

  it('a refusal shows its reason and leaves the study as it was', () => {
    useConfig.getState().replace('text-s', textStudy);
    uploadUserText(blob('x'), 'a.bin');
    const { requestId } = sent.at(-1) as Extract<ToTrainer, { type: 'checkText' }>;
    receiveUserTextMessage({ type: 'textChecked', requestId, name: 'a.bin', text: null, characters: 0, error: '"a.bin" looks binary' });
    expect(useUserText.getState().error).toBe('"a.bin" looks binary');
    expect((useConfig.getState().config as StudyConfig<'text'>).taskOptions.source).toEqual(textStudy.taskOptions.source);
  });
});

import { useId } from 'react';
import { useConfig } from '../../store/config';
import { backToGeneratedCorpus, uploadUserText, useUserText } from '../../store/userText';
import type { StudyConfig } from '../../config/presets';

/**
 * The text task's source: the generated corpus or a text file of the user's, checked by the Worker as the
 * CLI's --text-file is (size, binary, alphabet, long enough for the context). Shown for the text task only.
 */
export function TextUpload() {
  const config = useConfig((s) => s.config);
  const { checking, error, accepted } = useUserText();
  const inputId = useId();
  if (config.task !== 'text') return null;
  const source = (config.taskOptions as StudyConfig<'text'>['taskOptions']).source;
  return (
    <div className="field" data-testid="text-upload" data-source={source.kind}>
      <label htmlFor={inputId}>Training text</label>
      <input id={inputId} type="file" accept=".txt,text/plain" data-testid="text-upload-input" disabled={checking !== null}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) uploadUserText(file, file.name);
          e.target.value = ''; // the same file can be chosen again after a refusal
        }} />
      {checking && <small className="field-help" role="status">Checking {checking}…</small>}
      {error && <small className="field-error" role="alert" data-testid="text-upload-error">{error}</small>}
      {source.kind === 'user'
        ? <small className="field-help" data-testid="text-upload-status">
            Training on {accepted ? <>“{accepted.name}” ({accepted.characters.toLocaleString('en-US')} characters)</> : <>your text ({source.text.length.toLocaleString('en-US')} characters)</>}:
            the last tenth is held out for evaluation. <strong>Your text is not in the link</strong> (too big): a shared link trains on the generated corpus.{' '}
            <button type="button" className="link" data-testid="text-upload-clear" onClick={backToGeneratedCorpus}>Use the generated corpus</button>
          </small>
        : <small className="field-help">The generated corpus ({source.documents.toLocaleString('en-US')} documents); or upload a UTF-8 text file, checked as the command line&apos;s --text-file is.</small>}
    </div>
  );
}

import { useMemo, useState, type FormEvent } from 'react';
import { useAttention, type ExampleInfo } from '../store/attention';
import { characterCodec, continuationRoom, parsePrompt, vocabularyMap, type ParsedPrompt } from './attention/prompt';
import { useCompared } from './attention/useCompared';
import './attention/attention.css';

/** How a task writes token ids: characters for the text task, space-separated names otherwise. */
function useTokenText() {
  const task = useAttention((s) => s.task);
  const config = useAttention((s) => s.config);
  const snapshots = useAttention((s) => s.snapshots);
  // Names from the vocabulary the Worker sent with the study, else (before one) from whatever snapshot arrived.
  const names = useMemo(() => {
    if (task) return (id: number) => task.tokenNames[id] ?? `<${id}?>`;
    const known = new Map<number, string>();
    for (const s of Object.values(snapshots)) s.tokens.forEach((id, p) => known.set(id, s.tokenNames[p]));
    return (id: number) => known.get(id) ?? `<${id}>`;
  }, [task, snapshots]);
  const vocabulary = useMemo(() => {
    if (task) return vocabularyMap(task.tokenNames.length, (id) => task.tokenNames[id]);
    const map = new Map<string, number>();
    for (const s of Object.values(snapshots)) s.tokens.forEach((id, p) => map.set(s.tokenNames[p], id));
    return map;
  }, [task, snapshots]);
  const codec = useMemo(() => (task?.characters ? characterCodec(task.characters) : null), [task]);
  const characters = codec !== null;
  const T = config?.model.context ?? 0;
  const show = (ids: readonly number[]) => (codec ? codec.decode(ids) : ids.map(names).join(' '));
  const parse = (text: string): ParsedPrompt => {
    if (codec) {
      const ids = codec.encode(text);
      if (ids.length === 0) return { ok: false, error: 'Type some text.', index: -1 };
      // encode normalises the text first, so find the offending characters by re-encoding each one.
      const unknown = [...new Set(Array.from(text))].filter((c) => codec.encode(c).some((id) => names(id) === '[UNK]'));
      if (unknown.length > 0) return { ok: false, error: `Not in the model's alphabet: ${JSON.stringify(unknown.join(''))}`, index: -1 };
      if (ids.length > T) return { ok: false, error: `The prompt has ${ids.length} characters; the model's context holds ${T}.`, index: -1 };
      return { ok: true, ids };
    }
    return parsePrompt(text, vocabulary, T);
  };
  return { names, show, parse, characters, T };
}

function ExamplePicker({ examples, onPick }: { examples: ExampleInfo[]; onPick: (e: ExampleInfo) => void }) {
  const task = useAttention((s) => s.task);
  return (
    <label>
      Probe{' '}
      <select aria-label="probe example" value="" onChange={(e) => { const ex = examples[Number(e.target.value)]; if (ex) onPick(ex); }}>
        <option value="">pick an evaluation example…</option>
        {examples.map((ex) => (
          <option key={ex.index} value={ex.index}>#{ex.index}{task?.bucketLabel ? ` · ${task.bucketLabel} bucket ${ex.bucket + 1}` : ''}</option>
        ))}
      </select>
    </label>
  );
}

/** Type a prompt (or pick an evaluation example) and see each compared model's greedy continuation and next-token odds. */
export function TryModelsPanel() {
  const examples = useAttention((s) => s.examples);
  const generation = useAttention((s) => s.generation);
  const built = useAttention((s) => s.runs.length > 0);
  const compared = useCompared();
  const { names, show, parse, characters, T } = useTokenText();
  const [text, setText] = useState('');
  // The picked example's prompt (or its key-swapped twin) and the answer it should produce (the needle's value).
  const [expected, setExpected] = useState<{ text: string; answer: number; swapped: boolean; example: ExampleInfo } | null>(null);
  const [error, setError] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parse(text);
    if (!parsed.ok) { setError(parsed.error); return; }
    setError('');
    useAttention.getState().generate(parsed.ids, Math.max(1, continuationRoom(parsed.ids.length, T)));
  };
  const pick = (example: ExampleInfo, swapped = false) => {
    const prompt = show(swapped && example.keySwapped ? example.keySwapped : example.prompt);
    setText(prompt);
    setExpected({ text: prompt, answer: example.answer, swapped, example });
    setError('');
  };
  const current = expected && expected.text === text ? expected : null;
  const answer = current ? current.answer : null;
  const result = generation.status === 'done' ? generation.result : null;

  return (
    <section className="panel att-panel" aria-labelledby="try-title" data-testid="try-models-panel">
      <h2 id="try-title">Try the models</h2>
      <p className="hint">
        {characters ? 'Type some text' : <>Type tokens separated by spaces, e.g. <code>w3 K5 : V7 w1 ? K5</code>,</>} or pick an evaluation example;
        each model continues greedily and shows its most likely next tokens.
      </p>
      <form className="att-try-form" onSubmit={submit}>
        {examples.length > 0 && <ExamplePicker examples={examples} onPick={pick} />}
        <label className="att-prompt">
          Prompt{' '}
          <input
            type="text"
            value={text}
            onChange={(e) => { setText(e.target.value); setError(''); }}
            aria-invalid={error !== ''}
            aria-describedby={error ? 'try-error' : undefined}
            data-testid="prompt-input"
            spellCheck={false}
            placeholder={characters ? 'some text' : 'w3 K5 : V7 w1 ? K5'}
          />
        </label>
        <button type="submit" disabled={!built || generation.status === 'pending'}>Continue</button>
        {current?.example.keySwapped && (
          <button type="button" className="secondary" data-testid="swap-key" onClick={() => pick(current.example, !current.swapped)}
            title="Does the answer depend on the key? Ask for a key the prompt does not hold: a model that copies the context's only value still answers it.">
            {current.swapped ? 'Restore the query key' : 'Swap the query key'}
          </button>
        )}
      </form>
      {!built && <p className="att-placeholder">Build a study first: the models live in the training worker.</p>}
      {error && <p id="try-error" className="att-error" role="alert" data-testid="prompt-error">{error}</p>}
      {generation.status === 'pending' && <p className="att-muted">Asking the models…</p>}
      {generation.status === 'failed' && <p className="att-error" role="alert">{generation.error}</p>}
      {answer !== null && !current?.swapped && <p className="att-muted">Expected answer: <b>{names(answer)}</b></p>}
      {answer !== null && current?.swapped && (
        <p className="att-muted" data-testid="swapped-note">
          The query now names a key the prompt does not hold, so it has no right answer. ✓ marks a model that still answers the
          needle&apos;s value, <b>{names(answer)}</b>: on this prompt its answer does not depend on the key asked (the report&apos;s
          key-swap probe counts this over 200 prompts).
        </p>
      )}
      {result && (
        <div className="att-try-results">
          {compared.map((entry) => {
            const out = result.runs[entry.run];
            if (!out) return null;
            return (
              <div key={entry.run} className="att-try-run" data-testid="generation-run" data-run={entry.run} style={{ borderTopColor: entry.colour }}>
                <h3><span className="att-swatch" style={{ background: entry.colour }} />{entry.label} <span className="att-muted">seed {entry.info.seed}</span></h3>
                <p className="att-continuation">
                  <span className="att-muted">{show(generation.prompt)}</span>{characters ? '' : ' '}
                  <b data-testid="continuation">{show(out.continuation)}</b>
                  {answer !== null && out.continuation.length > 0 && (
                    <span className={out.continuation[0] === answer ? 'good' : 'bad'}> {out.continuation[0] === answer ? '✓' : '✗'}</span>
                  )}
                </p>
                <ol className="att-top" aria-label={`${entry.label} most likely next tokens`}>
                  {out.top.map((t) => (
                    <li key={t.token}>
                      <span className="att-top-token">{characters ? JSON.stringify(show([t.token])) : names(t.token)}</span>
                      <span className="att-top-bar"><span style={{ width: `${t.probability * 100}%`, background: entry.colour }} /></span>
                      <span className="num">{(t.probability * 100).toFixed(1)}%</span>
                    </li>
                  ))}
                </ol>
              </div>
            );
          })}
        </div>
      )}
    </section>
  );
}

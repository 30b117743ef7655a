import { useEffect, useId, useRef, useState } from 'react';
import { useConfig } from '../../store/config';
import type { EditableField } from '../../store/configCodec';

type NumericField = Extract<EditableField, 'steps' | 'batch' | 'lr' | 'seedsPerArm' | 'baseSeed' | 'evalEvery' | 'finetuneSteps' | 'finetuneLr' | 'maskFraction' | 'minAnswer'>;

interface NumberFieldProps {
  field: NumericField;
  label: string;
  value: number;
  min?: number;
  max?: number;
  step?: number | 'any';
  help?: string;
  /** Text input (accepts 3e-3) instead of a spinner. */
  text?: boolean;
}

/**
 * A number input bound to one config field: every valid keystroke edits the config (and the URL); an
 * invalid one shows why and changes nothing; leaving the field puts the valid value back.
 */
export function NumberField({ field, label, value, min, max, step = 1, help, text = false }: NumberFieldProps) {
  const id = useId();
  const edit = useConfig((s) => s.edit);
  const [draft, setDraft] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  const focused = useRef(false);

  useEffect(() => {
    if (!focused.current) {
      setDraft(String(value));
      setError(null);
    }
  }, [value]);

  const change = (next: string) => {
    setDraft(next);
    const trimmed = next.trim();
    const number = Number(trimmed);
    if (trimmed === '' || !Number.isFinite(number)) {
      setError('enter a number');
      return;
    }
    setError(edit(field, number));
  };

  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id} name={field} data-testid={`input-${field}`}
        type={text ? 'text' : 'number'} inputMode={text ? 'decimal' : 'numeric'}
        min={min} max={max} step={step} spellCheck={false} autoComplete="off"
        value={draft} aria-invalid={error !== null} aria-describedby={`${id}-help`}
        onFocus={() => { focused.current = true; }}
        onBlur={() => { focused.current = false; setDraft(String(value)); setError(null); }}
        onChange={(e) => change(e.target.value)}
        onKeyDown={(e) => { if (e.key === 'Enter') (e.target as HTMLInputElement).blur(); }}
      />
      <small id={`${id}-help`} className={error ? 'field-error' : 'field-help'} role={error ? 'alert' : undefined}>
        {error ?? help}
      </small>
    </div>
  );
}

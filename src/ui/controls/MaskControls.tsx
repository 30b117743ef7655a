import { useId, useState } from 'react';
import { useConfig } from '../../store/config';
import type { StudyConfig } from '../../config/presets';
import {
  maskOptionsOfTask, PROTECT_VALUES, REPLACE_VALUES, type EditableField, type EditableValues, type MaskReplacement, type ProtectedSegment,
} from '../../store/configCodec';

const REPLACE_LABELS: Record<MaskReplacement, string> = {
  mask: '[MASK] (the paper)',
  random: 'a random token',
  'random-filler': 'a random filler word',
};

const SEGMENT_LABELS: Record<ProtectedSegment, string> = {
  'needle-key': 'needle key',
  'needle-value': 'needle value',
  'query-marker': 'query marker',
  'query-key': 'query key',
};

/**
 * How MEAP masks: one set of positions for the batch or one per sequence, the query kept visible, what a
 * chosen input becomes and which parts of a retrieval block are never masked (issue 17's controls; the
 * filler words and the segments exist in the retrieval tasks only). A refused combination (protected
 * segments with a shared mask) shows the study validation's reason and changes nothing.
 */
export function MaskControls() {
  const config = useConfig((s) => s.config);
  const edit = useConfig((s) => s.edit);
  const sharedId = useId(), protectQueryId = useId(), replaceId = useId(), segmentsId = useId();
  // A refusal leaves the config as it was: its message shows until the config changes (any control's edit).
  const [refusal, setRefusal] = useState<{ message: string; config: StudyConfig } | null>(null);
  const error = refusal?.config === config ? refusal.message : null;
  const offered = maskOptionsOfTask(config.task);
  const protect = config.protect ?? [];
  const set = <K extends EditableField>(field: K, value: EditableValues[K]) => {
    const message = edit(field, value);
    setRefusal(message === null ? null : { message, config });
  };
  const toggle = (segment: ProtectedSegment, on: boolean) =>
    set('protect', on ? [...protect, segment] : protect.filter((s) => s !== segment));

  return (
    <>
      <div className="field checkbox">
        <input id={sharedId} type="checkbox" data-testid="input-sharedMask" checked={config.sharedMask}
          onChange={(e) => set('sharedMask', e.target.checked)} />
        <label htmlFor={sharedId}>Share mask positions across the batch <span className="muted">(as the reference code does)</span></label>
      </div>

      <div className="field checkbox">
        <input id={protectQueryId} type="checkbox" data-testid="input-protectQuery" checked={config.protectQuery === true}
          onChange={(e) => set('protectQuery', e.target.checked)} />
        <label htmlFor={protectQueryId}>Never mask the query tokens <span className="muted">(retrieval tasks; the paper masks any input but the last)</span></label>
      </div>

      <div className="field">
        <label htmlFor={replaceId}>Masked inputs become</label>
        <select id={replaceId} data-testid="select-replace" value={config.replace ?? 'mask'}
          onChange={(e) => set('replace', e.target.value as MaskReplacement)}>
          {REPLACE_VALUES.map((mode) => (
            <option key={mode} value={mode} disabled={mode === 'random-filler' && !offered.filler}>{REPLACE_LABELS[mode]}</option>
          ))}
        </select>
        <small className="field-help">the same positions; is it [MASK], or any corruption?</small>
      </div>

      {offered.protect && (
        <fieldset className="field" data-testid="protect-controls" aria-labelledby={segmentsId}>
          <legend id={segmentsId}>Never mask <span className="muted">(parts of each retrieval block)</span></legend>
          <div className="field-row">
            {PROTECT_VALUES.map((segment) => (
              <div className="field checkbox" key={segment}>
                <input id={`${segmentsId}-${segment}`} type="checkbox" data-testid={`input-protect-${segment}`} checked={protect.includes(segment)}
                  onChange={(e) => toggle(segment, e.target.checked)} />
                <label htmlFor={`${segmentsId}-${segment}`}>{SEGMENT_LABELS[segment]}</label>
              </div>
            ))}
          </div>
        </fieldset>
      )}
      {error && <small className="field-error" role="alert" data-testid="mask-error">{error}</small>}
    </>
  );
}

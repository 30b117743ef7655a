import { useId, useState } from 'react';
import { useConfig } from '../../store/config';
import { PAPER_MASK_GRID } from '../../config/presets';
import { armColor, armLabel } from '../../util/palette';

/** The arms of the study: NTP (mask ratio 0) and any MEAP mask ratios, with the paper's grid one click away. */
export function ArmsEditor() {
  const arms = useConfig((s) => s.config.arms);
  const edit = useConfig((s) => s.edit);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const set = (next: number[]) => setError(edit('arms', next));
  const add = () => {
    const percent = Number(draft.trim().replace('%', ''));
    if (draft.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent >= 100) {
      setError('a mask ratio is a percentage from 0 to below 100');
      return;
    }
    const ratio = Math.round(percent * 100) / 10000;
    if (arms.includes(ratio)) {
      setError(`${armLabel(ratio)} is already an arm`);
      return;
    }
    const refused = edit('arms', [...arms, ratio].sort((a, b) => a - b));
    setError(refused);
    if (!refused) setDraft('');
  };
  const isGrid = arms.length === PAPER_MASK_GRID.length && PAPER_MASK_GRID.every((r, i) => arms[i] === r);

  return (
    <fieldset className="field arms" data-testid="arms-editor">
      <legend>Arms</legend>
      <small className="field-help">Share of input tokens replaced by [MASK]; 0 is NTP.</small>
      <ul className="chips">
        {arms.map((ratio) => (
          <li key={ratio} className="chip" data-testid="arm-chip" style={{ borderColor: armColor(ratio, arms) }}>
            <span className="swatch" style={{ background: armColor(ratio, arms) }} />
            {armLabel(ratio)}
            <button type="button" className="chip-remove" aria-label={`Remove ${armLabel(ratio)}`}
              disabled={arms.length === 1} onClick={() => set(arms.filter((r) => r !== ratio))}>×</button>
          </li>
        ))}
      </ul>
      <div className="arms-add">
        <label htmlFor={id} className="sr-only">Mask ratio to add, in percent</label>
        <input id={id} type="number" min={0} max={99} step={1} placeholder="%" value={draft} data-testid="arm-add-input"
          onChange={(e) => { setDraft(e.target.value); setError(null); }}
          onKeyDown={(e) => { if (e.key === 'Enter') add(); }} />
        <button type="button" className="secondary" onClick={add}>Add arm</button>
        {!arms.includes(0) && <button type="button" className="secondary" onClick={() => set([0, ...arms])}>Add NTP</button>}
      </div>
      <div className="arms-quick">
        <button type="button" className="secondary" aria-pressed={isGrid} data-testid="paper-grid"
          title="NTP and MEAP with 5, 10, 15 and 20 % masked inputs, as in the paper's ablation"
          onClick={() => set([...PAPER_MASK_GRID])}>Paper grid 0 / 5 / 10 / 15 / 20 %</button>
        <button type="button" className="secondary" onClick={() => set([0, 0.15])}>NTP vs MEAP 15 %</button>
      </div>
      {error && <small className="field-error" role="alert">{error}</small>}
    </fieldset>
  );
}

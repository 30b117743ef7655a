import { useId, useState } from 'react';
import { useConfig } from '../../store/config';
import { LIMITS } from '../../store/configCodec';
import { FINETUNE_VARIANTS, type FinetuneVariant } from '../../config/presets';
import { VARIANT_COLORS, VARIANT_LABELS } from '../../util/palette';
import { NumberField } from './NumberField';

const VARIANT_HELP: Record<FinetuneVariant, string> = {
  sft: 'loss on the answer tokens',
  'meap-sft': 'SFT + a copy with some answer tokens masked, loss on those (the reference code)',
  'meap-sft-all': 'the masked copy carries loss on every answer token (the paper read literally)',
};

/**
 * The fine-tuning stage of a qa study (src/config/finetuneStage.ts): which variants, how many steps, the
 * learning rate, the share of a copy's answer tokens masked and the shortest answer that gets a copy. The
 * stage runs after pretraining, from the Fine-tune button of the run bar; every value is in the URL.
 */
export function FinetuneControls() {
  const config = useConfig((s) => s.config);
  const edit = useConfig((s) => s.edit);
  const groupId = useId();
  const [error, setError] = useState<string | null>(null);
  if (config.task !== 'qa') return null;
  const f = config.finetune;
  const variants: FinetuneVariant[] = f?.variants ?? [];
  const toggle = (variant: FinetuneVariant, on: boolean) => {
    const next = on ? [...variants, variant] : variants.filter((v) => v !== variant);
    setError(edit('finetune', next));
  };
  return (
    <fieldset className="field finetune-controls" data-testid="finetune-controls" aria-labelledby={groupId}>
      <legend id={groupId}>Fine-tuning <span className="muted">(after pretraining: Fine-tune in the run bar)</span></legend>
      {FINETUNE_VARIANTS.map((variant) => (
        <div className="field checkbox" key={variant}>
          <input id={`${groupId}-${variant}`} type="checkbox" data-testid={`input-finetune-${variant}`} checked={variants.includes(variant)}
            onChange={(e) => toggle(variant, e.target.checked)} />
          <label htmlFor={`${groupId}-${variant}`}>
            <span className="swatch" style={{ background: VARIANT_COLORS[variant] }} />{VARIANT_LABELS[variant]}{' '}
            <span className="muted">({VARIANT_HELP[variant]})</span>
          </label>
        </div>
      ))}
      {error && <small className="field-error" role="alert">{error}</small>}
      {f ? (
        <>
          <div className="field-row">
            <NumberField field="finetuneSteps" label="Fine-tuning steps" value={f.steps}
              min={LIMITS.finetuneSteps.min} max={LIMITS.finetuneSteps.max} help={`warm-up ${f.warmupSteps}`} />
            <NumberField field="finetuneLr" label="Fine-tuning lr" value={f.lr} text step="any" help="peak, cosine as above" />
          </div>
          <div className="field-row">
            <NumberField field="maskFraction" label="Mask fraction" value={f.maskFraction} text step="any"
              help="of a copy's answer tokens (at least one)" />
            <NumberField field="minAnswer" label="Min answer" value={f.minAnswer}
              min={LIMITS.minAnswer.min} max={LIMITS.minAnswer.max} help="tokens for a masked copy" />
          </div>
        </>
      ) : <p className="hint" data-testid="finetune-none">No fine-tuning stage: choose a variant to add one.</p>}
    </fieldset>
  );
}

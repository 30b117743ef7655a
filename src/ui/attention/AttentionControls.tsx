import { memo } from 'react';
import { useAttention } from '../../store/attention';
import { runLabel } from '../../util/palette';

/** Which runs, example, layer, head and input the attention views show (re-renders only when the selection or the study changes). */
export const AttentionControls = memo(function AttentionControls() {
  const runs = useAttention((s) => s.runs);
  const config = useAttention((s) => s.config);
  const task = useAttention((s) => s.task);
  const examples = useAttention((s) => s.examples);
  const seed = useAttention((s) => s.seed);
  const baseArm = useAttention((s) => s.baseArm);
  const meapArm = useAttention((s) => s.meapArm);
  const example = useAttention((s) => s.example);
  const layer = useAttention((s) => s.layer);
  const head = useAttention((s) => s.head);
  const input = useAttention((s) => s.input);
  const { setSeed, setMeapArm, setExample, setLayer, setHead, setInput } = useAttention.getState();
  if (!config || runs.length === 0) return null;

  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  // Arms as the runs number them (in a fine-tuning stage: pretraining arm × variant), named like the charts.
  const armName = (arm: number) => {
    const run = runs.find((r) => r.arm === arm);
    return run ? runLabel(run, config.arms) : '—';
  };
  const otherArms = [...new Set(runs.map((r) => r.arm))].sort((a, b) => a - b).filter((arm) => arm !== baseArm).map((arm) => ({ arm }));
  const exampleCount = examples.length > 0 ? examples.length : Math.min(config.evaluation.count, 100);
  const bucketLabel = task?.bucketLabel ?? '';

  return (
    <div className="att-controls" role="group" aria-label="attention view selection">
      <label>
        Seed{' '}
        <select aria-label="seed" value={seed} onChange={(e) => setSeed(Number(e.target.value))} disabled={seeds.length < 2}>
          {seeds.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <label>
        {armName(baseArm)} vs{' '}
        <select aria-label="compared arm" value={meapArm} onChange={(e) => setMeapArm(Number(e.target.value))} disabled={otherArms.length < 2}>
          {otherArms.length === 0 && <option value={meapArm}>—</option>}
          {otherArms.map(({ arm }) => <option key={arm} value={arm}>{armName(arm)}</option>)}
        </select>
      </label>
      <label>
        Example{' '}
        <select aria-label="example" value={example} onChange={(e) => setExample(Number(e.target.value))}>
          {Array.from({ length: exampleCount }, (_, i) => (
            <option key={i} value={i}>
              #{i}{examples[i] && bucketLabel ? ` · ${bucketLabel} ${examples[i].bucket + 1}/${config.evaluation.buckets}` : ''}
            </option>
          ))}
        </select>
      </label>
      <label>
        Layer{' '}
        <select aria-label="layer" value={layer} onChange={(e) => setLayer(Number(e.target.value))}>
          {Array.from({ length: config.model.layers }, (_, l) => <option key={l} value={l}>{l}</option>)}
        </select>
      </label>
      <label>
        Head{' '}
        <select aria-label="head" value={String(head)} onChange={(e) => setHead(e.target.value === 'all' ? 'all' : Number(e.target.value))}>
          {Array.from({ length: config.model.heads }, (_, h) => <option key={h} value={h}>{h}</option>)}
          <option value="all">all (mean)</option>
        </select>
      </label>
      <fieldset className="att-toggle">
        <legend className="att-sr">Input</legend>
        {(['clean', 'masked'] as const).map((kind) => (
          <label key={kind}>
            <input type="radio" name="att-input" value={kind} checked={input === kind} onChange={() => setInput(kind)} /> {kind} input
          </label>
        ))}
      </fieldset>
    </div>
  );
});

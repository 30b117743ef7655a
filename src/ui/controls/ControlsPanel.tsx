import { useId, useMemo, useState } from 'react';
import { useConfig, loadPreset } from '../../store/config';
import { LIMITS, presetConfig, presetNames, taskNames } from '../../store/configCodec';
import type { StudyConfig } from '../../train/presets';
import { bufferPlan } from '../../model/memory';
import { parameterCount, parameterLayout } from '../../model/layout';
import { formatBytes, formatCount } from '../format';
import { ArmsEditor } from './ArmsEditor';
import { NumberField } from './NumberField';

function describeModel(c: StudyConfig): string {
  const m = c.model;
  return `${m.layers} layers · d ${m.dModel} · ${m.heads} heads · context ${m.context} · vocab ${m.vocabSize}`;
}

/** Size of the edited study, computed from the config alone (the same plan the Worker checks before allocating). */
function useStudySize(c: StudyConfig) {
  return useMemo(() => {
    const R = c.arms.length * c.seedsPerArm;
    try {
      const params = parameterCount(parameterLayout(c.model));
      const bytes = bufferPlan(c.model, R, c.batch).reduce((sum, e) => sum + Math.max(4, e.floats * 4), 0);
      return { R, params, bytes, tokensPerStep: R * c.batch * c.model.context };
    } catch {
      return { R, params: NaN, bytes: NaN, tokensPerStep: NaN };
    }
  }, [c]);
}

/**
 * The same study from the command line (`npm run compare`, which applies the same warm-up rule), or null
 * when the CLI cannot express it (it takes a task only together with one of that task's presets).
 */
function cliCommand(presetName: string, c: StudyConfig): string | null {
  if (c.task !== presetConfig(presetName).task) return null;
  const args = [`--preset ${presetName}`, `--steps ${c.steps}`, `--batch ${c.batch}`, `--lr ${c.optimizer.lr}`,
    `--mask-ratios ${c.arms.join(',')}`, `--seeds ${c.seedsPerArm}`, `--base-seed ${c.baseSeed}`, `--eval-every ${c.evaluation.every}`];
  if (c.sharedMask) args.push('--shared-mask');
  if (c.protectQuery) args.push('--protect-query');
  return `npm run compare -- ${args.join(' ')}`;
}

function taskGroups(): { task: string; presets: string[] }[] {
  return taskNames().map((task) => ({ task, presets: presetNames().filter((p) => presetConfig(p).task === task) }));
}

/** Everything that defines the study. Edits go to the URL at once; see session.ts for how they reach a study in progress. */
export function ControlsPanel() {
  const { presetName, config, edit } = useConfig();
  const size = useStudySize(config);
  const cli = cliCommand(presetName, config);
  const presetId = useId(), taskId = useId(), sharedId = useId(), protectId = useId();
  const groups = useMemo(taskGroups, []);
  const [copied, setCopied] = useState<string | null>(null);
  const [taskError, setTaskError] = useState<string | null>(null);

  const copyLink = async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      setCopied('Link copied');
    } catch {
      setCopied('Copy the address bar: it holds the whole config');
    }
    setTimeout(() => setCopied(null), 2500);
  };

  return (
    <section className="panel controls" aria-labelledby="controls-title" data-testid="controls-panel">
      <div className="panel-head">
        <h2 id="controls-title">Study</h2>
        <button type="button" className="secondary small" onClick={copyLink} title="The URL holds every value below: a shared link rebuilds this exact study">
          Copy link
        </button>
      </div>
      {copied && <p className="hint" role="status">{copied}</p>}

      <div className="field">
        <label htmlFor={presetId}>Preset</label>
        <select id={presetId} data-testid="select-preset" value={presetName} onChange={(e) => loadPreset(e.target.value)}>
          {groups.map((g) => (
            <optgroup key={g.task} label={g.task}>
              {g.presets.map((p) => <option key={p} value={p}>{p}</option>)}
            </optgroup>
          ))}
        </select>
        <small className="field-help">{describeModel(config)}</small>
      </div>

      <div className="field">
        <label htmlFor={taskId}>Task</label>
        <select id={taskId} data-testid="select-task" value={config.task}
          onChange={(e) => setTaskError(edit('task', e.target.value))}>
          {taskNames().map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        {taskError && <small className="field-error" role="alert">{taskError}</small>}
      </div>

      <div className="field-row">
        <NumberField field="steps" label="Steps" value={config.steps} min={LIMITS.steps.min} max={LIMITS.steps.max} />
        <NumberField field="batch" label="Batch" value={config.batch} min={LIMITS.batch.min} max={LIMITS.batch.max} />
      </div>
      <div className="field-row">
        <NumberField field="lr" label="Learning rate" value={config.optimizer.lr} text step="any"
          help={`peak; warm-up ${config.optimizer.warmupSteps}, cosine to ${config.optimizer.minLrRatio}×`} />
        <NumberField field="evalEvery" label="Evaluate every" value={config.evaluation.every}
          min={LIMITS.evalEvery.min} max={LIMITS.evalEvery.max} help={`steps, on ${config.evaluation.count} prompts`} />
      </div>

      <ArmsEditor />

      <div className="field-row">
        <NumberField field="seedsPerArm" label="Seeds per arm" value={config.seedsPerArm}
          min={LIMITS.seedsPerArm.min} max={LIMITS.seedsPerArm.max} help="same seeds in every arm" />
        <NumberField field="baseSeed" label="Base seed" value={config.baseSeed}
          min={LIMITS.baseSeed.min} max={LIMITS.baseSeed.max} help="init, data and masks" />
      </div>

      <div className="field checkbox">
        <input id={sharedId} type="checkbox" data-testid="input-sharedMask" checked={config.sharedMask}
          onChange={(e) => edit('sharedMask', e.target.checked)} />
        <label htmlFor={sharedId}>Share mask positions across the batch <span className="muted">(as the reference code does)</span></label>
      </div>

      <div className="field checkbox">
        <input id={protectId} type="checkbox" data-testid="input-protectQuery" checked={config.protectQuery === true}
          onChange={(e) => edit('protectQuery', e.target.checked)} />
        <label htmlFor={protectId}>Never mask the query tokens <span className="muted">(retrieval tasks; the paper masks any input but the last)</span></label>
      </div>

      <dl className="facts compact" data-testid="study-size">
        <dt>Runs</dt><dd>{size.R} ({config.arms.length} arms × {config.seedsPerArm} seeds), trained together</dd>
        <dt>Parameters</dt><dd>{formatCount(size.params)} per model</dd>
        <dt>Memory</dt><dd>≈ {formatBytes(size.bytes)} of buffers</dd>
        <dt>Tokens / step</dt><dd>{formatCount(size.tokensPerStep)}</dd>
      </dl>
      <details className="cli">
        <summary>Same study from the command line</summary>
        {cli
          ? <code data-testid="cli-command">{cli}</code>
          : <p className="hint">The command line takes a task only with its own presets: pick a {config.task} preset to get a command.</p>}
      </details>
    </section>
  );
}

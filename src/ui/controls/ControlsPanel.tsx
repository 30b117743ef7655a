import { useId, useMemo, useState } from 'react';
import { useUserText } from '../../store/userText';
import { TextUpload } from './TextUpload';
import { useConfig, loadPreset } from '../../store/config';
import { LIMITS, presetConfig, presetNames, studyOfPreset, studyPresetNames, taskNames } from '../../store/configCodec';
import type { StudyConfig } from '../../config/presets';
import { studySize } from '../../config/studySize';
import { formatBytes, formatCount } from '../format';
import { ArmsEditor } from './ArmsEditor';
import { NumberField } from './NumberField';
import { cliCommand } from './cliCommand';
import { StudyPresetFacts } from './StudyPresetFacts';
import { FinetuneControls } from './FinetuneControls';
import { MaskControls } from './MaskControls';

function describeModel(c: StudyConfig): string {
  const m = c.model;
  return `${m.layers} layers · d ${m.dModel} · ${m.heads} heads · context ${m.context} · vocab ${m.vocabSize}`;
}

/** Size of the edited study, computed from the config alone (the same plan the Worker checks before allocating). */
function useStudySize(c: StudyConfig) {
  return useMemo(() => studySize(c), [c]);
}

/** The preset chooser's groups: the presets by task, then the named studies of `npm run reproduce`. */
function presetGroups(): { label: string; presets: { value: string; label: string }[] }[] {
  const byTask = taskNames().map((task) => ({
    label: task, presets: presetNames().filter((p) => presetConfig(p).task === task).map((p) => ({ value: p, label: p })),
  }));
  const studies = studyPresetNames().map((value) => ({ value, label: studyOfPreset(value) ?? value }));
  return [...byTask, { label: 'Studies (npm run reproduce)', presets: studies }];
}

/** Everything that defines the study. Edits go to the URL at once; see session.ts for how they reach a study in progress. */
export function ControlsPanel() {
  const { presetName, config, edit } = useConfig();
  const size = useStudySize(config);
  const textFileName = useUserText((s) => s.accepted?.name);
  const cli = useMemo(() => cliCommand(presetName, config, textFileName), [presetName, config, textFileName]);
  const presetId = useId(), taskId = useId();
  const groups = useMemo(presetGroups, []);
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
            <optgroup key={g.label} label={g.label}>
              {g.presets.map((p) => <option key={p.value} value={p.value}>{p.label}</option>)}
            </optgroup>
          ))}
        </select>
        <small className="field-help">{describeModel(config)}</small>
        <StudyPresetFacts presetName={presetName} config={config} />
      </div>

      <div className="field">
        <label htmlFor={taskId}>Task</label>
        <select id={taskId} data-testid="select-task" value={config.task}
          onChange={(e) => setTaskError(edit('task', e.target.value))}>
          {taskNames().map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        {taskError && <small className="field-error" role="alert">{taskError}</small>}
      </div>
      <TextUpload />

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

      <MaskControls />

      <FinetuneControls />

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
          : studyOfPreset(presetName) !== null
            ? <p className="hint">This study&apos;s model or evaluation is no command-line preset&apos;s, so <code>npm run compare</code> cannot
              build it with your edits; <code>npm run reproduce -- --study {studyOfPreset(presetName)}</code> runs the study unedited.</p>
            : <p className="hint">The command line takes a task only with its own presets: pick a {config.task} preset to get a command.</p>}
      </details>
    </section>
  );
}

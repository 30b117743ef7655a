import { useEffect, useRef } from 'react';
import { useConfig } from '../store/config';
import { useDevice } from '../store/device';
import { useRuns } from '../store/runs';
import { commands, finetuneEdits } from '../store/session';
import { changedFields, configToQuery, sameConfig, type EditableField } from '../store/configCodec';
import { runLabel } from '../util/palette';
import { canonicalJson } from '../util/canonicalJson';
import type { StudyConfig } from '../config/presets';
import { useSession } from '../store/sessionState';
import { secondsLeft, useProgress } from '../store/progress';
import { formatDuration, formatMs } from './format';

const STATE_TEXT: Record<string, string> = {
  idle: 'ready', building: 'building the study…', running: 'training', paused: 'paused', done: 'finished', failed: 'stopped',
};

/** Every control field's name in words (keyed by EditableField: a new field fails to compile until named). */
const FIELD_NAMES: Record<EditableField, string> = {
  preset: 'preset', task: 'task', steps: 'steps', batch: 'batch', lr: 'learning rate', arms: 'arms',
  seedsPerArm: 'seeds per arm', sharedMask: 'mask sharing', protectQuery: 'query protection',
  replace: 'mask replacement', protect: 'protected segments', baseSeed: 'base seed', evalEvery: 'evaluation interval',
  finetune: 'fine-tuning variants', finetuneSteps: 'fine-tuning steps', finetuneLr: 'fine-tuning learning rate', maskFraction: 'mask fraction',
  minAnswer: 'min answer',
};

/**
 * What the pending edits change, in words: the controls' fields, and the training text of a text study (an
 * upload, which no control field shows); "the study" only for a change neither names.
 */
function describeChanges(changed: readonly string[], before: StudyConfig | undefined, after: StudyConfig): string {
  const names = changed.map((f) => (FIELD_NAMES as Record<string, string>)[f] ?? f);
  if (before?.task === 'text' && after.task === 'text' && !changed.includes('task')
    && canonicalJson((before as StudyConfig<'text'>).taskOptions.source) !== canonicalJson((after as StudyConfig<'text'>).taskOptions.source)) {
    names.push('the training text');
  }
  return names.join(', ') || 'the study';
}

/**
 * Publishes the run bar's height as --runbar-height, so the sticky sidebar starts below it whatever the bar
 * holds (the pending-edits notice, errors): a fixed offset let the bar cover the sidebar.
 */
function useRunBarHeight() {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const bar = ref.current;
    if (!bar || typeof ResizeObserver === 'undefined') return;
    const root = document.documentElement;
    const observer = new ResizeObserver(() => root.style.setProperty('--runbar-height', `${Math.ceil(bar.getBoundingClientRect().height)}px`));
    observer.observe(bar);
    return () => {
      observer.disconnect();
      root.style.removeProperty('--runbar-height');
    };
  }, []);
  return ref;
}

/**
 * Start / Pause / Resume, Step and Reset, the study's progress, and — when the controls hold edits the
 * running study was not built with — the choice to apply them (Reset) or discard them.
 */
export function RunBar() {
  const barRef = useRunBarHeight();
  const deviceStatus = useDevice((s) => s.status);
  const { state, step, study, error, failures } = useRuns();
  const applied = useSession((s) => s.applied);
  const { presetName, config } = useConfig();
  const engineReady = deviceStatus === 'ready' || deviceStatus === 'cpu';
  const pending = applied !== null && !sameConfig(applied.config, config);
  const started = step > 0;
  const totalSteps = study?.config.steps ?? config.steps;
  const waiting = useSession((s) => s.requested !== null);
  const startQueued = useSession((s) => s.then === 'start');
  const busy = state === 'building' || waiting;
  // The fine-tuning stage (qa studies with fine-tuning settings, src/session/finetune.ts).
  const finetuning = study?.stage === 'finetune';
  // Edits of the fine-tuning settings only: Fine-tune applies them (Reset would pretrain again).
  const ftEdits = pending ? finetuneEdits() : null;
  const canFinetune = (!finetuning && study?.config.finetune !== undefined) || ftEdits !== null;
  const finetuneSettings = ftEdits?.finetune ?? study?.config.finetune;
  const finetuneReady = canFinetune && engineReady && !busy && state !== 'running' && state !== 'failed';

  let primary: { label: string; action: () => void; disabled: boolean };
  if (state === 'running') primary = { label: 'Pause', action: commands.pause, disabled: false };
  else if (state === 'paused') primary = { label: 'Resume', action: commands.start, disabled: !engineReady };
  else if (state === 'done') primary = { label: 'Run again', action: commands.runAgain, disabled: !engineReady };
  // Start is usable while the study builds: it starts as soon as the build is done.
  else primary = { label: 'Start', action: commands.start, disabled: !engineReady };
  const { stepTimeMs, samples } = useProgress();
  const secondsToGo = secondsLeft(samples, stepTimeMs, step, totalSteps);
  const estimate = !Number.isFinite(secondsToGo) || state === 'done' || state === 'failed' ? null
    : state === 'running' ? `about ${formatDuration(secondsToGo)} left`
      : stepTimeMs !== null && step === 0 && applied && !pending
        ? `about ${formatDuration(secondsToGo)} for ${totalSteps.toLocaleString('en-US')} steps (${formatMs(stepTimeMs)} per step measured here; evaluations add to it)`
        : null;

  const canStep = engineReady && !busy && state !== 'running' && state !== 'done';
  const canReset = engineReady && !busy && (started || pending || state === 'done' || state === 'failed');
  const changed = pending && applied ? changedFields(applied.presetName, applied.config, presetName, config) : [];
  const progress = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;

  return (
    <div className="runbar" ref={barRef} data-testid="runbar" data-state={state} data-step={step}
      data-applied={applied ? configToQuery(applied.presetName, applied.config) : ''}>
      <div className="runbar-buttons">
        <button type="button" className={`primary${state === 'running' ? ' is-running' : ''}`} data-testid="primary-button"
          onClick={primary.action} disabled={primary.disabled}>
          <span aria-hidden="true" className="icon">{state === 'running' ? '❚❚' : state === 'done' ? '↻' : '▶'}</span> {primary.label}
        </button>
        <button type="button" data-testid="step-button" onClick={commands.step} disabled={!canStep}
          title="One training step of every run">Step</button>
        <button type="button" data-testid="reset-button" onClick={() => commands.reset()} disabled={!canReset}
          title={pending ? 'Back to step 0 with your changes' : 'Back to step 0: the same seeds give the same curves again'}>
          Reset
        </button>
        {canFinetune && (
          <button type="button" data-testid="finetune-button" className={state === 'done' ? 'primary' : undefined}
            onClick={commands.finetune} disabled={!finetuneReady}
            title={`Fine-tune ${finetuning ? 'the same pretrained' : 'the current'} models by ${finetuneSettings?.variants.length} variants (${finetuneSettings?.steps} steps each), from the same weights and examples`}>
            {finetuning ? 'Fine-tune with changes' : 'Fine-tune'}
          </button>
        )}
        {finetuning && (
          <button type="button" className="secondary" data-testid="pretrain-button" onClick={commands.pretrainAgain}
            disabled={!engineReady || busy || state === 'running'} title="Back to the study's pretraining, from step 0">
            Pretrain again
          </button>
        )}
      </div>
      <div className="runbar-status">
        <div className="runbar-line">
          <span className={`state-dot state-${state}`} aria-hidden="true" />
          <span data-testid="run-state">{state === 'building' && startQueued ? 'building, then starting…' : STATE_TEXT[state] ?? state}</span>
          <span className="muted"> · </span>
          {finetuning && <span className="stage-badge" data-testid="run-stage">fine-tuning · </span>}
          <span>{finetuning ? 'fine-tuning step' : 'step'} <strong data-testid="step-count">{step.toLocaleString('en-US')}</strong> / {totalSteps.toLocaleString('en-US')}</span>
          {study && <span className="muted"> · {study.runs.length} runs</span>}
          {!engineReady && deviceStatus === 'probing' && <span className="muted"> · looking for a GPU…</span>}
          {estimate && <span className="muted" data-testid="time-estimate"> · {estimate}</span>}
        </div>
        <div className="progress" role="progressbar" aria-label="Training progress" aria-valuemin={0} aria-valuemax={totalSteps} aria-valuenow={step}>
          <div className="progress-fill" style={{ width: `${(progress * 100).toFixed(2)}%` }} />
        </div>
      </div>
      {pending && started && (
        <div className="notice notice-info runbar-pending" role="status" data-testid="pending-edits">
          <span>
            You changed {describeChanges(changed, applied?.config, config)}. The study on screen keeps
            its config; {ftEdits
              ? <><strong>Fine-tune</strong> applies them to {finetuning ? 'the same pretrained' : 'the current'} models, <strong>Reset</strong> pretrains again from step 0.</>
              : <><strong>Reset</strong> applies your changes from step 0.</>}
          </span>
          <span className="runbar-pending-buttons">
            <button type="button" className="small" onClick={() => commands.reset()} disabled={busy}>Reset &amp; apply</button>
            <button type="button" className="secondary small" onClick={commands.discardEdits}>Discard changes</button>
          </span>
        </div>
      )}
      {canFinetune && !finetuning && state === 'done' && !ftEdits && (
        <div className="notice notice-info" role="status" data-testid="finetune-offer">
          Pretraining is done. <strong>Fine-tune</strong> trains {study!.config.finetune!.variants.map((v) => runLabel({ maskRatio: 0, finetune: v })).join(' and ')} from
          these models on the same examples, and the charts then compare them (exact match, by answer document).
        </div>
      )}
      {error && (
        <div className="notice notice-error" role="alert" data-testid="run-error">{error}</div>
      )}
      {failures.length > 0 && (
        <div className="notice notice-warn" role="status" data-testid="run-failures">
          {failures.map((f) => (
            <div key={f.run}>
              {study?.runs[f.run] ? `${runLabel(study.runs[f.run], study.config.arms)}, seed ${study.runs[f.run].seed}` : `Run ${f.run}`} stopped
              at step {f.step}: {f.message} The other runs go on.
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

import { useState } from 'react';
import {
  deleteCheckpoint, dismissCrash, dismissOffer, dismissRecovery, resumeCheckpoint, saveCheckpointNow, setCheckpointEvery, useCheckpoints,
} from '../store/checkpoints';
import { useRuns } from '../store/runs';
import { useDevice } from '../store/device';
import { useConfig } from '../store/config';
import { formatBytes } from './format';
import './checkpoints.css';
import type { CheckpointSummary, UnreadableCheckpoint } from '../session/protocol';
import { canonicalJson } from '../util/canonicalJson';
import { useSession } from '../store/sessionState';
import { parseDecimal } from '../util/decimal';
import { VARIANT_LABELS } from '../util/palette';
import { finetuneStageConfig } from '../config/finetuneStage';

function timeOf(savedAt: number): string {
  return new Date(savedAt).toLocaleString('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit', month: 'short', day: 'numeric' });
}

function describeStudy(s: CheckpointSummary): string {
  // A fine-tuning stage's checkpoint (src/session/finetune.ts): its steps are fine-tuning steps, its arms × variants.
  const f = s.config.stage === 'finetune' ? s.config.finetune : undefined;
  const arms = f ? `${f.variants.map((v) => VARIANT_LABELS[v] ?? v).join(' vs ')}` : `${s.config.arms.length} arm${s.config.arms.length === 1 ? '' : 's'}`;
  return `${s.presetName || 'custom'} · ${s.config.task}${f ? ' · fine-tuning' : ''} · ${arms} × ${s.config.seedsPerArm} seed${s.config.seedsPerArm === 1 ? '' : 's'} · ${s.config.steps.toLocaleString('en-US')} ${f ? 'fine-tuning ' : ''}steps`;
}

/** "Resume from step N" when a saved study exists (after a reload, a crash, or for another study). */
function ResumeOffer({ offer }: { offer: CheckpointSummary }) {
  const applied = useSession((s) => s.applied);
  const edited = useConfig((s) => s.config);
  const busy = useCheckpoints((s) => s.resuming !== null);
  // "This study": the one on screen (or, while it is being built, the one in the controls).
  const shown = applied?.config ?? edited;
  // The fine-tuning stage of the study on screen (src/session/finetune.ts) is "this study's fine-tuning".
  const stage = offer.config.stage === 'finetune' && shown.finetune && canonicalJson(finetuneStageConfig(shown)) === canonicalJson(offer.config);
  const same = stage || canonicalJson(shown) === canonicalJson(offer.config);
  return (
    <div className="notice notice-info checkpoint-offer" role="status" data-testid="resume-offer" data-step={offer.step}
      data-stage={offer.config.stage === 'finetune' ? 'finetune' : 'pretrain'}>
      <span>
        A saved checkpoint of {stage ? 'this study\'s fine-tuning'
          : same ? (applied?.stageConfig ? 'this study\'s pretraining' : 'this study') : <>another study (<em>{describeStudy(offer)}</em>)</>} is at
        {offer.config.stage === 'finetune' ? ' fine-tuning' : ''} step <strong>{offer.step.toLocaleString('en-US')}</strong> of {offer.config.steps.toLocaleString('en-US')}, saved {timeOf(offer.savedAt)}.
        {!same && ' Resuming loads its settings.'}
      </span>
      <span className="checkpoint-buttons">
        <button type="button" className="small" data-testid="resume-button" disabled={busy} onClick={() => resumeCheckpoint(offer)}>
          Resume from step {offer.step.toLocaleString('en-US')}
        </button>
        <button type="button" className="secondary small" onClick={dismissOffer}>Not now</button>
      </span>
    </div>
  );
}

/** A stored entry that is not a readable checkpoint: said so, with its reason, and deletable. */
function UnreadableEntry({ entry }: { entry: UnreadableCheckpoint }) {
  return (
    <div className="notice notice-warn" role="status" data-testid="unreadable-checkpoint">
      <span><strong>Unreadable checkpoint</strong> in this browser's storage ({entry.problem}). It cannot be resumed.</span>
      <button type="button" className="secondary small" data-testid="delete-unreadable-checkpoint" onClick={() => deleteCheckpoint(entry.key)}>
        Delete it
      </button>
    </div>
  );
}

/**
 * Checkpoints of the comparison (autosaved by the Worker every N steps, on demand and when the tab is
 * hidden), the resume offer after a reload, and what happened on a device loss or a Worker crash.
 */
export function CheckpointPanel() {
  const { offer, last, lastStored, problem, everySteps, store, notice, recovery, crash, resuming, unreadable } = useCheckpoints();
  const { state, step } = useRuns();
  const engineReady = useDevice((s) => s.status === 'ready' || s.status === 'cpu');
  const [everyText, setEveryText] = useState(String(everySteps));
  const [everyError, setEveryError] = useState<string | null>(null);
  const canSave = engineReady && step > 0 && state !== 'building' && state !== 'failed' && !resuming;

  const applyEvery = () => {
    // As strict as a link's value: "0x10" or "" is refused, not read as 16 or 0.
    const error = setCheckpointEvery(parseDecimal(everyText.trim()) ?? Number.NaN);
    setEveryError(error);
    if (error) setEveryText(String(useCheckpoints.getState().everySteps));
  };

  return (
    <section className="checkpoint-panel" aria-label="Checkpoints" data-testid="checkpoint-panel"
      data-last-step={last?.step ?? ''} data-store={store ?? ''}>
      {crash && (
        <div className="notice notice-error" role="alert" data-testid="worker-crash">
          <span>
            <strong>The training worker stopped</strong> ({crash.message.replace(/^The training worker failed: /, '')}).{' '}
            {crash.restarted
              ? 'A new one was started; resume from the last checkpoint below, or Start a new study.'
              : 'It stopped again too soon to restart it; reload the page (the last checkpoint will be offered).'}
          </span>
          <button type="button" className="link" aria-label="Dismiss" onClick={dismissCrash}>×</button>
        </div>
      )}
      {recovery && (
        <div className={`notice ${recovery.phase === 'failed' ? 'notice-error' : 'notice-warn'}`} role="status"
          data-testid="device-recovery" data-phase={recovery.phase}>
          <span>
            {recovery.phase === 'recovering' && <strong>GPU device lost. </strong>}
            {recovery.phase === 'recovered' && <strong>GPU device lost and recovered. </strong>}
            {recovery.phase === 'failed' && <strong>GPU device lost. </strong>}
            {recovery.message}
          </span>
          {recovery.phase !== 'recovering' && <button type="button" className="link" aria-label="Dismiss" onClick={dismissRecovery}>×</button>}
        </div>
      )}
      {unreadable.map((entry, i) => <UnreadableEntry key={`${i}:${entry.key}`} entry={entry} />)}
      {offer && <ResumeOffer offer={offer} />}
      {resuming && <div className="notice notice-info" role="status" data-testid="resuming">Resuming from step {resuming.step.toLocaleString('en-US')}…</div>}
      {notice && !resuming && <div className="muted checkpoint-notice" data-testid="checkpoint-notice">{notice}</div>}
      <div className="checkpoint-line">
        <span className="checkpoint-title">Checkpoints</span>
        <label className="checkpoint-every">
          every{' '}
          <input type="number" min={1} step={1} value={everyText} aria-label="Checkpoint every N steps" data-testid="checkpoint-every"
            onChange={(e) => setEveryText(e.target.value)} onBlur={applyEvery}
            onKeyDown={(e) => { if (e.key === 'Enter') applyEvery(); }} />{' '}
          steps
        </label>
        <span className="muted" data-testid="checkpoint-status">
          {last
            ? <>last saved at step <strong>{last.step.toLocaleString('en-US')}</strong> ({timeOf(last.savedAt)}, {formatBytes(last.bytes)}
              {lastStored ? (store === 'indexeddb' ? ', in this browser' : ', in memory') : ', in memory only'})</>
            : 'nothing saved for this study yet'}
        </span>
        <button type="button" className="secondary small" data-testid="save-checkpoint" disabled={!canSave} onClick={saveCheckpointNow}
          title="Save the whole comparison now: weights, optimizer state, data generators and curves">
          Save now
        </button>
      </div>
      {everyError && <div className="checkpoint-problem" role="alert">{everyError}</div>}
      {problem && <div className="notice notice-warn checkpoint-problem" role="status" data-testid="checkpoint-problem">{problem}</div>}
    </section>
  );
}

/**
 * The page's side of a training session: routes the Worker's messages to the stores and turns the
 * buttons into protocol commands.
 *
 * Edits and a study in progress: while the study has taken steps, edits are kept (in the controls and the
 * URL) but not applied; the study goes on with the config it was built from and the page says so. Reset
 * applies them (a new study from step 0). With no step taken yet, Start and Step build the edited study
 * first and then start (or step) it. So the curves on screen always belong to one config: the one in
 * `useSession.applied`, which the Worker echoed back when it built the study.
 */
import type { FromTrainer, TrainingState } from '../session/protocol';
import { sendToTrainer, subscribeToTrainer } from './trainer';
import { receiveDeviceMessage, selfTestStarted } from './device';
import { receiveRunsMessage, useRuns } from './runs';
import { loadPreset, startUrlSync, useConfig } from './config';
import { sameConfig } from './configCodec';
import { connectCheckpoints, receiveCheckpointMessage } from './checkpoints';
import { useSession, type SessionState } from './sessionState';
import { receiveProgressMessage } from './progress';
import type { StudyConfig } from '../config/presets';
import { pretrainStageConfig } from '../config/finetuneStage';


/**
 * Presets for slow engines: the CPU fallback trains `tiny` (the largest it accepts); a software WebGPU
 * adapter trains `quick`, the same model with a batch large enough to show a retrieval jump in minutes.
 */
const CPU_PRESET = 'tiny';
const SOFTWARE_ADAPTER_PRESET = 'quick';

function configure(then: SessionState['then'] = null): void {
  const { presetName, config } = useConfig.getState();
  useSession.setState({ requested: { presetName, config: structuredClone(config) }, then });
  // The page's schedule: an evaluation at step 0, early evaluations and a timed step (the CLI has none).
  sendToTrainer({ type: 'configure', config: structuredClone(config), presetName, pageSchedule: true });
}

/** Whether the controls hold edits the current study was not built with. */
export function hasPendingEdits(): boolean {
  const { applied } = useSession.getState();
  return applied !== null && !sameConfig(applied.config, useConfig.getState().config);
}

/**
 * The controls' config when it differs from the study on screen only in its fine-tuning settings — what
 * Fine-tune then applies (to the current models, or in the fine-tuning stage to the same pretrained ones) —
 * else null.
 */
export function finetuneEdits(): StudyConfig | null {
  const { applied } = useSession.getState();
  const edited = useConfig.getState().config;
  if (!applied || !edited.finetune || sameConfig(applied.config, edited)) return null;
  try {
    return sameConfig(pretrainStageConfig(applied.config), pretrainStageConfig(edited)) ? edited : null;
  } catch {
    return null;
  }
}

/** Whether the next step needs a (re)build first: nothing built, a failed build, or edits made at step 0. */
function needsBuild(): boolean {
  const { applied } = useSession.getState();
  const { state, step } = useRuns.getState();
  if (applied === null || state === 'failed') return true;
  return step === 0 && hasPendingEdits();
}

/**
 * Builds the edited study, then starts (or steps) it — in the fine-tuning stage at its step 0 with only the
 * fine-tuning settings edited, by fine-tuning the same pretrained models by them rather than pretraining again.
 */
function buildThen(then: 'start' | 'step'): void {
  if (useRuns.getState().study?.stage === 'finetune' && finetuneEdits()) {
    useSession.setState({ then });
    commands.finetune();
  } else {
    configure(then);
  }
}

function busy(): boolean {
  const { state } = useRuns.getState();
  return state === 'building' || useSession.getState().requested !== null;
}

export const commands = {
  /** Start, or resume after a pause. */
  start(): void {
    const { state } = useRuns.getState();
    if (state === 'running' || state === 'done') return;
    if (busy()) {
      useSession.setState({ then: 'start' });
      return;
    }
    if (needsBuild()) buildThen('start');
    else sendToTrainer({ type: 'start' });
  },
  pause(): void {
    if (useRuns.getState().state === 'running') sendToTrainer({ type: 'pause' });
    useSession.setState({ then: null });
  },
  /** One training step of every run. */
  step(): void {
    const { state } = useRuns.getState();
    if (state === 'running' || state === 'done' || busy()) return;
    if (needsBuild()) buildThen('step');
    else sendToTrainer({ type: 'step' });
  },
  /** Back to step 0; applies pending edits (a new study) or replays the same one. */
  reset(then: SessionState['then'] = null): void {
    const { applied } = useSession.getState();
    if (applied === null || hasPendingEdits() || useRuns.getState().state === 'failed') {
      configure(then);
    } else {
      useSession.setState({ requested: applied, then });
      sendToTrainer({ type: 'reset' });
    }
  },
  /** After the last step: the same study again from step 0 (with any pending edits), started. */
  runAgain(): void {
    if (!busy()) commands.reset('start');
  },
  /** Puts the controls back to the study being trained. */
  discardEdits(): void {
    const { applied } = useSession.getState();
    if (applied) useConfig.getState().replace(applied.presetName, applied.config);
  },
  /**
   * The fine-tuning stage of the study on screen (a qa study with fine-tuning settings): the Worker builds it
   * from the current models (paused at its step 0; Start trains it).
   */
  finetune(): void {
    const { state } = useRuns.getState();
    if (state === 'running' || busy()) return;
    const edits = finetuneEdits();
    sendToTrainer({ type: 'finetune', ...(edits ? { study: structuredClone(edits) } : {}) });
  },
  /** From the fine-tuning stage back to the study's pretraining, from step 0 (with any pending edits). */
  pretrainAgain(): void {
    if (!busy()) configure();
  },
  runSelfTest(): void {
    selfTestStarted();
    sendToTrainer({ type: 'selftest' });
  },
};

function onBuilt(message: Extract<FromTrainer, { type: 'built' }>): void {
  const { requested, then, applied } = useSession.getState();
  // In the fine-tuning stage the controls keep the study's config (`study`); the stage's is what trains.
  const study = message.study ?? message.config;
  const known = (c: { config: StudyConfig } | null) => c !== null && (sameConfig(c.config, study) || sameConfig(c.config, message.config));
  const presetName = known(requested) ? requested!.presetName : known(applied) ? applied!.presetName : useConfig.getState().presetName;
  const stageConfig = message.stage === 'finetune' ? { stageConfig: message.config } : {};
  useSession.setState({ applied: { presetName, config: study, ...stageConfig }, requested: null, then: null });
  if (then === 'start') sendToTrainer({ type: 'start' });
  if (then === 'step') sendToTrainer({ type: 'step' });
}

/**
 * Start (or Step) pressed after 'built' but before the Worker finished the build's last part (the timed
 * step) waits in `then` until the study is idle: nothing else would send it.
 */
function onState(state: TrainingState): void {
  const { requested, then } = useSession.getState();
  if (state === 'failed') useSession.setState({ requested: null, then: null });
  else if (state === 'idle' && requested === null && then !== null) {
    useSession.setState({ then: null });
    sendToTrainer({ type: then });
  }
}

function route(message: FromTrainer): void {
  receiveCheckpointMessage(message);
  receiveProgressMessage(message);
  switch (message.type) {
    case 'engine': onEngine(message); break;
    case 'built': onBuilt(message); break;
    // A refused config (error while not building) or a failed build: nothing waits for it any more.
    case 'error': if (useRuns.getState().state !== 'building') useSession.setState({ requested: null, then: null }); break;
    case 'state': onState(message.state); break;
    // The Worker is gone; a new one is started (src/store/checkpoints.ts) and nothing waits any more.
    case 'crashed': useSession.setState({ requested: null, then: null }); break;
    default: break;
  }
  if (receiveDeviceMessage(message)) return;
  receiveRunsMessage(message);
}

/** First contact: pick a preset that suits a slow engine for a plain visit, then build the study. */
function onEngine(message: Extract<FromTrainer, { type: 'engine' }>): void {
  if (useSession.getState().applied !== null || useSession.getState().requested !== null) return;
  const config = useConfig.getState();
  const small = message.engine === 'cpu' ? CPU_PRESET : message.adapter?.isFallbackAdapter === true ? SOFTWARE_ADAPTER_PRESET : null;
  if (small !== null && !config.fromLink && config.presetName !== small) {
    try {
      loadPreset(small);
      // Without WebGPU the engine banner already says so and names the tiny preset: one message, not two.
      if (message.engine !== 'cpu') config.addNotice('This adapter is a software renderer (slow), so the page chose the quick preset. Pick a larger one at will.');
    } catch {
      // No tiny preset: keep the default.
    }
  }
  configure();
}

let connected = false;

/** Connects the stores to the training Worker, keeps the URL in sync and asks for the engine. */
export function connectSession(): void {
  if (connected) return;
  connected = true;
  startUrlSync();
  connectCheckpoints();
  subscribeToTrainer(route);
  sendToTrainer({ type: 'init', allowCpuFallback: true });
}

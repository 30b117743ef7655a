/**
 * The fine-tuning stage in the training session (src/session/session.ts): a qa study with `finetune`
 * (src/config/finetuneStage.ts) is pretrained as usual (stage 1); 'finetune' then takes every run's current
 * weights as the pretrained base and builds stage 2 — the stage's own config (finetuneStageConfig: arms ×
 * variants × seeds, the fine-tuning steps and learning rate) — from them, on the same engine kind (WebGPU or
 * the CPU fallback), trained by the same loop, reported and checkpointed like any study.
 *
 * What the session keeps here (SessionStages):
 * - the stage shown ('pretrain' | 'finetune'), said in 'built' and 'state';
 * - the study's own config (`study`, the config with `finetune` that stage 2 came from), sent in 'built' so the
 *   page keeps its controls, and written into stage-2 checkpoints (SessionExtra.study) so a resumed stage 2
 *   knows it;
 * - the pretrained base (every stage-1 run's weights), so that Reset, a device loss without a checkpoint yet
 *   and a kernel rebuild can build stage 2 again. A resumed stage-2 checkpoint finds its base in the study's own
 *   checkpoint when that is still at the step the base was taken (SessionExtra.baseStep: `recoverBase`);
 *   otherwise its weights come from the checkpoint alone (the base is a placeholder the restored state
 *   overwrites at once), and Reset then goes back to the study's pretraining.
 *
 * Checkpoints: a stage's key is its config's (src/session/checkpointKeys.ts), and stage 2's config differs
 * from the study's (`stage: 'finetune'`, its steps), so stage 2's autosaves never replace stage 1's.
 */
import type { StudyConfig } from '../config/presets';
import { finetuneStageConfig, isFinetuneStage, runCount } from '../config/finetuneStage';
import type { EngineKind } from '../engine/types';
import { checkpointKey } from './checkpointKeys';
import { validateStudyConfig } from '../config/validate';
import type { StudyEngine } from '../engine/studyEngine';
import { errorMessage } from '../util/errorMessage';
import { parameterLayout } from '../model/layout';
import { canonicalJson } from '../util/canonicalJson';
import type { SessionExtra } from './checkpointExtra';
import type { CheckpointKeeper, SavedStudy } from './checkpointKeeper';
import type { StudyStage, TrainingState } from './protocol';

/** Stage 2's initial weights: the pretrained weights of (pretraining arm, seed), [P]. */
export type BaseWeights = (baseArm: number, seed: number) => Float32Array;

/** The pretrained models stage 2 starts from. */
export interface PretrainedBase {
  /** The study's config (stage 1, with `finetune`) they were trained by. */
  study: StudyConfig;
  /** Every stage-1 run's weights, [R1 · P], run r = arm · seedsPerArm + seed. */
  weights: Float32Array;
  P: number;
  /** The pretraining step they were taken at. */
  step: number;
}

export function stageOf(config: StudyConfig): StudyStage {
  return isFinetuneStage(config) ? 'finetune' : 'pretrain';
}

const same = (a: StudyConfig, b: StudyConfig) => canonicalJson(a) === canonicalJson(b);

/** Why a study of `config` may not be configured directly (a stage-2 config: it is built by 'finetune'), or null. */
export function configureRefusal(config: StudyConfig): string | null {
  return isFinetuneStage(config)
    ? 'a fine-tuning stage is built from pretrained models: configure the study itself and send \'finetune\' once it is trained.'
    : null;
}

/**
 * Why the session cannot fine-tune now, or null. `study`: fine-tuning settings edited since the study was
 * built (the study's config with other `finetune`; see enterFinetune).
 */
export function finetuneRefusal(
  config: StudyConfig | undefined, engine: StudyEngine | undefined, state: TrainingState, stages: SessionStages, study?: StudyConfig,
): string | null {
  if (!config || !engine) return 'configure a study first.';
  if (state === 'building') return 'the study is still being built.';
  if (isFinetuneStage(config) && (!study || !stages.base)) {
    return study ? 'the pretrained models this fine-tuning started from are no longer in this session: pretrain the study again.'
      : 'the study on screen is already its fine-tuning stage (Reset fine-tunes again from the same pretrained models).';
  }
  const pretrained = isFinetuneStage(config) ? stages.base!.study : config;
  if (study) {
    try {
      validateStudyConfig(study);
    } catch (error) {
      return errorMessage(error);
    }
    if (isFinetuneStage(study) || !same(withoutFinetune(study), withoutFinetune(pretrained))) {
      return 'the edits change more than the fine-tuning settings: Reset applies them (pretraining again).';
    }
  }
  if (!(study ?? config).finetune) return 'this study has no fine-tuning stage: choose a qa study with fine-tuning settings (e.g. the qa-tiny preset).';
  if (state === 'failed' && !isFinetuneStage(config)) return 'every run has stopped; there is no trained model to fine-tune.';
  return null;
}

/** A study config without its fine-tuning settings (what pretraining depends on). */
function withoutFinetune(config: StudyConfig): StudyConfig {
  const { finetune: _finetune, stage: _stage, ...rest } = config;
  return rest;
}

/** Every run's current weights as stage 2's base (both engines: read from the engine's state). */
export async function takePretrainedBase(engine: StudyEngine): Promise<PretrainedBase> {
  const { params } = await engine.saveState();
  const weights = params instanceof Float32Array ? params.slice() : Float32Array.from(params);
  return { study: structuredClone(engine.config), weights, P: weights.length / engine.R, step: engine.step };
}

/** The study config of a stage-2 checkpoint's extra when it is one and stage 2 of it is `config`, else null. */
function studyOfExtra(extra: SessionExtra | undefined, config: StudyConfig): StudyConfig | null {
  const study = extra?.study;
  if (!study) return null;
  try {
    validateStudyConfig(study);
    return same(finetuneStageConfig(study), config) ? structuredClone(study) : null;
  } catch {
    return null;
  }
}

export class SessionStages {
  /** The stage the session's study is (set by `prepare` at every build). */
  stage: StudyStage = 'pretrain';
  /** The study's own config: the config in pretraining, the config stage 2 came from in the fine-tuning stage. */
  study: StudyConfig | undefined;
  /** The pretrained models of the last 'finetune' (kept for Reset, device loss and kernel rebuilds). */
  base: PretrainedBase | null = null;

  /** The base weights of stage `config` when this session holds them. */
  private weightsOf(config: StudyConfig): BaseWeights | null {
    const base = this.base;
    if (!base || !same(finetuneStageConfig(base.study), config)) return null;
    const { weights, P } = base, seeds = base.study.seedsPerArm;
    return (arm, seed) => weights.subarray((arm * seeds + seed) * P, (arm * seeds + seed + 1) * P);
  }

  /**
   * Before a study of `config` is built: which stage and study it is, and the base weights its engine is
   * created with (undefined in pretraining). `restoring`: a checkpoint's state replaces the weights at once,
   * so without a base a placeholder does; without either the build is refused (thrown).
   */
  prepare(config: StudyConfig, restoring: SavedStudy | undefined): BaseWeights | undefined {
    this.stage = stageOf(config);
    if (this.stage === 'pretrain') {
      this.study = config;
      return undefined;
    }
    const weights = this.weightsOf(config);
    this.study = weights ? structuredClone(this.base!.study) : studyOfExtra(restoring?.extra, config) ?? this.study ?? studyOfStage(config);
    if (weights) return weights;
    if (!restoring) {
      throw new Error('The pretrained models this fine-tuning started from are no longer in this session: pretrain the study again, then fine-tune.');
    }
    const zeros = new Float32Array(parameterLayout(config.model).P);
    return () => zeros;
  }

  /** The base weights of the current stage for a rebuild from saved state (a kernel switch), or undefined. */
  rebuildWeights(config: StudyConfig): BaseWeights | undefined {
    if (!isFinetuneStage(config)) return undefined;
    const weights = this.weightsOf(config);
    if (weights) return weights;
    const zeros = new Float32Array(parameterLayout(config.model).P);
    return () => zeros;
  }

  /** What Reset builds: the same stage again, or — a stage 2 whose base this session lacks — the study's pretraining. */
  resetConfig(config: StudyConfig): StudyConfig {
    if (!isFinetuneStage(config) || this.weightsOf(config)) return config;
    return structuredClone(this.study?.finetune ? this.study : studyOfStage(config));
  }

  /** The fields 'built' adds. */
  built(config: StudyConfig): { stage: StudyStage; study: StudyConfig } {
    return { stage: this.stage, study: structuredClone(this.stage === 'finetune' && this.study ? this.study : config) };
  }

  /** A checkpoint's session extra: in stage 2 it carries the study config. */
  extra(extra: SessionExtra): SessionExtra {
    if (this.stage !== 'finetune' || !this.study) return extra;
    const base = this.base && same(this.base.study, this.study) ? { baseStep: this.base.step } : {};
    return { ...extra, study: structuredClone(this.study), ...base };
  }

  /**
   * Before a stage-2 checkpoint is resumed: its pretrained models, from the study's own checkpoint in the store
   * when that one is still the one they were taken from (same study, at the base step), so that Reset and
   * fine-tuning edits work after a reload too. Nothing is found otherwise (Reset then pretrains again).
   */
  async recoverBase(saved: SavedStudy, kind: EngineKind, checkpoints: CheckpointKeeper): Promise<void> {
    const config = saved.checkpoint.state.config;
    const study = isFinetuneStage(config) ? studyOfExtra(saved.extra, config) : null;
    const baseStep = saved.extra.baseStep;
    if (!study || baseStep === undefined || (this.base && same(this.base.study, study))) return;
    const found = await checkpoints.fetch(checkpointKey(kind, study));
    if ('refusal' in found) return;
    const opened = checkpoints.open(found.record, kind);
    if ('refusal' in opened || opened.saved.checkpoint.state.step !== baseStep || !same(opened.saved.checkpoint.state.config, study)) return;
    const { params } = opened.saved.checkpoint.state;
    const weights = Float32Array.from(params);
    this.base = { study, weights, P: weights.length / runCount(study), step: baseStep };
  }
}

/**
 * A stage config's study when nothing better is known (an old stage-2 checkpoint without `study`): the stage
 * config without `stage` — its steps and learning rate are the fine-tuning ones, the best guess there is.
 */
function studyOfStage(config: StudyConfig): StudyConfig {
  const { stage: _stage, ...rest } = config;
  return structuredClone(rest);
}

/** The session's side of 'finetune' (it owns the engine, the loop and the build). */
export interface FinetuneHost {
  config: StudyConfig | undefined;
  engine: StudyEngine | undefined;
  state: TrainingState;
  stages: SessionStages;
  /** Throws when the engine kind cannot train stage `config` (the CPU fallback's size limit). */
  check(config: StudyConfig): unknown;
  stopLoop(): void;
  /** Saves stage 1 when it has steps no checkpoint holds yet. */
  saveUnsaved(): Promise<void>;
  build(config: StudyConfig): Promise<void>;
  refuse(message: string): void;
}

/**
 * 'finetune': stops training, saves stage 1 (so a reload can come back to it), takes every run's weights as
 * the base and builds stage 2 from them (paused at step 0: 'built' with stage 'finetune', then 'state' idle).
 * With `study` (the same study with other fine-tuning settings): stage 2 by those settings — from the current
 * models in pretraining, or in the fine-tuning stage from the same pretrained models again.
 */
export async function enterFinetune(host: FinetuneHost, study?: StudyConfig): Promise<void> {
  const refusal = finetuneRefusal(host.config, host.engine, host.state, host.stages, study);
  if (refusal) return host.refuse(`Cannot fine-tune: ${refusal}`);
  const inStage2 = isFinetuneStage(host.config!);
  const target = structuredClone(study ?? host.config!);
  const stage = finetuneStageConfig(target);
  try {
    host.check(stage); // before anything changes: the study on screen stays as it is
  } catch (error) {
    return host.refuse(`Cannot fine-tune: ${errorMessage(error)}`);
  }
  host.stopLoop();
  if (inStage2) {
    host.stages.base = { ...host.stages.base!, study: target };
  } else {
    await host.saveUnsaved();
    host.stages.base = { ...(await takePretrainedBase(host.engine!)), study: target };
  }
  await host.build(stage);
}

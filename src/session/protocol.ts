/**
 * The typed message protocol between the page and the training Worker. The Worker owns the GPU; the
 * page only sends commands and renders what comes back. Large arrays travel as transferables.
 */
import type { StudyConfig } from '../config/presets';
import type { CheckpointReason, CheckpointSummary, UnreadableCheckpoint } from './checkpointStore';
import type { MetricHistory } from './checkpointExtra';
import type { EngineKind, HistoryPoint, RunInfo } from '../engine/types';
import type { AdapterReport } from '../gpu/context';
import type { KernelChoiceReport } from '../tuning/autotune';
import type { KernelCheck } from '../selftest/harness';
import type { ModelConfig } from '../model/config';
import type { AttentionRecord } from '../engine/modelAnalysis';
import type { TrainingBatch } from '../engine/studyEngine';


export type TrainingState = 'idle' | 'building' | 'running' | 'paused' | 'done' | 'failed';

/**
 * Which stage of a study the session trains and shows: pretraining (every study), or the fine-tuning stage of a
 * qa study with `finetune` (src/config/finetuneStage.ts), built by 'finetune' from the pretrained models.
 */
export type StudyStage = 'pretrain' | 'finetune';

/** Page → Worker. */
export type ToTrainer =
  /** Find the adapter (or fall back to the CPU engine) and report it. */
  | { type: 'init'; allowCpuFallback: boolean }
  /** Build a study from the config (disposing any previous one); nothing trains until 'start'. */
  | {
    type: 'configure'; config: StudyConfig;
    /** The page's name for the config (stored with its checkpoints, to restore the controls on resume). */
    presetName?: string;
    /**
     * The page's schedule (src/session/pageSchedule.ts): an evaluation at step 0, early evaluations and a
     * timed step ('stepTime'). The CLI sends none, so its histories are unchanged.
     */
    pageSchedule?: boolean;
  }
  | { type: 'start' }
  | { type: 'pause' }
  /** One training step while paused or idle. */
  | { type: 'step' }
  /**
   * Back to step 0 with the same config (same seeds: the same curves again). In the fine-tuning stage: the
   * fine-tuning again from the same pretrained weights (or, when the session no longer holds them — a resumed
   * stage-2 checkpoint —, the study's pretraining from step 0).
   */
  | { type: 'reset' }
  /**
   * The fine-tuning stage of the current study (a qa study with `finetune`): every run's current weights become
   * the pretrained base, and stage 2 (arms × variants × seeds) is built from them, paused at step 0 ('built'
   * with stage 'finetune'). A pretraining study not yet finished is saved first. `study`: the same study with
   * other fine-tuning settings (edited since it was built; anything else edited is refused): stage 2 by those —
   * in the fine-tuning stage, from the same pretrained models again.
   */
  | { type: 'finetune'; study?: StudyConfig }
  /** Attention snapshot of evaluation example `example` for run `run` (see AttentionSnapshot). */
  | { type: 'probe'; run: number; example: number }
  /**
   * The report's attention analyses on every run's current model (answered by 'attentionAnalysis'): the
   * first `examples` evaluation examples (or zero-shot probe prompts), as `npm run reproduce` does at the end.
   */
  | { type: 'analyseAttention'; requestId: number; examples: number }
  /** Greedy continuation and top next-token probabilities of every run for a prompt of token ids. */
  | { type: 'generate'; requestId: number; prompt: number[]; maxTokens: number }
  /** The batch of the last training step, every run (answered by 'batch'): what the batch viewer shows. */
  | { type: 'batch'; requestId: number }
  | { type: 'selftest' }
  /** Save a checkpoint of the study now ('hidden': the tab was hidden; nothing is said when nothing is new). */
  | { type: 'checkpoint'; reason?: 'manual' | 'hidden' }
  /** Autosave every `everySteps` steps and after at most `maxIntervalMs` of training (defaults 100, 30 s). */
  | { type: 'checkpointSettings'; everySteps: number; maxIntervalMs?: number }
  /** The checkpoints in the store (answered by 'checkpoints'). */
  | { type: 'listCheckpoints' }
  /** Rebuild the study of a stored checkpoint and continue from it (paused at its step). */
  | { type: 'resume'; key: string }
  | { type: 'deleteCheckpoint'; key: string }
  /** One run's model as files (answered by 'modelFiles'); with `onnx`, also the ONNX model and a probe to check it. */
  | { type: 'exportModel'; requestId: number; run: number; onnx: boolean }
  /** Read an uploaded model (answered by 'modelRead'): what it holds, and whether it fits the study. */
  | { type: 'readModel'; requestId: number; upload: ModelUpload }
  /** Replace run `run`'s weights by an uploaded model of the study's shape (moments zeroed; answered by 'modelLoaded'). */
  | { type: 'loadModel'; requestId: number; run: number; upload: ModelUpload }
  /**
   * Check an uploaded text for the text task as the CLI's --text-file is (answered by 'textChecked'): size,
   * binary, empty, `alphabet`, long enough for `context`. The page sends the file; only the Worker reads it.
   */
  | { type: 'checkText'; requestId: number; file: Blob; name: string; alphabet: string; context: number }
  /** Test hook: destroys the GPU device, as a driver reset would (the session then recovers). */
  | { type: 'simulateDeviceLoss' };

/** One run's model files, built in the Worker. */
export interface ModelFiles {
  run: number;
  step: number;
  engine: EngineKind;
  /** model.safetensors (Hugging Face LLaMA names, see src/export/safetensors.ts) and its config.json text. */
  safetensors: Uint8Array;
  configJson: string;
  /** The ONNX model (src/export/onnx.ts), when asked for. */
  onnx: Uint8Array | null;
  /**
   * The engine's own forward on a probe sequence, to compare the ONNX model against: `tokens` (T ids, batch 1)
   * and the same as the ONNX model's int64 input named `inputName`, the logits rows computed (`rows`), their
   * logits [rows, vocab], and the name of the ONNX model's logits output.
   */
  probe: {
    tokens: number[]; inputIds: BigInt64Array; inputName: string; logitsName: string;
    rows: number[]; vocab: number; logits: Float32Array;
  } | null;
}

/** A model the user chose, as the page read it: the Worker parses and checks it (src/session/modelFiles.ts). */
export interface ModelUpload {
  /** model.safetensors's file name (for messages) and bytes. */
  name: string;
  safetensors: Uint8Array;
  /** Its config.json, when one was chosen with it. */
  configJson: { name: string; text: string } | null;
}

/** What an uploaded model holds (the answer to 'readModel'). */
export interface UploadedModel {
  config: ModelConfig;
  parameterCount: number;
  /** The study it was trained in, when the file says so. */
  study: { task: string; steps: number } | null;
  /** The file's `meap_run` metadata (run, arm, seed, step), when present. */
  meapRun: string | null;
  /** Whether it has the current study's model shape (and so can replace a run's weights), and if not, how it differs. */
  fits: boolean;
  mismatch: string | null;
}

/** An evaluation example, as the pickers show it. */
export interface ExampleInfo {
  index: number;
  bucket: number;
  /** Input tokens up to and including the answer position (the prompt that should produce the answer). */
  prompt: number[];
  answer: number;
  /**
   * Retrieval tasks: the same prompt with its query key swapped for a key it does not hold (src/data/retrievalTokens.ts
   * keySwappedPrompt): a model that reads the key cannot answer it from the context; one that copies the value can.
   */
  keySwapped?: number[];
}

/** What the page shows of the study's task; built in the Worker from the task itself (the page builds no task). */
export interface TaskView {
  /** Segment names by segment label (AttentionSnapshot.segments); the labels below `inputSegments` mark input tokens. */
  segmentNames: string[];
  /** How many segments label input tokens (the rest, the answer, is only ever predicted). */
  inputSegments: number;
  /** The visible name of every token id (vocabulary order). */
  tokenNames: string[];
  /**
   * Character tasks: how prompts are typed and shown. `texts[id]` is the text of id as the task decodes it,
   * `unknownId` what a character outside the alphabet becomes. null: prompts are space-separated token names.
   */
  characters: { texts: string[]; unknownId: number } | null;
  /** What an evaluation bucket stands for ('' when the task has no retrieval answers). */
  bucketLabel: string;
  /** The first evaluation examples (at most 100: src/session/taskView.ts), the very ones 'probe' shows. */
  examples: ExampleInfo[];
}

/** One attention snapshot: the same example through the clean and the masked input, for one run. */
export interface AttentionSnapshot {
  step: number;
  run: number;
  example: number;
  T: number;
  layers: number;
  heads: number;
  /** Input tokens (T) and their segment labels (see SEGMENT_NAMES). */
  tokens: number[];
  tokenNames: string[];
  segments: number[];
  /** Input positions masked in the paired analysis (chosen deterministically, never T − 1). */
  maskedPositions: number[];
  /** Input position whose prediction is the answer. */
  answerPosition: number;
  /** [layers, heads, T, T] on the clean input, and on the input with `maskedPositions` masked. */
  clean: Float32Array;
  masked: Float32Array;
}

export interface GenerationResult {
  requestId: number;
  /** Per run: the greedy continuation (token ids) and the top next-token candidates after the prompt. */
  runs: { continuation: number[]; top: { token: number; probability: number }[] }[];
}

/** Worker → page. */
export type FromTrainer =
  | {
    type: 'engine'; engine: EngineKind; adapter: AdapterReport | null; notice: string | null;
    /** WebGPU only: the kernel variants chosen by measurement at start-up, and the measurements. */
    kernels?: KernelChoiceReport;
  }
  | {
    type: 'built'; runs: RunInfo[]; parameterCount: number; memoryBytes: number;
    /** What the engine trains: the study's config, or in the fine-tuning stage the stage's (finetuneStageConfig). */
    config: StudyConfig;
    task: TaskView;
    /**
     * The stage shown (absent: 'pretrain'), and the study's own config (absent: `config`; in the fine-tuning
     * stage the config, with `finetune`, that stage 2 came from). The session always sends both.
     */
    stage?: StudyStage; study?: StudyConfig;
  }
  /** With the page's schedule: the measured time of one training step of the built study (the estimate before Start). */
  | { type: 'stepTime'; msPerStep: number }
  /**
   * The background kernel measurement's choice, applied between steps; `switchedAtStep`: the step at which the
   * study's engine was rebuilt with the new variants (null when nothing changed).
   */
  | { type: 'kernels'; kernels: KernelChoiceReport; switchedAtStep: number | null }
  /** `stage`: set in the fine-tuning stage only (absent: pretraining). */
  | { type: 'state'; state: TrainingState; step: number; stage?: StudyStage }
  /** Training loss of every run, averaged over the steps since the last message (sent every few steps). */
  | {
    type: 'trainLoss'; step: number; losses: number[]; stepsPerSecond: number; tokensPerSecond: number;
    /** Per run: mean gradient norm before clipping over the interval (NaN: frozen, or none finite); the learning rate at `step`. */
    gradNorms?: number[]; learningRate?: number;
  }
  /** Evaluation of every run on the held-out set (clean inputs), with each run's parameter L2 norm. */
  | { type: 'evaluation'; step: number; points: HistoryPoint[]; weightNorms?: number[] }
  | { type: 'attention'; snapshot: AttentionSnapshot }
  /** Answer to 'analyseAttention': one record per run (study order) at `step`, or null and the reason. */
  | { type: 'attentionAnalysis'; requestId: number; step: number; records: AttentionRecord[] | null; error: string | null }
  | { type: 'generation'; result: GenerationResult }
  /** Answer to 'batch': clean tokens [R, B, T+1] and mask [R, B, T] (1 = the input there was [MASK]) of `batch.step`. */
  | { type: 'batch'; requestId: number; batch: TrainingBatch | null; error: string | null }
  /** A run stopped (e.g. non-finite loss); the others go on. */
  | { type: 'runFailed'; run: number; step: number; message: string }
  | { type: 'check'; check: KernelCheck }
  | { type: 'selftestDone'; passed: number; failed: number; milliseconds: number }
  | { type: 'error'; message: string }
  /** A checkpoint was written (`stored` false: kept in the Worker's memory only, `problem` says why). */
  | { type: 'checkpointSaved'; summary: CheckpointSummary; stored: boolean; problem: string | null }
  /** A checkpoint was not written; the previous one stays. */
  | { type: 'checkpointNotSaved'; reason: CheckpointReason; message: string }
  | {
    type: 'checkpoints'; list: CheckpointSummary[]; store: 'indexeddb' | 'memory'; problem: string | null;
    /** Stored entries that could not be read as a checkpoint summary (shown with a delete button). */
    unreadable: UnreadableCheckpoint[];
    everySteps: number; maxIntervalMs: number;
  }
  /**
   * The study continues from a checkpoint (after 'built'): the page replaces its series by `history` (the
   * metrics up to `step`). `lostSteps`: steps taken after the checkpoint that will be taken again.
   */
  | { type: 'restored'; reason: 'resume' | 'deviceLost'; step: number; history: MetricHistory; lostSteps: number; message: string }
  /** The GPU device was lost at `step`; the session is re-acquiring one (a 'restored' or an 'error' follows). */
  | { type: 'deviceLost'; step: number; message: string }
  | { type: 'modelFiles'; requestId: number; files: ModelFiles | null; error: string | null }
  | { type: 'modelRead'; requestId: number; model: UploadedModel | null; error: string | null }
  /** The answer to 'checkText': the text (null when refused), its length after normalisation, or the one-line reason. */
  | { type: 'textChecked'; requestId: number; name: string; text: string | null; characters: number; error: string | null }
  | { type: 'modelLoaded'; requestId: number; run: number; step: number; error: string | null }
  /** Made up by the page (src/store/trainer.ts), never sent by the Worker: the Worker threw outside the session or could not load. */
  | { type: 'crashed'; message: string };

// The engine's types the page needs, re-exported so that ui/ and store/ import them from the protocol only.
export type { EngineKind, HistoryPoint, RunInfo } from '../engine/types';
export type { AdapterReport, KernelChoiceReport, KernelCheck, ModelConfig, CheckpointSummary, UnreadableCheckpoint, AttentionRecord, TrainingBatch };

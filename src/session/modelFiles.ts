/**
 * One run's model in and out of a study (for the training session, src/session/session.ts): 'exportModel'
 * (model.safetensors + config.json, optionally ONNX), 'readModel' (what an uploaded model holds and whether
 * it fits) and 'loadModel' (an uploaded model replaces one run's weights). Uploads arrive as the bytes and
 * text the user chose: they are parsed and checked here, never in the page. Each command posts its one
 * reply, 'modelFiles', 'modelRead' or 'modelLoaded'.
 */
import type { StudyEngine } from '../engine/studyEngine';
import type { FromTrainer, ModelFiles, ModelUpload, UploadedModel } from './protocol';
import { tryReadSafetensors, writeSafetensors, type ParsedCheckpoint } from '../export/safetensors';
import { hfConfigJson, modelConfigFromHf } from '../export/hfConfig';
import { exportOnnx, inputIdsFrom, ONNX_INPUT, ONNX_LOGITS } from '../export/onnx';
import { describeConfigDifference, sameModelConfig } from '../export/modelConfigJson';
import { parameterCount } from '../model/layout';
import { errorMessage } from '../util/errorMessage';
import type { ModelConfig } from '../model/config';
import { checkedStudyConfig } from '../config/validate';
import type { StudyConfig } from '../config/presets';

type Post = (message: FromTrainer, transfer?: Transferable[]) => void;

/** One run's model.safetensors + config.json (and the ONNX model with a probe of our forward to check it). */
export async function exportModel(engine: StudyEngine | undefined, post: Post, requestId: number, run: number, onnx: boolean): Promise<void> {
  const fail = (error: string) => post({ type: 'modelFiles', requestId, files: null, error });
  if (!engine) return fail('Build a study first.');
  if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) return fail(`There is no run ${run}: the study has runs 0..${engine.R - 1}.`);
  const state = await engine.saveState();
  const P = state.params.length / engine.R;
  const params = Float32Array.from(state.params.subarray(run * P, (run + 1) * P));
  const { config } = engine;
  let safetensors: Uint8Array;
  try {
    safetensors = writeSafetensors(config.model, params, {
      study: config, metadata: { meap_run: JSON.stringify({ run, ...engine.runs[run], step: state.step }) },
    });
  } catch (error) {
    return fail(`Run ${run} cannot be saved: ${errorMessage(error)}.`);
  }
  const files: ModelFiles = { run, step: state.step, engine: engine.kind, safetensors, configJson: hfConfigJson(config.model), onnx: null, probe: null };
  if (onnx) {
    files.onnx = exportOnnx(config.model, params, { metadata: { meap_run: JSON.stringify({ run, ...engine.runs[run], step: state.step }) } });
    // Our forward on evaluation example 0: logits rows spread over the context (at most `batch` of them).
    const T = config.model.context, V = config.model.vocabSize;
    const block = engine.evalSet.tokens.subarray(0, T + 1);
    const count = Math.min(config.batch, T);
    const rows = Array.from({ length: count }, (_, k) => (count === 1 ? T - 1 : Math.round((k * (T - 1)) / (count - 1))));
    const { logits } = await engine.probe(block, [], rows);
    const tokens = Array.from(block.subarray(0, T));
    files.probe = {
      tokens, inputIds: inputIdsFrom(tokens, 1, T), inputName: ONNX_INPUT, logitsName: ONNX_LOGITS,
      rows, vocab: V, logits: logits.slice(run * count * V, (run + 1) * count * V),
    };
  }
  const transfer: Transferable[] = [];
  for (const bytes of [files.safetensors, files.onnx, files.probe?.logits]) {
    if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) transfer.push(bytes.buffer as ArrayBuffer);
  }
  post({ type: 'modelFiles', requestId, files, error: null }, transfer);
}

export interface LoadModelHooks {
  post: Post;
  /** Reports the training losses not reported yet (before the engine's state is read); undefined when there are none. */
  reportPending(engine: StudyEngine): Promise<void> | undefined;
  /** Run `run` trains again (it is no longer a stopped run). */
  revive(run: number): void;
}

/**
 * An uploaded model parsed and checked (safetensors with the HF names, every value finite; its config.json,
 * when given, must agree with the file), or the one-line reason it cannot be used, naming the file.
 */
export function parseUpload(upload: ModelUpload): { checkpoint: ParsedCheckpoint<StudyConfig> } | { problem: string } {
  const name = typeof upload?.name === 'string' ? upload.name : 'the file';
  if (!(upload?.safetensors instanceof Uint8Array)) return { problem: `"${name}" did not arrive as bytes.` };
  let config: ModelConfig | undefined;
  if (upload.configJson) {
    try {
      config = modelConfigFromHf(JSON.parse(upload.configJson.text));
    } catch (error) {
      return { problem: `"${upload.configJson.name}" is not a usable config.json: ${errorMessage(error)}` };
    }
  }
  const parsed = tryReadSafetensors(upload.safetensors, { config, checkStudy: checkedStudyConfig });
  if (!parsed.ok) return { problem: `"${name}" cannot be used: ${parsed.message}` };
  return { checkpoint: parsed.checkpoint };
}

/** What an uploaded model holds, and whether it fits the study (answers 'readModel'). */
export function readModel(engine: StudyEngine | undefined, post: Post, requestId: number, upload: ModelUpload): void {
  const parsed = parseUpload(upload);
  if ('problem' in parsed) return post({ type: 'modelRead', requestId, model: null, error: parsed.problem });
  const { checkpoint } = parsed;
  const fits = engine ? sameModelConfig(checkpoint.config, engine.config.model) : false;
  const model: UploadedModel = {
    config: checkpoint.config,
    parameterCount: parameterCount(checkpoint.layout),
    study: checkpoint.study ? { task: checkpoint.study.task, steps: checkpoint.study.steps } : null,
    meapRun: checkpoint.metadata.meap_run ?? null,
    fits,
    mismatch: engine && !fits ? describeConfigDifference(checkpoint.config, engine.config.model, 'the file', 'the study') : null,
  };
  post({ type: 'modelRead', requestId, model, error: null });
}

/**
 * Replaces run `run`'s weights by an uploaded model of the study's exact shape (its AdamW moments are
 * zeroed and a stopped run is revived); the step and every other run stay as they are. Refused with a
 * message, changing nothing, when the file, the shape or the values do not fit.
 */
export async function loadModel(
  engine: StudyEngine | undefined, hooks: LoadModelHooks, requestId: number, run: number, upload: ModelUpload,
): Promise<void> {
  const fail = (error: string) => hooks.post({ type: 'modelLoaded', requestId, run, step: engine?.step ?? 0, error });
  if (!engine) return fail('Build a study first.');
  if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) return fail(`There is no run ${run}: the study has runs 0..${engine.R - 1}.`);
  const parsed = parseUpload(upload);
  if ('problem' in parsed) return fail(parsed.problem);
  const { config: model, params } = parsed.checkpoint;
  if (!sameModelConfig(model, engine.config.model)) {
    return fail(`The model does not fit this study: ${describeConfigDifference(model, engine.config.model, 'the file', 'the study')}.`);
  }
  const pending = hooks.reportPending(engine);
  if (pending) await pending;
  const state = await engine.saveState();
  const P = state.params.length / engine.R;
  if (params.length !== P) return fail(`The file holds ${params.length} values; a model of this study has ${P}.`);
  for (let i = 0; i < P; i++) if (!Number.isFinite(params[i])) return fail(`The file holds a non-finite value at index ${i}.`);
  (state.params as Float64Array).set(params, run * P);
  state.m.fill(0, run * P, (run + 1) * P);
  state.v.fill(0, run * P, (run + 1) * P);
  state.frozen[run] = false;
  engine.restoreState(state);
  hooks.revive(run);
  hooks.post({ type: 'modelLoaded', requestId, run, step: engine.step, error: null });
}

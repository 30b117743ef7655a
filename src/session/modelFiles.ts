/**
 * One run's model in and out of a study (for the training session, src/session/session.ts): 'exportModel'
 * (model.safetensors + config.json, optionally ONNX) and 'loadModel' (an uploaded model replaces one run's
 * weights). Each posts its one reply, 'modelFiles' or 'modelLoaded'.
 */
import type { StudyEngine } from '../engine/studyEngine';
import type { FromTrainer, ModelFiles } from './protocol';
import { writeSafetensors } from '../export/safetensors';
import { hfConfigJson } from '../export/hfConfig';
import { exportOnnx } from '../export/onnx';
import { describeConfigDifference, sameModelConfig } from '../export/modelConfigJson';
import { errorMessage } from '../util/errorMessage';
import type { ModelConfig } from '../model/config';

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
    files.probe = { tokens: Array.from(block.subarray(0, T)), rows, vocab: V, logits: logits.slice(run * count * V, (run + 1) * count * V) };
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
 * Replaces run `run`'s weights by an uploaded model of the study's exact shape (its AdamW moments are
 * zeroed and a stopped run is revived); the step and every other run stay as they are. Refused with a
 * message, changing nothing, when the shape or the values do not fit.
 */
export async function loadModel(
  engine: StudyEngine | undefined, hooks: LoadModelHooks, requestId: number, run: number, model: ModelConfig, params: Float32Array,
): Promise<void> {
  const fail = (error: string) => hooks.post({ type: 'modelLoaded', requestId, run, step: engine?.step ?? 0, error });
  if (!engine) return fail('Build a study first.');
  if (!(Number.isInteger(run) && run >= 0 && run < engine.R)) return fail(`There is no run ${run}: the study has runs 0..${engine.R - 1}.`);
  if (!sameModelConfig(model, engine.config.model)) {
    return fail(`The model does not fit this study: ${describeConfigDifference(model, engine.config.model, 'the file', 'the study')}.`);
  }
  if (!(params instanceof Float32Array)) return fail('The weights did not arrive as float32 values.');
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

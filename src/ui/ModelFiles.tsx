import { useEffect, useState, type ChangeEvent } from 'react';
import { useRuns } from '../store/runs';
import { loadModelIntoRun, readUploadedModel, requestModelFiles } from '../store/checkpoints';
import { runLabel } from '../util/palette';
import { formatBytes, formatCount } from './format';
import { checkOnnx, type OnnxCheckResult } from './onnxCheck';
import './checkpoints.css';
import { saveFile } from './report/download';
import type { RunInfo, ModelUpload, UploadedModel } from '../session/protocol';
import type { StudyConfig } from '../config/presets';

/** Uploads larger than this are refused before they are read (a playground model is far smaller). */
export const MAX_UPLOAD_BYTES = 512 * 2 ** 20;
/** |Δlogits| up to this counts as agreement (float32 forward passes that sum in different orders). */
export const ONNX_AGREEMENT = 1e-3;

function runName(run: RunInfo | undefined, index: number): string {
  return run ? `${runLabel(run)}, seed ${run.seed}` : `run ${index}`;
}

interface Upload {
  size: number;
  /** What the user chose, kept to load it (and to read it again against a rebuilt study). */
  source: ModelUpload;
  /** What the Worker read in it, and the study it judged the fit against. */
  model: UploadedModel;
  readFor: StudyConfig | undefined;
}

type Status = { kind: 'idle' } | { kind: 'busy'; text: string } | { kind: 'error'; text: string } | { kind: 'done'; text: string };

/**
 * A run's model as files: safetensors + config.json (Hugging Face LLaMA names: `LlamaForCausalLM.from_pretrained`
 * reads the two from one folder), the ONNX export checked in the page with onnxruntime-web, and uploads of a
 * safetensors model (validated; a model of the study's shape can replace a run's weights).
 */
export function ModelFilesPanel() {
  const study = useRuns((s) => s.study);
  const state = useRuns((s) => s.state);
  const runs = study?.runs ?? [];
  const [run, setRun] = useState(0);
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const [onnx, setOnnx] = useState<(OnnxCheckResult & { run: number; step: number; bytes: number }) | null>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [target, setTarget] = useState(0);
  const [loaded, setLoaded] = useState<string | null>(null);
  useEffect(() => {
    if (run >= runs.length) setRun(0);
    if (target >= runs.length) setTarget(0);
  }, [runs.length, run, target]);
  // Whether the upload fits is the Worker's verdict against the study it has: ask again when the study changes.
  const studyConfig = study?.config;
  useEffect(() => {
    if (!upload || !studyConfig || upload.readFor === studyConfig) return;
    let current = true;
    void readUploadedModel(upload.source).then(({ model }) => {
      if (current && model) setUpload((u) => (u && u.source === upload.source ? { ...u, model, readFor: studyConfig } : u));
    });
    return () => { current = false; };
  }, [studyConfig, upload]);
  const ready = study !== null && state !== 'building' && state !== 'failed';
  const busy = status.kind === 'busy';

  const download = async () => {
    setStatus({ kind: 'busy', text: 'Preparing the files…' });
    const { files, error } = await requestModelFiles(run, false);
    if (!files) return setStatus({ kind: 'error', text: error ?? 'No files came back.' });
    saveFile(files.safetensors, 'model.safetensors', 'application/octet-stream');
    saveFile(files.configJson, 'config.json', 'application/json');
    setStatus({ kind: 'done', text: `Saved ${runName(runs[run], run)} at step ${files.step}: model.safetensors (${formatBytes(files.safetensors.length)}) and config.json. ` +
      'Put both in one folder; LlamaForCausalLM.from_pretrained(folder) loads it.' });
  };

  const exportOnnx = async () => {
    setOnnx(null);
    setStatus({ kind: 'busy', text: 'Exporting to ONNX…' });
    const { files, error } = await requestModelFiles(run, true);
    if (!files?.onnx || !files.probe) return setStatus({ kind: 'error', text: error ?? 'No ONNX model came back.' });
    saveFile(files.onnx, 'model.onnx', 'application/octet-stream');
    setStatus({ kind: 'busy', text: 'Running the ONNX model in onnxruntime-web…' });
    try {
      const result = await checkOnnx(files.onnx, files.probe);
      setOnnx({ ...result, run, step: files.step, bytes: files.onnx.length });
      setStatus({ kind: 'done', text: `Saved model.onnx (${formatBytes(files.onnx.length)}, opset 17: input_ids → logits).` });
    } catch (e) {
      setStatus({ kind: 'error', text: `Saved model.onnx, but checking it failed: ${(e as Error).message}` });
    }
  };

  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = [...(event.target.files ?? [])];
    event.target.value = '';
    setUpload(null);
    setUploadError(null);
    setLoaded(null);
    if (chosen.length === 0) return;
    const weights = chosen.filter((f) => !f.name.toLowerCase().endsWith('.json'));
    const configs = chosen.filter((f) => f.name.toLowerCase().endsWith('.json'));
    if (weights.length !== 1 || configs.length > 1) {
      return setUploadError('Choose one .safetensors file (and, if you have it, its config.json).');
    }
    const file = weights[0];
    if (file.size > MAX_UPLOAD_BYTES) {
      return setUploadError(`"${file.name}" has ${formatBytes(file.size)}, more than the ${formatBytes(MAX_UPLOAD_BYTES)} a playground model can have.`);
    }
    let configJson: ModelUpload['configJson'] = null;
    if (configs.length === 1) {
      if (configs[0].size > 1 << 20) return setUploadError(`"${configs[0].name}" has ${formatBytes(configs[0].size)}; a config.json is a few hundred bytes.`);
      try {
        configJson = { name: configs[0].name, text: await configs[0].text() };
      } catch (e) {
        return setUploadError(`"${configs[0].name}" could not be read: ${(e as Error).message}`);
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      return setUploadError(`"${file.name}" could not be read: ${(e as Error).message}`);
    }
    // The Worker parses and checks the file (and its config.json) and says whether it fits the study.
    const source: ModelUpload = { name: file.name, safetensors: bytes, configJson };
    const { model, error } = await readUploadedModel(source);
    if (!model) return setUploadError(error ?? `"${file.name}" could not be read.`);
    setUpload({ size: file.size, source, model, readFor: study?.config });
  };

  const fits = upload !== null && study !== null && upload.model.fits;
  const load = async () => {
    if (!upload || !fits) return;
    setStatus({ kind: 'busy', text: 'Loading the weights into the run…' });
    const { step, error } = await loadModelIntoRun(target, upload.source);
    if (error) {
      setStatus({ kind: 'idle' });
      return setUploadError(error);
    }
    setStatus({ kind: 'idle' });
    setLoaded(`${runName(runs[target], target)} now has the weights of "${upload.source.name}" (at step ${step}): Try the models and the attention views use them, ` +
      'training continues from them (their optimizer moments start from zero), and Export ONNX checks them.');
  };

  const c = upload?.model.config;
  const meta = upload?.model.meapRun;
  return (
    <section className="panel model-files" aria-labelledby="model-files-title" data-testid="model-files">
      <h2 id="model-files-title">Model files</h2>
      <p className="muted model-files-intro">
        Take a model to PyTorch: <code>model.safetensors</code> with the Hugging Face LLaMA tensor names and a matching{' '}
        <code>config.json</code> (<code>LlamaForCausalLM.from_pretrained</code>), or an ONNX model that the page runs in
        onnxruntime-web and compares with its own forward.
      </p>
      <div className="model-files-row">
        <label>
          Run{' '}
          <select aria-label="run to export" data-testid="export-run" value={run} onChange={(e) => setRun(Number(e.target.value))} disabled={!ready}>
            {runs.map((r, i) => <option key={i} value={i}>{runName(r, i)}</option>)}
          </select>
        </label>
        <button type="button" data-testid="download-model" disabled={!ready || busy} onClick={() => void download()}>Download model</button>
        <button type="button" className="secondary" data-testid="export-onnx" disabled={!ready || busy} onClick={() => void exportOnnx()}>Export ONNX</button>
      </div>
      {status.kind !== 'idle' && (
        <div className={status.kind === 'error' ? 'notice notice-error' : 'muted model-files-status'} role={status.kind === 'error' ? 'alert' : 'status'}
          data-testid="model-files-status" data-kind={status.kind}>{status.text}</div>
      )}
      {onnx && (
        <div className={`notice ${onnx.maxAbsDiff <= ONNX_AGREEMENT ? 'notice-info' : 'notice-warn'}`} role="status" data-testid="onnx-check"
          data-max-diff={onnx.maxAbsDiff} data-provider={onnx.provider}>
          <span>
            onnxruntime-web ({onnx.provider === 'webgpu' ? 'WebGPU' : 'WebAssembly'} execution provider) vs our forward, {runName(runs[onnx.run], onnx.run)} at
            step {onnx.step}, {onnx.rows} positions of evaluation example 0: max |Δlogits| ={' '}
            <strong data-testid="onnx-max-diff">{onnx.maxAbsDiff.toExponential(2)}</strong>
            {onnx.maxAbsDiff <= ONNX_AGREEMENT ? ' — they agree.' : ` — above ${ONNX_AGREEMENT}: they disagree.`}
            {onnx.fallbackReason && <span className="muted"> (WebAssembly because {onnx.fallbackReason}.)</span>}
          </span>
        </div>
      )}
      <div className="model-files-row">
        <label className="upload-label">
          Upload a model{' '}
          <input type="file" accept=".safetensors,.json,application/json,application/octet-stream" multiple data-testid="upload-model"
            aria-label="Upload a model (.safetensors, optionally with its config.json)" onChange={(e) => void choose(e)} />
        </label>
      </div>
      {uploadError && <div className="notice notice-error" role="alert" data-testid="upload-error">{uploadError}</div>}
      {upload && c && (
        <div className="upload-summary" data-testid="upload-summary" data-fits={fits ? 'yes' : 'no'}>
          <div>
            <strong>{upload.source.name}</strong> ({formatBytes(upload.size)}): {c.layers} layers, d_model {c.dModel}, {c.heads} heads,
            FFN {c.dFF}, vocabulary {c.vocabSize}, context {c.context} — {formatCount(upload.model.parameterCount)} parameters, all finite.
            {upload.model.study && <> Trained in a <em>{upload.model.study.task}</em> study of {upload.model.study.steps.toLocaleString('en-US')} steps.</>}
            {meta && <span className="muted"> ({meta})</span>}
          </div>
          {study && fits && (
            <div className="model-files-row">
              <label>
                Load into{' '}
                <select aria-label="run to load into" data-testid="load-run" value={target} onChange={(e) => setTarget(Number(e.target.value))}>
                  {runs.map((r, i) => <option key={i} value={i}>{runName(r, i)}</option>)}
                </select>
              </label>
              <button type="button" className="small" data-testid="load-model" disabled={!ready || busy} onClick={() => void load()}>Replace its weights</button>
            </div>
          )}
          {study && !fits && (
            <div className="muted" data-testid="upload-mismatch">
              Shown for inspection only: it does not fit this study&apos;s model
              ({upload.model.mismatch}). Pick a study of its shape to load it into a run.
            </div>
          )}
        </div>
      )}
      {loaded && <div className="notice notice-info" role="status" data-testid="model-loaded">{loaded}</div>}
    </section>
  );
}

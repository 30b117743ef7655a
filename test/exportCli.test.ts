import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { parameterLayout } from '../src/model/layout';
import { initParameters } from '../src/model/init';
import { referenceForward } from '../src/reference/model';
import { preset } from '../src/config/presets';
import { randomInts, randomNormals } from '../src/util/random';
import { HF_CONFIG_FILE, SAFETENSORS_FILE, readCheckpoint, writeCheckpointDir } from '../src/export/checkpointFiles';
import { hfConfigJson, modelConfigFromHf } from '../src/export/hfConfig';
import { attentionOutputName, inputIdsFrom, ONNX_INPUT, ONNX_LOGITS } from '../src/export/onnx';

ort.env.wasm.numThreads = 1;

const study = preset('tiny');
const config = study.model;
const layout = parameterLayout(config);

function exportCli(...argv: string[]) {
  const result = spawnSync('npx', ['vite-node', 'src/cli/export.ts', '--', ...argv], { encoding: 'utf8', timeout: 120_000 });
  const reasons = result.stderr.trim().split('\n').filter((l) => l.startsWith('export:'));
  return { status: result.status, stdout: result.stdout, reasons };
}

/** Init plus noise, so the logits are not all near zero. */
function weights(): Float32Array {
  const p = initParameters(config, layout, 3);
  const noise = randomNormals(4, layout.P, 0.1);
  for (const t of layout.tensors) for (let i = t.offset; i < t.offset + t.size; i++) p[i] += noise[i];
  return p;
}

describe('npm run export', () => {
  it('turns a checkpoint directory into an ONNX model whose logits match the reference', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meap-export-'));
    const params = weights();
    const written = writeCheckpointDir(join(dir, 'meap'), config, params, { study });
    expect(written).toEqual([join(dir, 'meap', SAFETENSORS_FILE), join(dir, 'meap', HF_CONFIG_FILE)]);
    expect(modelConfigFromHf(JSON.parse(readFileSync(written[1], 'utf8')))).toEqual(config);
    expect(readCheckpoint(join(dir, 'meap')).params).toEqual(params);

    const out = join(dir, 'model.onnx');
    const result = exportCli('--checkpoint', join(dir, 'meap'), '--out', out, '--attention', '--verify');
    expect(result.reasons).toEqual([]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/wrote .*model\.onnx \(\d+ bytes, opset 17\)/);
    expect(result.stdout).toMatch(/verify: onnxruntime-web \(wasm\) vs CPU reference, max \|Δlogits\| = /);

    const B = 3, T = config.context;
    const tokens = randomInts(77, B * (T + 1), config.vocabSize);
    const session = await ort.InferenceSession.create(readFileSync(out), { executionProviders: ['wasm'] });
    expect(session.outputNames).toEqual([ONNX_LOGITS, ...Array.from({ length: config.layers }, (_, l) => attentionOutputName(l))]);
    const outputs = await session.run({ [ONNX_INPUT]: new ort.Tensor('int64', inputIdsFrom(tokens, B, T + 1, T), [B, T]) });
    await session.release();
    const logits = outputs[ONNX_LOGITS].data as Float32Array;
    const reference = referenceForward(config, layout, params, { B, tokens, mask: new Uint32Array(B * T) }).logits;
    let worst = 0, scale = 0;
    for (let i = 0; i < reference.length; i++) {
      worst = Math.max(worst, Math.abs(logits[i] - reference[i]));
      scale = Math.max(scale, Math.abs(reference[i]));
    }
    expect(scale).toBeGreaterThan(0.1);
    expect(worst).toBeLessThan(1e-4);
  });

  it('exits non-zero with a one-line reason for bad arguments and bad checkpoints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meap-export-bad-'));
    expect(exportCli('--out', join(dir, 'x.onnx'))).toMatchObject({ status: 2, reasons: ['export: --checkpoint DIR is required (a directory with model.safetensors)'] });
    expect(exportCli('--checkpoint', dir, '--out', join(dir, 'missing', 'x.onnx')).reasons).toEqual([`export: --out: the directory "${join(dir, 'missing')}" does not exist`]);
    expect(exportCli('--checkpoint', join(dir, 'nothing'), '--out', join(dir, 'x.onnx')))
      .toMatchObject({ status: 1, reasons: [`export: cannot read "${join(dir, 'nothing')}" (ENOENT)`] });
    // A corrupt file, and a config.json that disagrees with the weights.
    const ck = join(dir, 'ck');
    writeCheckpointDir(ck, config, weights());
    const file = join(ck, SAFETENSORS_FILE);
    writeFileSync(file, readFileSync(file).subarray(0, 5000));
    const truncated = exportCli('--checkpoint', ck, '--out', join(dir, 'x.onnx'));
    expect(truncated.status).toBe(1);
    expect(truncated.reasons).toHaveLength(1);
    expect(truncated.reasons[0]).toMatch(/model\.safetensors": Tensor .* beyond the \d+ bytes of data: the file is truncated/);
    writeCheckpointDir(ck, config, weights());
    writeFileSync(join(ck, HF_CONFIG_FILE), hfConfigJson({ ...config, dFF: 48 }));
    expect(exportCli('--checkpoint', ck, '--out', join(dir, 'x.onnx')).reasons)
      .toEqual([`export: "${file}": The model config in the file and config.json disagree (dFF: 64 in the file, 48 in config.json).`]);
  });
});

/**
 * `npm run export -- --checkpoint DIR --out model.onnx [--attention] [--verify]`: reads DIR/model.safetensors
 * (+ DIR/config.json, which must agree) and writes the model as ONNX (opset 17; input_ids → logits).
 * Every invalid argument or file exits non-zero with a one-line reason.
 */
import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HF_CONFIG_FILE, SAFETENSORS_FILE, readCheckpoint } from '../export/checkpointFiles';
import { checkOutputFile, FileGuardError, writeFileAtomic } from '../util/safeFiles';
import { CheckpointError } from '../export/safetensors';
import { exportOnnx, inputIdsFrom, ONNX_INPUT, ONNX_LOGITS, ONNX_OPSET } from '../export/onnx';
import type { ParameterLayout } from '../model/layout';
import { referenceForward } from '../reference/model';
import { randomInts } from '../util/random';
import type { ModelConfig } from '../model/config';

const EXPORT_USAGE = `usage: npm run export -- --checkpoint DIR --out model.onnx [--attention] [--verify]

  --checkpoint DIR   a directory with model.safetensors (and optionally config.json), or a .safetensors file
  --out FILE         where to write the ONNX model (opset ${ONNX_OPSET}): input_ids int64 [batch, seq ≤ context]
                     → logits float [batch, seq, vocab]
  --attention        also output every layer's attention probabilities (attention_probs.{layer})
  --verify           run the exported model in onnxruntime-web (wasm) on a random batch and compare its logits
                     with the CPU reference; fails above 1e-4 max |Δ|`;

class UsageError extends Error {}

interface ExportArgs { checkpoint: string; out: string; attention: boolean; verify: boolean; help: boolean }

function parse(argv: string[]): ExportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        checkpoint: { type: 'string' }, out: { type: 'string' }, attention: { type: 'boolean' }, verify: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true, allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  const help = v.help ?? false;
  if (!help) {
    if (!v.checkpoint) throw new UsageError('--checkpoint DIR is required (a directory with model.safetensors)');
    if (!v.out) throw new UsageError('--out FILE is required (where to write the .onnx)');
  }
  return { checkpoint: v.checkpoint ?? '', out: v.out ?? '', attention: v.attention ?? false, verify: v.verify ?? false, help };
}

/** The files readCheckpoint reads for `path` (a folder's model.safetensors and config.json, or a file and its folder's config.json). */
function checkpointInputs(path: string): string[] {
  let isDirectory = false;
  try { isDirectory = statSync(path).isDirectory(); } catch { /* missing: readCheckpoint says so */ }
  const folder = isDirectory ? path : dirname(path);
  return [isDirectory ? join(path, SAFETENSORS_FILE) : path, join(folder, HF_CONFIG_FILE)];
}

/** Max |Δlogits| between onnxruntime-web (wasm) and the CPU reference on a random [2, context] batch. */
async function verify(bytes: Uint8Array, config: ModelConfig, layout: ParameterLayout, params: Float32Array): Promise<number> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const B = 2, T = config.context;
  const tokens = randomInts(1, B * (T + 1), config.vocabSize);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('int64', inputIdsFrom(tokens, B, T + 1, T), [B, T]) });
  await session.release();
  const logits = out[ONNX_LOGITS].data as Float32Array;
  const reference = referenceForward(config, layout, params, { B, tokens, mask: new Uint32Array(B * T) }).logits;
  let worst = 0;
  for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(logits[i] - reference[i]));
  return Number.isNaN(worst) || logits.length !== reference.length ? Infinity : worst;
}

async function main(argv: string[]): Promise<number> {
  let args: ExportArgs;
  try {
    args = parse(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`export: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    console.log(EXPORT_USAGE);
    return 0;
  }
  let out: string;
  try {
    // Before anything is read or computed: --out is writable, and it is not a file this command reads (an
    // --out of the checkpoint's own model.safetensors would replace the trained weights by the ONNX model).
    out = checkOutputFile(args.out, { inputs: checkpointInputs(args.checkpoint) });
  } catch (error) {
    if (error instanceof FileGuardError) {
      console.error(`export: --out: ${error.message}`);
      return 2;
    }
    throw error;
  }
  let checkpoint;
  try {
    checkpoint = readCheckpoint(args.checkpoint);
  } catch (error) {
    if (error instanceof CheckpointError) {
      console.error(`export: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const { config, layout, params } = checkpoint;
  const bytes = exportOnnx(config, params, { attentionProbs: args.attention });
  try {
    writeFileAtomic(out, bytes);
  } catch (error) {
    console.error(`export: cannot write "${args.out}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return 1;
  }
  const extra = args.attention ? `, attention_probs.{0..${config.layers - 1}} [batch, ${config.heads}, seq, seq]` : '';
  console.log(`wrote ${args.out} (${bytes.length} bytes, opset ${ONNX_OPSET}): ${config.layers} layers, d=${config.dModel}, ` +
    `${config.heads} heads, vocab ${config.vocabSize} ([MASK] = ${config.maskId}), context ${config.context}; ` +
    `${ONNX_INPUT} int64 [batch, seq] → ${ONNX_LOGITS} [batch, seq, ${config.vocabSize}]${extra}`);
  if (args.verify) {
    const err = await verify(bytes, config, layout, params);
    console.log(`verify: onnxruntime-web (wasm) vs CPU reference, max |Δlogits| = ${err.toExponential(2)}`);
    if (!(err < 1e-4)) {
      console.error(`export: the exported model's logits differ from the reference by ${err} (> 1e-4)`);
      return 1;
    }
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
  console.error(`export: ${(error as Error).message}`);
  process.exit(1);
});

import type { GpuContext } from '../gpu/context';
import {
  attentionActivationFloats, attentionBackward, attentionBackwardScratchFloats, attentionForward, attentionVariants,
  attentionProbsFloats, type AttentionShape, type AttentionVariant,
} from '../kernels/attention';
import { attentionBackwardReference, attentionForwardReference } from '../reference/attention';
import { randomFloats } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export interface AttentionInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dOut: Float32Array;
}

export interface AttentionOutputs {
  out: Float32Array;
  probs: Float32Array;
  dScores: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Uniform [-1, 1) inputs: scores stay within ±sqrt(headDim), outputs and gradients O(1). */
export function attentionInputs(shape: AttentionShape, seed = 1): AttentionInputs {
  const n = attentionActivationFloats(shape);
  return {
    q: randomFloats(seed, n),
    k: randomFloats(seed + 1, n),
    v: randomFloats(seed + 2, n),
    dOut: randomFloats(seed + 3, n),
  };
}

/**
 * Forward then backward on the GPU (the backward consumes the GPU's probs, as in training), with the given
 * variant (default: `ctx.preferences.rows`). Every output buffer starts filled with garbage, so outputs that
 * are not overwritten show up.
 */
export async function runAttentionGpu(
  ctx: GpuContext, shape: AttentionShape, inputs: AttentionInputs, variant?: AttentionVariant,
): Promise<AttentionOutputs> {
  return withScope(ctx, async (scope) => {
    const nAct = attentionActivationFloats(shape);
    const nProbs = attentionProbsFloats(shape);
    const garbage = (count: number) => new Float32Array(count).fill(-7.25);
    const q = scope.upload('q', inputs.q);
    const k = scope.upload('k', inputs.k);
    const v = scope.upload('v', inputs.v);
    const dOut = scope.upload('dOut', inputs.dOut);
    const out = scope.upload('out', garbage(nAct));
    const probs = scope.upload('probs', garbage(nProbs));
    const dScores = scope.upload('dScores', garbage(attentionBackwardScratchFloats(shape)));
    const dq = scope.upload('dq', garbage(nAct));
    const dk = scope.upload('dk', garbage(nAct));
    const dv = scope.upload('dv', garbage(nAct));
    scope.run([
      await attentionForward(ctx, { q, k, v, probs, out, shape, variant }),
      ...await attentionBackward(ctx, { dOut, q, k, v, probs, dScores, dq, dk, dv, shape, variant }),
    ]);
    return {
      out: await scope.read(out, nAct),
      probs: await scope.read(probs, nProbs),
      dScores: await scope.read(dScores, nProbs),
      dq: await scope.read(dq, nAct),
      dk: await scope.read(dk, nAct),
      dv: await scope.read(dv, nAct),
    };
  });
}

/** Tolerances (absolute; inputs in [-1, 1), headDim ≤ 64, T ≤ a few hundred): see the final report. */
export const ATTENTION_TOLERANCE = { forward: 1e-5, probs: 5e-6, backward: 2e-5 } as const;

/**
 * For every variant (default: every one the device can run, 'subgroup' where it has the feature):
 * attention.<variant>.forward (out), .probs, .backward.{dq,dk,dv} against the float64 reference (e.g.
 * `attention.serial.forward`, `attention.workgroup.backward.dq`).
 */
export async function checkAttention(
  ctx: GpuContext, shape: AttentionShape, seed = 1, variants: readonly AttentionVariant[] = attentionVariants(ctx),
): Promise<KernelCheck[]> {
  const inputs = attentionInputs(shape, seed);
  const expected = attentionForwardReference(inputs.q, inputs.k, inputs.v, shape);
  const grads = attentionBackwardReference(inputs.dOut, inputs.q, inputs.k, inputs.v, expected.probs, shape);
  const name = formatShape(shape);
  const rows: KernelCheck[] = [];
  for (const variant of variants) {
    const gpu = await runAttentionGpu(ctx, shape, inputs, variant);
    const kernel = `attention.${variant}`;
    rows.push(
      check(`${kernel}.forward`, name, [maxAbsError(gpu.out, expected.out)], ATTENTION_TOLERANCE.forward),
      check(`${kernel}.probs`, name, [maxAbsError(gpu.probs, expected.probs)], ATTENTION_TOLERANCE.probs),
      check(`${kernel}.backward.dq`, name, [maxAbsError(gpu.dq, grads.dq)], ATTENTION_TOLERANCE.backward),
      check(`${kernel}.backward.dk`, name, [maxAbsError(gpu.dk, grads.dk)], ATTENTION_TOLERANCE.backward),
      check(`${kernel}.backward.dv`, name, [maxAbsError(gpu.dv, grads.dv)], ATTENTION_TOLERANCE.backward),
    );
  }
  return rows;
}

/** Shapes `npm run selftest` runs: T=1, awkward T, R > 1, several heads and batches. */
export const attentionSelfTestShapes: AttentionShape[] = [
  { R: 1, B: 1, T: 1, H: 1, headDim: 4 },
  { R: 3, B: 2, T: 7, H: 3, headDim: 16 },
  { R: 2, B: 1, T: 65, H: 2, headDim: 8 },
];

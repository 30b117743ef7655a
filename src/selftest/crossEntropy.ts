import type { GpuContext } from '../gpu/context';
import { crossEntropyMean, crossEntropyRows, lossScales, type CrossEntropyShape, type RowVariant } from '../kernels/crossEntropy';
import { crossEntropyReference } from '../reference/crossEntropy';
import { randomFloats, randomInts } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type CheckScope, type KernelCheck } from './harness';

export type { CrossEntropyShape };

/** Both row-kernel variants; the self-test checks each (`crossEntropy.<variant>.loss` / `.grad`). */
export const CROSS_ENTROPY_VARIANTS: readonly RowVariant[] = ['workgroup', 'serial'];

/**
 * For each variant in `variants` (default both; the variant applies to the rows and the mean kernels):
 * crossEntropy.<variant>.loss (evaluation path: rows without dLogits, then mean) and crossEntropy.<variant>.grad
 * (training path: rows with dLogits, then mean) on logits uniform in ±4 and random tokens, against the
 * float64 reference. Outputs start as garbage to prove they are overwritten.
 *
 * Tolerances: losses are O(log V + 8) ≲ 15 computed with f32 exp/log (a few ulp on GPUs), so 3e-5
 * absolute for rowLoss and lossMean. The gradient is compared unscaled, i.e. (softmax − onehot) =
 * dLogits / gradScale, whose entries are in [−1, 1]: 1e-5 absolute. The grad path's rowLoss and
 * lossMean must also match the evaluation path's (they run the same code, so they are bit-identical).
 */
export async function checkCrossEntropy(
  ctx: GpuContext, shape: CrossEntropyShape, seed = 1, variants: readonly RowVariant[] = CROSS_ENTROPY_VARIANTS,
): Promise<KernelCheck[]> {
  const rows: KernelCheck[] = [];
  for (const variant of variants) rows.push(...await checkCrossEntropyVariant(ctx, shape, seed, variant));
  return rows;
}

async function checkCrossEntropyVariant(ctx: GpuContext, shape: CrossEntropyShape, seed: number, variant: RowVariant): Promise<KernelCheck[]> {
  const { R, B, T, V } = shape;
  const N = B * T;
  const logits = randomFloats(seed, R * N * V, 4);
  const tokens = randomInts(seed + 1, R * B * (T + 1), V);
  const expected = crossEntropyReference(logits, tokens, shape);
  return withScope(ctx, async (scope) => {
    const logitsBuf = scope.upload('logits', logits);
    const tokensBuf = scope.upload('tokens', tokens);
    const evalRowLoss = scope.upload('evalRowLoss', randomFloats(seed + 2, R * N, 100));
    const evalMean = scope.upload('evalMean', randomFloats(seed + 3, R, 100));
    const gradRowLoss = scope.upload('gradRowLoss', randomFloats(seed + 4, R * N, 100));
    const gradMean = scope.upload('gradMean', randomFloats(seed + 5, R, 100));
    const dLogits = scope.upload('dLogits', randomFloats(seed + 6, R * N * V, 100));
    const io = { ...shape, logits: logitsBuf, tokens: tokensBuf, variant };
    scope.run([
      await crossEntropyRows(ctx, { ...io, rowLoss: evalRowLoss }),
      await crossEntropyMean(ctx, { rowLoss: evalRowLoss, lossMean: evalMean, R, N, variant }),
      await crossEntropyRows(ctx, { ...io, rowLoss: gradRowLoss, dLogits }),
      await crossEntropyMean(ctx, { rowLoss: gradRowLoss, lossMean: gradMean, R, N, variant }),
    ]);
    const unscaled = (values: ArrayLike<number>) => Float64Array.from(values, (g) => g * N);
    const name = formatShape(shape);
    const weighted = await checkWeighted(scope, io, logits, tokens, { dLogits, lossMean: gradMean }, seed);
    return [
      ...weighted,
      check(`crossEntropy.${variant}.loss`, name, [
        maxAbsError(await scope.read(evalRowLoss), expected.rowLoss),
        maxAbsError(await scope.read(evalMean), expected.lossMean),
      ], 3e-5),
      check(`crossEntropy.${variant}.grad`, name, [
        maxAbsError(unscaled(await scope.read(dLogits)), unscaled(expected.dLogits)),
        // The training path runs the same loss code as the evaluation path: identical losses expected.
        maxAbsError(await scope.read(gradRowLoss), await scope.read(evalRowLoss)),
        maxAbsError(await scope.read(gradMean), await scope.read(evalMean)),
      ], 1e-5),
    ];
  });
}


/**
 * The weighted entry points (fine-tuning: loss on some rows only): crossEntropy.<variant>.weighted — random
 * 0/1 weights (the last run, when R > 1, has none: mean 0 and a zero gradient) against the reference's
 * weighted mean and gradient, compared as (softmax − onehot) · w (each row's share times its count); and
 * crossEntropy.<variant>.weightedOnes — every weight 1 and lossScale 1/N must give the unweighted path's bits.
 */
async function checkWeighted(
  scope: CheckScope, io: CrossEntropyShape & { logits: GPUBuffer; tokens: GPUBuffer; variant: RowVariant },
  logits: Float32Array, tokens: Uint32Array, unweighted: { dLogits: GPUBuffer; lossMean: GPUBuffer }, seed: number,
): Promise<KernelCheck[]> {
  const { R, B, T, V, variant } = io;
  const N = B * T;
  const ctx = scope.ctx;
  const weights = Float32Array.from(randomInts(seed + 7, R * N, 2));
  if (R > 1) weights.fill(0, (R - 1) * N);
  const expected = crossEntropyReference(logits, tokens, io, undefined, weights);
  const ones = new Float32Array(R * N).fill(1);
  const run = async (w: Float32Array, tag: string) => {
    const rowLoss = scope.upload(`${tag}RowLoss`, randomFloats(seed + 8, R * N, 100));
    const lossMean = scope.upload(`${tag}Mean`, randomFloats(seed + 9, R, 100));
    const dLogits = scope.upload(`${tag}DLogits`, randomFloats(seed + 10, R * N * V, 100));
    const lossWeights = scope.upload(`${tag}Weights`, w);
    const lossScale = scope.upload(`${tag}Scale`, lossScales(w, R, N));
    scope.run([
      await crossEntropyRows(ctx, { ...io, rowLoss, dLogits, weights: { lossWeights, lossScale } }),
      await crossEntropyMean(ctx, { rowLoss, lossMean, R, N, variant, weights: lossWeights }),
    ]);
    return { lossMean: await scope.read(lossMean), dLogits: await scope.read(dLogits) };
  };
  const got = await run(weights, 'weighted');
  // Undo each run's 1/count so entries are comparable to 1e-5 like the unweighted check.
  const counts = Array.from({ length: R }, (_, r) => weights.subarray(r * N, (r + 1) * N).reduce((a, b) => a + b, 0));
  const rescale = (values: ArrayLike<number>) => Float64Array.from(values, (g, i) => g * Math.max(1, counts[Math.floor(i / (N * V))]));
  const allOnes = await run(ones, 'ones');
  const plainMean = crossEntropyReference(logits, tokens, io).lossMean;
  const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  const plain = { dLogits: await scope.read(unweighted.dLogits), gradMean: await scope.read(unweighted.lossMean) };
  const name = formatShape(io);
  return [
    check(`crossEntropy.${variant}.weighted`, name, [
      maxAbsError(rescale(got.dLogits), rescale(expected.dLogits)),
      maxAbsError(got.lossMean, expected.lossMean) / 3,
    ], 1e-5),
    check(`crossEntropy.${variant}.weightedOnes`, name, [
      // Bit-identical to the unweighted training path: 0 when every bit agrees, 1 otherwise.
      bitsOf(allOnes.dLogits).every((bits, i) => bits === bitsOf(plain.dLogits)[i]) ? 0 : 1,
      bitsOf(allOnes.lossMean).every((bits, i) => bits === bitsOf(plain.gradMean)[i]) ? 0 : 1,
      maxAbsError(allOnes.lossMean, plainMean) / 3,
    ], 1e-5),
  ];
}

/**
 * Shapes for `npm run selftest` (each for both variants): R > 1, awkward N and V (V > 64 threads: several
 * strided elements per thread); N = 70 rows: two 64-row blocks of the serial variant, the second partial.
 */
export const crossEntropySelfTestShapes: CrossEntropyShape[] = [
  { R: 2, B: 3, T: 7, V: 65 },
  { R: 3, B: 1, T: 33, V: 300 },
  { R: 1, B: 2, T: 5, V: 1 },
  { R: 2, B: 2, T: 35, V: 33 },
];

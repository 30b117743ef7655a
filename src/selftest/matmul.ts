import type { GpuContext } from '../gpu/context';
import { MATMUL_VARIANTS, matmul, type MatmulVariant } from '../kernels/matmul';
import { matmulReference } from '../reference/matmul';
import { randomFloats } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export interface MatmulCheckShape { R: number; M: number; N: number; K: number }

/** R > 1, awkward sizes (not multiples of any tile), a degenerate one, and a K spanning several k-slices. */
export const matmulSelfTestShapes: MatmulCheckShape[] = [
  { R: 2, M: 33, N: 65, K: 17 },
  { R: 3, M: 7, N: 1, K: 130 },
  { R: 1, M: 64, N: 64, K: 64 },
];

/**
 * Tolerance for inputs uniform in [-1, 1]: each of the K multiply-adds rounds once, by up to 2^-24 ≈ 6e-8
 * of a partial sum of typical size √(K/9); K such errors random-walk to ~6e-8·√K·√(K/9) ≈ 2e-8·K, so the
 * error grows linearly in K and 1e-6·(K+1) leaves a wide margin (worst of 512² outputs at K = 512:
 * 3e-5 against 5e-4; K ≤ 130 in the self-test: ≤ 3e-6 against ≥ 1.8e-5). A wrong index, a lost k or
 * a leaked run costs O(0.1–1).
 */
export function matmulTolerance(K: number): number {
  return 1e-6 * (K + 1);
}

/** The layouts checked: name → (transA, transB, accumulate). `tn` + accumulate is the dW pattern. */
const CASES: { name: string; transA: boolean; transB: boolean; accumulate: boolean }[] = [
  { name: 'nt', transA: false, transB: true, accumulate: false },
  { name: 'nn', transA: false, transB: false, accumulate: false },
  { name: 'tn', transA: true, transB: false, accumulate: false },
  { name: 'accumulate', transA: true, transB: false, accumulate: true },
];

/**
 * Checks `matmul.<variant>.<case>` for every variant: Y = X·Wᵀ (nt), dX = dY·W (nn), dW = dYᵀ·X (tn) and
 * dW += dYᵀ·X (accumulate) against the float64 reference. A and B have R·M·K and R·K·N elements in
 * every layout, so the same random data serves all cases, read with different transpositions.
 */
export async function checkMatmul(
  ctx: GpuContext, shape: MatmulCheckShape, seed = 1, variants: readonly MatmulVariant[] = MATMUL_VARIANTS,
): Promise<KernelCheck[]> {
  const { R, M, N, K } = shape;
  const a = randomFloats(seed, R * M * K);
  const b = randomFloats(seed + 1, R * K * N);
  const c0 = randomFloats(seed + 2, R * M * N);
  return withScope(ctx, async (scope) => {
    const aBuf = scope.upload('a', a);
    const bBuf = scope.upload('b', b);
    const runs: { kernel: string; out: GPUBuffer; expected: Float64Array }[] = [];
    for (const variant of variants) {
      for (const { name, transA, transB, accumulate } of CASES) {
        // C starts as c0 in every case, so a kernel that adds where it should overwrite fails.
        const out = scope.upload('c', c0);
        const expected = matmulReference(a, b, { R, M, N, K, transA, transB }, accumulate ? c0 : undefined);
        const dispatch = await matmul(ctx, { a: aBuf, b: bBuf, c: out, R, M, N, K, transA, transB, accumulate, variant });
        scope.run([dispatch]);
        runs.push({ kernel: `matmul.${variant}.${name}`, out, expected });
      }
    }
    const checks: KernelCheck[] = [];
    for (const run of runs) {
      checks.push(check(run.kernel, formatShape(shape), [maxAbsError(await scope.read(run.out), run.expected)], matmulTolerance(K)));
    }
    return checks;
  });
}

import type { GpuContext } from '../gpu/context';
import { checkResidual } from './residual';
import { checkMatmul, matmulSelfTestShapes } from './matmul';
import { checkEmbedding, embeddingSelfTestShapes } from './embedding';
import { checkRmsnorm, rmsnormSelfTestShapes } from './rmsnorm';
import { checkRope, ropeSelfTestShapes } from './rope';
import { checkSwiglu, swigluSelfTestShapes } from './swiglu';
import { attentionSelfTestShapes, checkAttention } from './attention';
import { checkCrossEntropy, crossEntropySelfTestShapes } from './crossEntropy';
import { checkGradNorm, gradNormSelfTestShapes } from './gradNorm';
import { adamwSelfTestShapes, checkAdamw } from './adamw';
import type { KernelCheck } from './harness';

/**
 * The kernel self-test: every kernel family on a few small shapes (including R > 1 and awkward sizes)
 * against the CPU reference. The same list runs in `npm run selftest`, in the page's device panel
 * (inside a Worker) and in the e2e test.
 */
export interface SelfTestFamily {
  family: string;
  run(ctx: GpuContext): Promise<KernelCheck[]>;
}

function family<S>(name: string, shapes: readonly S[], check: (ctx: GpuContext, shape: S) => Promise<KernelCheck[]>): SelfTestFamily {
  return {
    family: name,
    async run(ctx) {
      const results: KernelCheck[] = [];
      for (const shape of shapes) results.push(...await check(ctx, shape));
      return results;
    },
  };
}

export const selfTestFamilies: SelfTestFamily[] = [
  family('matmul', matmulSelfTestShapes, (ctx, shape) => checkMatmul(ctx, shape)),
  family('embedding', embeddingSelfTestShapes, checkEmbedding),
  family('rmsnorm', rmsnormSelfTestShapes, checkRmsnorm),
  family('rope', ropeSelfTestShapes, checkRope),
  family('attention', attentionSelfTestShapes, checkAttention),
  family('residual', [{ R: 2, n: 65 }, { R: 3, n: 1030 }], checkResidual),
  family('swiglu', swigluSelfTestShapes, checkSwiglu),
  family('crossEntropy', crossEntropySelfTestShapes, checkCrossEntropy),
  family('gradNorm', gradNormSelfTestShapes, checkGradNorm),
  family('adamw', adamwSelfTestShapes, checkAdamw),
];

/** Runs every family; `onCheck` sees each row as soon as it is known. A family that throws becomes a failing row. */
export async function runSelfTest(ctx: GpuContext, onCheck?: (check: KernelCheck) => void): Promise<KernelCheck[]> {
  const all: KernelCheck[] = [];
  for (const f of selfTestFamilies) {
    let rows: KernelCheck[];
    try {
      rows = await f.run(ctx);
    } catch (error) {
      rows = [{ kernel: f.family, shape: `error: ${(error as Error).message}`, maxAbsError: Infinity, tolerance: 0, pass: false }];
    }
    for (const row of rows) {
      all.push(row);
      onCheck?.(row);
    }
  }
  return all;
}

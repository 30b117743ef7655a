import type { GpuContext } from '../gpu/context';
import { accumulate, residualAdd } from '../kernels/residual';
import { residualAddReference } from '../reference/residual';
import { randomFloats } from '../util/random';
import { check, formatShape, maxAbsError, withScope, type KernelCheck } from './harness';

export interface ResidualShape { R: number; n: number }

/** residualAdd and accumulate on R runs of n elements each, against the reference. */
export async function checkResidual(ctx: GpuContext, shape: ResidualShape, seed = 1): Promise<KernelCheck[]> {
  const count = shape.R * shape.n;
  const a = randomFloats(seed, count);
  const b = randomFloats(seed + 1, count);
  const expected = residualAddReference(a, b);
  return withScope(ctx, async (scope) => {
    const aBuf = scope.upload('a', a);
    const bBuf = scope.upload('b', b);
    const out = scope.zeros('out', count);
    const target = scope.upload('target', a);
    scope.run([
      await residualAdd(ctx, { a: aBuf, b: bBuf, out, count }),
      await accumulate(ctx, { target, addend: bBuf, count }),
    ]);
    const name = formatShape(shape);
    return [
      check('residual.add', name, [maxAbsError(await scope.read(out), expected)], 1e-6),
      check('residual.accumulate', name, [maxAbsError(await scope.read(target), expected)], 1e-6),
    ];
  });
}

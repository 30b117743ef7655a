import { describe, expect, it } from 'vitest';
import { checkResidual } from '../src/selftest/residual';
import { testContext } from './gpuContext';

describe('residual kernels on WebGPU vs reference', () => {
  for (const shape of [{ R: 1, n: 1 }, { R: 3, n: 7 }, { R: 2, n: 65 }, { R: 5, n: 1030 }]) {
    it(`R=${shape.R} n=${shape.n}`, async () => {
      const ctx = await testContext();
      for (const result of await checkResidual(ctx, shape)) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }
});

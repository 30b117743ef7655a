import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/gpu/context';
import { swigluBackward, swigluForward } from '../src/kernels/swiglu';
import { sigmoid, swigluBackwardReference, swigluForwardReference } from '../src/reference/swiglu';
import { withScope } from '../src/selftest/harness';
import { checkSwiglu, swigluInputs, swigluSelfTestShapes, type SwigluShape } from '../src/selftest/swiglu';
import { randomFloats } from '../src/util/random';
import { dot, maxAbsDiff, numericGradient, toFloat64 } from './finiteDifference';
import { testContext } from './gpuContext';

interface Outputs { h: Float32Array; dGate: Float32Array; dUp: Float32Array }

async function runSwiglu(ctx: GpuContext, inputs: { gate: Float32Array; up: Float32Array; dh: Float32Array }): Promise<Outputs> {
  const count = inputs.gate.length;
  return withScope(ctx, async (scope) => {
    const gate = scope.upload('gate', inputs.gate);
    const up = scope.upload('up', inputs.up);
    const dh = scope.upload('dh', inputs.dh);
    const h = scope.zeros('h', count);
    const dGate = scope.zeros('dGate', count);
    const dUp = scope.zeros('dUp', count);
    scope.run([
      await swigluForward(ctx, { gate, up, h, count }),
      await swigluBackward(ctx, { dh, gate, up, dGate, dUp, count }),
    ]);
    return { h: await scope.read(h, count), dGate: await scope.read(dGate, count), dUp: await scope.read(dUp, count) };
  });
}

function expectBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  expect(ua.length, what).toBe(ub.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}

describe('swiglu kernels on WebGPU vs reference', () => {
  const shapes: SwigluShape[] = [
    ...swigluSelfTestShapes,
    { R: 2, N: 1, F: 1 },
    { R: 3, N: 7, F: 33 },
    { R: 2, N: 4, F: 65 },
    { R: 4, N: 9, F: 130 },
  ];
  for (const shape of shapes) {
    it(`R=${shape.R} N=${shape.N} F=${shape.F}`, async () => {
      const ctx = await testContext();
      const results = await checkSwiglu(ctx, shape, 3);
      expect(results.map((r) => r.kernel)).toEqual(['swiglu.forward', 'swiglu.backward']);
      for (const result of results) {
        expect(result.maxAbsError, `${result.kernel} ${result.shape}`).toBeLessThanOrEqual(result.tolerance);
      }
    });
  }

  it('is finite and accurate for large |gate| (no exp overflow)', async () => {
    const ctx = await testContext();
    const gate = Float32Array.from([-1e30, -1e4, -1000, -100, -89, -88, -30, -1, 0, 1, 30, 88, 89, 100, 1000, 1e4, 1e30]);
    const up = new Float32Array(gate.length).fill(0.75);
    const dh = new Float32Array(gate.length).fill(-1.25);
    const out = await runSwiglu(ctx, { gate, up, dh });
    const h = swigluForwardReference(gate, up);
    const { dGate, dUp } = swigluBackwardReference(dh, gate, up);
    for (let i = 0; i < gate.length; i++) {
      for (const [name, got, want] of [['h', out.h[i], h[i]], ['dGate', out.dGate[i], dGate[i]], ['dUp', out.dUp[i], dUp[i]]] as const) {
        expect(Number.isFinite(got), `${name} at gate=${gate[i]}`).toBe(true);
        expect(Math.abs(got - want), `${name} at gate=${gate[i]}: ${got} vs ${want}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('keeps runs isolated: changing run 1 leaves runs 0 and 2 bit-identical', async () => {
    const ctx = await testContext();
    const shape = { R: 3, N: 3, F: 65 };
    const per = shape.N * shape.F;
    const base = swigluInputs(shape, 21);
    const changed = { gate: base.gate.slice(), up: base.up.slice(), dh: base.dh.slice() };
    changed.gate.set(randomFloats(77, per, 6), per);
    changed.up.set(randomFloats(78, per), per);
    changed.dh.set(randomFloats(79, per), per);
    const a = await runSwiglu(ctx, base);
    const b = await runSwiglu(ctx, changed);
    for (const key of ['h', 'dGate', 'dUp'] as const) {
      for (const r of [0, 2]) {
        expectBitIdentical(a[key].subarray(r * per, (r + 1) * per), b[key].subarray(r * per, (r + 1) * per), `${key} run ${r}`);
      }
      expect(maxAbsDiff(a[key].subarray(per, 2 * per), b[key].subarray(per, 2 * per)), `${key} run 1`).toBeGreaterThan(1e-3);
    }
  });
});

describe('swiglu reference', () => {
  it('matches known values of silu', () => {
    // silu(1) = 1/(1+e^-1), silu(-2) = -2/(1+e^2)
    const h = swigluForwardReference([0, 1, -2, 40, -40], [1, 1, 1, 2, 1]);
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(0.7310585786300049, 15);
    expect(h[2]).toBeCloseTo(-0.2384058440442351, 15);
    expect(h[3]).toBeCloseTo(80, 12);
    expect(Math.abs(h[4])).toBeLessThan(1e-15);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(1000)).toBe(1);
  });

  for (const count of [1, 7, 20]) {
    it(`backward matches finite differences of the forward (${count} elements)`, () => {
      const gate = toFloat64(randomFloats(4, count, 4));
      const up = toFloat64(randomFloats(5, count));
      const dh = toFloat64(randomFloats(6, count));
      const analytic = swigluBackwardReference(dh, gate, up);
      const numericGate = numericGradient((g) => dot(dh, swigluForwardReference(g, up)), gate);
      const numericUp = numericGradient((u) => dot(dh, swigluForwardReference(gate, u)), up);
      expect(maxAbsDiff(analytic.dGate, numericGate)).toBeLessThan(1e-7);
      expect(maxAbsDiff(analytic.dUp, numericUp)).toBeLessThan(1e-7);
      // Far above the tolerance, so a zero (or missing) backward could not pass.
      expect(Math.max(...Array.from(numericGate, Math.abs))).toBeGreaterThan(1e-5);
      expect(Math.max(...Array.from(numericUp, Math.abs))).toBeGreaterThan(1e-5);
    });
  }
});

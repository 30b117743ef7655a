import { describe, expect, it } from 'vitest';
import { Study } from '../src/engine/gpuStudy';
import { CpuStudy } from '../src/engine/cpuStudy';
import { preset, type StudyConfig } from '../src/config/presets';
import { StudyCheckpointError, decodeStudyCheckpoint, encodeStudyCheckpoint } from '../src/engine/checkpoint';
import type { StudyEngine } from '../src/engine/studyEngine';
import { testContext } from './gpuContext';

function config(): StudyConfig {
  return { ...preset('tiny'), steps: 12, arms: [0, 0.15], seedsPerArm: 2, evaluation: { every: 4, count: 8, buckets: 2, seed: 3 } };
}

async function losses(engine: StudyEngine, steps: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let s = 0; s < steps; s++) {
    engine.trainStep();
    out.push((await engine.intervalReport()).losses);
  }
  return out;
}

describe('study checkpoints', () => {
  it('GPU: resuming from a saved (encoded, decoded) state continues bit-identically', async () => {
    const ctx = await testContext();
    const uninterrupted = await Study.create(ctx, config());
    await losses(uninterrupted, 8);
    const expectedParams = await uninterrupted.model.readParams();
    const expectedEval = await uninterrupted.evaluate();
    uninterrupted.dispose();

    const first = await Study.create(ctx, config());
    await losses(first, 4);
    const bytes = encodeStudyCheckpoint({ state: await first.saveState(), extra: { history: [1, 2, 3] } });
    first.dispose();

    const decoded = decodeStudyCheckpoint(bytes);
    expect(decoded.extra).toEqual({ history: [1, 2, 3] });
    expect(decoded.state.step).toBe(4);
    const resumed = await Study.create(ctx, config());
    resumed.restoreState({ ...decoded.state, frozen: [false, false, false, true] });
    expect(resumed.isFrozen(3)).toBe(true);
    resumed.restoreState(decoded.state);
    expect(resumed.isFrozen(3)).toBe(false);
    await losses(resumed, 4);
    expect(resumed.step).toBe(8);
    const params = await resumed.model.readParams();
    expect(params.every((v, i) => Object.is(v, expectedParams[i]))).toBe(true);
    expect(await resumed.evaluate()).toEqual(expectedEval);
    resumed.dispose();
  });

  it('CPU fallback: resumes bit-identically too, and refuses a GPU checkpoint', async () => {
    const ctx = await testContext();
    const c = { ...config(), seedsPerArm: 1 };
    const uninterrupted = await CpuStudy.create(c);
    const all = await losses(uninterrupted, 4);
    const cpu = await CpuStudy.create(c);
    await losses(cpu, 2);
    const state = decodeStudyCheckpoint(encodeStudyCheckpoint({ state: await cpu.saveState(), extra: null })).state;
    const resumed = await CpuStudy.create(c);
    resumed.restoreState(state);
    expect(await losses(resumed, 2)).toEqual(all.slice(2));
    const gpu = await Study.create(ctx, c);
    const gpuState = decodeStudyCheckpoint(encodeStudyCheckpoint({ state: await gpu.saveState(), extra: null })).state;
    expect(() => resumed.restoreState(gpuState)).toThrow(/saved by the GPU engine/);
    gpu.dispose();
  });

  it('refuses corrupt or mismatched files with a clear reason', async () => {
    const ctx = await testContext();
    const study = await Study.create(ctx, config());
    const bytes = encodeStudyCheckpoint({ state: await study.saveState(), extra: null });
    const refuse = (b: Uint8Array, reason: RegExp) => {
      expect(() => decodeStudyCheckpoint(b)).toThrow(StudyCheckpointError);
      expect(() => decodeStudyCheckpoint(b)).toThrow(reason);
    };
    refuse(bytes.subarray(0, 5), /too small/);
    refuse(bytes.subarray(0, bytes.length - 4), /truncated/);
    const lying = bytes.slice();
    new DataView(lying.buffer).setBigUint64(0, BigInt(bytes.length * 2), true);
    refuse(lying, /header claims/);
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(nan.length - 4, Number.NaN, true);
    refuse(nan, /non-finite/);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const garbled = bytes.slice();
    garbled[8] = 0x78; // 'x' instead of '{'
    refuse(garbled, /not valid JSON/);
    const other = { ...config(), baseSeed: 99 };
    const otherStudy = await Study.create(ctx, other);
    expect(() => otherStudy.restoreState(decodeStudyCheckpoint(bytes).state)).toThrow(/different study configuration/);
    expect(headerLength).toBeGreaterThan(0);
    otherStudy.dispose();
    study.dispose();
  });
});

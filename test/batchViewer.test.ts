import { describe, expect, it } from 'vitest';
import { Study } from '../src/engine/gpuStudy';
import { CpuStudy } from '../src/engine/cpuStudy';
import { TrainingSession } from '../src/session/session';
import { armRows } from '../src/store/batch';
import { maskCount } from '../src/data/maskPolicy';
import { preset, type StudyConfig } from '../src/config/presets';
import type { FromTrainer } from '../src/session/protocol';
import { testContext } from './gpuContext';

const config = (): StudyConfig => ({ ...preset('tiny'), steps: 10, batch: 4, seedsPerArm: 2, evaluation: { every: 5, count: 8, buckets: 2, seed: 5 } });

describe('the batch viewer', () => {
  it("the GPU engine's last batch: the arms share tokens per seed, NTP masks nothing, MEAP its ratio; the CPU engine drew the same", async () => {
    const ctx = await testContext();
    const c = config();
    const gpu = await Study.create(ctx, c);
    const cpu = CpuStudy.create(c);
    expect(gpu.lastBatch()).toBeNull();
    for (let s = 0; s < 3; s++) { gpu.trainStep(); cpu.trainStep(); }
    const batch = gpu.lastBatch()!;
    expect(batch.step).toBe(3);
    const { B, T } = batch;
    expect(batch.tokens).toHaveLength(gpu.R * B * (T + 1));
    // Runs: arm 0 (NTP) seeds 0, 1; arm 1 (MEAP 15 %) seeds 0, 1.
    const tokensOf = (r: number) => Array.from(batch.tokens.subarray(r * B * (T + 1), (r + 1) * B * (T + 1)));
    expect(tokensOf(2)).toEqual(tokensOf(0));
    expect(tokensOf(3)).toEqual(tokensOf(1));
    expect(tokensOf(1)).not.toEqual(tokensOf(0));
    const maskedIn = (r: number, b: number) => batch.mask.subarray((r * B + b) * T, (r * B + b + 1) * T).reduce((n, m) => n + m, 0);
    for (let b = 0; b < B; b++) {
      expect(maskedIn(0, b)).toBe(0);
      expect(maskedIn(2, b)).toBe(maskCount(0.15, T));
    }
    const same = cpu.lastBatch()!;
    expect(Array.from(same.tokens)).toEqual(Array.from(batch.tokens));
    expect(Array.from(same.mask)).toEqual(Array.from(batch.mask));
    // A copy: the next step does not change what was handed out.
    const copy = Array.from(batch.mask);
    gpu.trainStep();
    expect(Array.from(batch.mask)).toEqual(copy);
    // After a restore the arrays no longer hold a step's batch.
    gpu.restoreState(await gpu.saveState());
    expect(gpu.lastBatch()).toBeNull();
    gpu.dispose();
    cpu.dispose();
  });

  it("the session answers 'batch': the reason before a step, the step's batch after", async () => {
    const messages: FromTrainer[] = [];
    const session = new TrainingSession({ post: (m) => { messages.push(m); }, createContext: testContext });
    await session.handle({ type: 'configure', config: config(), presetName: 'tiny' });
    await session.handle({ type: 'batch', requestId: 1 });
    await session.handle({ type: 'step' });
    await session.handle({ type: 'batch', requestId: 2 });
    const answers = messages.filter((m): m is Extract<FromTrainer, { type: 'batch' }> => m.type === 'batch');
    expect(answers[0]).toMatchObject({ requestId: 1, batch: null });
    expect(answers[0].error).toMatch(/take a step first/);
    expect(answers[1]).toMatchObject({ requestId: 2, error: null });
    expect(answers[1].batch!.step).toBe(1);
    // What the viewer draws: seed 0 of each arm, the sequence's T inputs and their mask.
    const rows = armRows(answers[1].batch!, session.currentEngine!.runs, 0);
    expect(rows.map((r) => [r.run, r.info.maskRatio])).toEqual([[0, 0], [2, 0.15]]);
    expect(rows[0].tokens).toEqual(rows[1].tokens);
    expect(rows[0].masked.filter(Boolean)).toHaveLength(0);
    expect(rows[1].masked.filter(Boolean)).toHaveLength(maskCount(0.15, 16));
    expect(rows[1].replacedBy.every((r) => r === null)).toBe(true); // [MASK], not a replacement
    await session.dispose();
  });

  it('a replace control\'s rows say which token the model saw instead of [MASK]', () => {
    const T = 4;
    const batch = { step: 1, B: 1, T, tokens: Uint32Array.from([9, 10, 11, 12, 13, 9, 10, 11, 12, 13]), mask: Uint32Array.from([0, 0, 0, 0, 0, 1, 2 + 20, 0]) };
    const runs = [{ arm: 0, maskRatio: 0, seed: 0, objective: 'ntp' as const }, { arm: 1, maskRatio: 0.15, seed: 0, objective: 'meap' as const }];
    const [ntp, meap] = armRows(batch, runs, 0);
    expect(ntp.replacedBy).toEqual([null, null, null, null]);
    expect(meap.masked).toEqual([false, true, true, false]);
    expect(meap.replacedBy).toEqual([null, null, 20, null]);
  });
});

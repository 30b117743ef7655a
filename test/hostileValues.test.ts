/**
 * Lenient values refused or explained (issue 18 item 6): the CLI's numbers are decimal notation only (no hex,
 * octal, binary, spaces, "+" or empty strings read as 0); a link's refused `checkpointEvery` gets a notice like
 * every other refused link value; a run frozen after an upload names the upload as the likely cause, not the
 * learning rate.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCompareArgs, UsageError } from '../src/cli/args';
import { configFromQuery } from '../src/store/configCodec';
import { parseDecimal } from '../src/util/decimal';
import { TrainingSession } from '../src/session/session';
import type { FromTrainer } from '../src/session/protocol';
import { writeSafetensors } from '../src/export/safetensors';
import { parameterLayout } from '../src/model/layout';
import { preset, type StudyConfig } from '../src/config/presets';
import { testContext } from './gpuContext';

describe('CLI numbers: decimal notation only', () => {
  it.each([
    ['--steps', '0x10'], ['--steps', '0o17'], ['--steps', '0b101'], ['--steps', ' 50'], ['--steps', '+50'], ['--steps', '1_000'],
    ['--seeds', '0x2'], ['--base-seed', '0xff'], ['--eval-every', '1e1 '], ['--lr', '0x1p-3'], ['--lr', '.'], ['--lr', '1e'],
    ['--mask-ratio', '0x0'], ['--mask-ratios', '0,0b1'],
  ])('refuses %s %j naming the flag', (flag, value) => {
    expect(() => parseCompareArgs([flag, value])).toThrow(UsageError);
    expect(() => parseCompareArgs([flag, value])).toThrow(new RegExp(`^${flag} must be an? (integer|number), got `));
  });

  it('accepts digits, fractions and exponents', () => {
    expect(parseCompareArgs(['--steps', '1e3', '--lr', '3e-4', '--mask-ratio', '.25', '--seeds', '2']).config)
      .toMatchObject({ steps: 1000, optimizer: { lr: 3e-4 }, arms: [0, 0.25], seedsPerArm: 2 });
    expect(parseCompareArgs(['--base-seed', '007']).config.baseSeed).toBe(7);
  });
});

describe('link values: decimal notation only, like the CLI', () => {
  it.each([['steps', '0x10'], ['batch', '0b100'], ['lr', 'Infinity'], ['seedsPerArm', '+2'], ['arms', '0,0x0'], ['evalEvery', '0o7']])(
    'ignores %s=%j with a notice instead of reading it as a number', (field, raw) => {
      const parsed = configFromQuery(`?${field}=${encodeURIComponent(raw)}`);
      expect(parsed.notices).toHaveLength(1);
      expect(parsed.notices[0]).toMatch(new RegExp(`^Ignored ${field}=.* must be a number in decimal notation\\.$`));
      expect(parsed.config).toEqual(configFromQuery('').config);
    },
  );

  it('takes fractions and exponents, as the links the page writes', () => {
    const parsed = configFromQuery('?lr=3e-4&arms=0,.15&steps=1e3');
    expect(parsed.notices).toEqual([]);
    expect(parsed.config).toMatchObject({ steps: 1000, optimizer: { lr: 3e-4 }, arms: [0, 0.15] });
  });

  it('the same rule everywhere a number is typed', () => {
    for (const text of ['0x10', '+5', '', ' ', 'Infinity', '1e', '.', '1_000']) expect(parseDecimal(text), text).toBeNull();
    expect([parseDecimal('16'), parseDecimal('-0.5'), parseDecimal('3e-4'), parseDecimal('.25')]).toEqual([16, -0.5, 3e-4, 0.25]);
  });
});

describe('a link\'s checkpointEvery', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  async function pageWith(search: string) {
    vi.resetModules();
    vi.stubGlobal('location', { search, pathname: '/', hash: '' });
    const { useCheckpoints } = await import('../src/store/checkpoints');
    const { useConfig } = await import('../src/store/config');
    return { every: useCheckpoints.getState().everySteps, notices: useConfig.getState().notices };
  }

  it.each(['abc', '0', '-5', '0x10', '1e2', '2000000', ' 7'])('refuses checkpointEvery=%j with a notice quoting it as text', async (raw) => {
    const { every, notices } = await pageWith(`?preset=tiny&checkpointEvery=${encodeURIComponent(raw)}`);
    expect(every).toBe(100);
    expect(notices).toEqual([`Ignored checkpointEvery=${JSON.stringify(raw)} from the link: a whole number of steps from 1 to 1,000,000 (checkpoints every 100 steps).`]);
  });

  it('takes a valid one silently', async () => {
    expect(await pageWith('?preset=tiny&checkpointEvery=25')).toEqual({ every: 25, notices: [] });
  });
});

describe('the freeze message names the likely cause', () => {
  it('a run that diverges after an upload blames the upload, not the learning rate', async () => {
    const messages: FromTrainer[] = [];
    const session = new TrainingSession({ post: (m) => { messages.push(m); }, createContext: testContext, reportEveryMs: 0 });
    const config: StudyConfig = { ...preset('tiny'), steps: 12, evaluation: { every: 4, count: 8, buckets: 2, seed: 5 } };
    await session.handle({ type: 'configure', config });
    await session.handle({ type: 'step' });
    // Finite weights so large that the first norm overflows: the run's loss becomes NaN.
    const huge = new Float32Array(parameterLayout(config.model).P).fill(1e30);
    const upload = { name: 'huge.safetensors', safetensors: writeSafetensors(config.model, huge), configJson: null };
    await session.handle({ type: 'loadModel', requestId: 1, run: 1, upload });
    expect(messages.find((m) => m.type === 'modelLoaded')).toMatchObject({ run: 1, error: null });
    await session.handle({ type: 'step' });
    const failed = messages.filter((m): m is Extract<FromTrainer, { type: 'runFailed' }> => m.type === 'runFailed');
    expect(failed.map((m) => m.run)).toEqual([1]);
    expect(failed[0].message).toMatch(/The likely cause is the model uploaded into this run at step 1: /);
    expect(failed[0].message).toMatch(/optimizer\.lr = 0\.01/);
    expect(failed[0].message).not.toMatch(/learning rate too high/);
    await session.dispose();
  });
});

/**
 * The page's report inputs from the training session: 'analyseAttention' (the same attention analyses as
 * `npm run reproduce`, on the live models) and the zero-shot probe of a config that has one (its retrieval
 * accuracy replaces the task's in every evaluation, as in the CLI's pretrain-then-probe study).
 */
import { describe, expect, it } from 'vitest';
import { MAX_ANALYSIS_EXAMPLES, TrainingSession } from '../src/session/session';
import { preset, type StudyConfig } from '../src/config/presets';
import type { FromTrainer } from '../src/session/protocol';
import { analyseAttention, probeSetFor, zeroShotRetrieval } from '../src/engine/modelAnalysis';
import { quickDefinition, studyDefinition } from '../src/study/studies';
import { studyConfigIssue } from '../src/config/schema';
import { WebGpuUnavailableError } from '../src/gpu/errors';
import { testContext } from './gpuContext';

type Message<K extends FromTrainer['type']> = Extract<FromTrainer, { type: K }>;

function harness(createContext = testContext) {
  const messages: FromTrainer[] = [];
  const session = new TrainingSession({ post: (message) => { messages.push(message); }, createContext });
  const of = <K extends FromTrainer['type']>(type: K) => messages.filter((m): m is Message<K> => m.type === type);
  return { session, messages, of };
}

function tinyStudy(steps = 8): StudyConfig {
  return { ...preset('tiny'), steps, evaluation: { every: 4, count: 8, buckets: 2, seed: 5 } };
}

async function trained(h: ReturnType<typeof harness>, config: StudyConfig): Promise<void> {
  await h.session.handle({ type: 'init', allowCpuFallback: true });
  await h.session.handle({ type: 'configure', config });
  for (let s = 0; s < config.steps; s++) await h.session.handle({ type: 'step' });
}

describe('analyseAttention', () => {
  it('answers with one record per run, equal to analyseAttention on the engine itself', async () => {
    const h = harness();
    const config = tinyStudy();
    await trained(h, config);
    await h.session.handle({ type: 'analyseAttention', requestId: 7, examples: 3 });
    const answer = h.of('attentionAnalysis').at(-1)!;
    expect(answer).toMatchObject({ requestId: 7, step: config.steps, error: null });
    const records = answer.records!;
    expect(records).toHaveLength(config.arms.length);
    for (const r of records) {
      expect(r.examples).toEqual([0, 1, 2]);
      expect(r.segmentMass.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(r.headEntropy).toHaveLength(config.model.layers);
      expect(Number.isFinite(r.scoreDecay) && Number.isFinite(r.varianceIncrease)).toBe(true);
    }
    // The session measures the live models exactly as the CLI's runner does (deterministic: bit-equal).
    const direct = await analyseAttention(h.session.currentEngine!, null, 3);
    expect(records).toEqual(direct);
    // The two arms trained differently, so their attention differs.
    expect(records[0].segmentMass).not.toEqual(records[1].segmentMass);
    await h.session.dispose();
  });

  it('refuses without a study and with a bad example count, answering the request', async () => {
    const h = harness();
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    await h.session.handle({ type: 'analyseAttention', requestId: 1, examples: 2 });
    expect(h.of('attentionAnalysis')[0]).toMatchObject({ requestId: 1, records: null, error: expect.stringMatching(/configure/i) });
    await h.session.handle({ type: 'configure', config: tinyStudy() });
    for (const examples of [0, MAX_ANALYSIS_EXAMPLES + 1, 1.5]) {
      await h.session.handle({ type: 'analyseAttention', requestId: 2, examples });
      expect(h.of('attentionAnalysis').at(-1)).toMatchObject({ requestId: 2, records: null, error: expect.stringMatching(/whole number from 1 to 64/) });
    }
    await h.session.dispose();
  });

  it('the CPU fallback gives the same analysis as the GPU (to float32 rounding)', async () => {
    const config = tinyStudy(4);
    const gpu = harness();
    const cpu = harness(() => Promise.reject(new WebGpuUnavailableError('no adapter')));
    for (const h of [gpu, cpu]) {
      await trained(h, config);
      await h.session.handle({ type: 'analyseAttention', requestId: 3, examples: 2 });
    }
    const [g, c] = [gpu.of('attentionAnalysis')[0].records!, cpu.of('attentionAnalysis')[0].records!];
    expect(cpu.of('engine')[0].engine).toBe('cpu');
    for (let r = 0; r < g.length; r++) {
      g[r].segmentMass.forEach((m, s) => expect(Math.abs(m - c[r].segmentMass[s])).toBeLessThan(1e-3));
      expect(Math.abs(g[r].onMaskedClean - c[r].onMaskedClean)).toBeLessThan(1e-3);
    }
    await gpu.session.dispose();
    await cpu.session.dispose();
  });
});

describe('zero-shot probe in the session', () => {
  it('replaces the text task\'s retrieval score by the probe\'s in every evaluation', async () => {
    const config = { ...quickDefinition(studyDefinition('pretrain-then-probe')).config, steps: 4, seedsPerArm: 1 };
    config.evaluation = { ...config.evaluation, every: 4 };
    const probe = config.zeroShotProbe!;
    const h = harness();
    await trained(h, config);
    const point = h.of('evaluation').at(-1)!;
    expect(point.step).toBe(4);
    const expected = await zeroShotRetrieval(h.session.currentEngine!, probeSetFor(config)!);
    point.points.forEach((p, r) => {
      expect(p.retrievalAcc).toBe(expected[r].acc);
      expect(p.accByDepth).toEqual(expected[r].byDepth);
      expect(p.accByDepth).toHaveLength(probe.buckets);
    });
    // Without the probe the text task scores no retrieval at all.
    const plain = (await h.session.currentEngine!.evaluate())[0];
    expect(Number.isNaN(plain.retrievalAcc)).toBe(true);
    await h.session.dispose();
  });

  it('the schema takes a zero-shot probe on the text task only', () => {
    const text = studyDefinition('pretrain-then-probe').config;
    expect(studyConfigIssue(text)).toBeNull();
    expect(studyConfigIssue({ ...tinyStudy(), zeroShotProbe: text.zeroShotProbe })?.message).toMatch(/zeroShotProbe/);
    expect(studyConfigIssue({ ...text, zeroShotProbe: { ...text.zeroShotProbe, kind: 'other' } })?.message).toMatch(/text-needle/);
    expect(studyConfigIssue({ ...text, zeroShotProbe: { ...text.zeroShotProbe, count: 0 } })?.message).toMatch(/count/);
  });
});

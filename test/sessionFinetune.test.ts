/**
 * The fine-tuning stage in the training session (src/session/finetune.ts): 'finetune' builds stage 2 from the
 * pretrained runs' weights on both engines, 'built' and 'state' say the stage, Reset fine-tunes again from the
 * same base, stage 2's checkpoints are stored beside stage 1's (never replacing them) and resume as stage 2.
 */
import { describe, expect, it } from 'vitest';
import { TrainingSession, type SessionOptions } from '../src/session/session';
import { preset, type StudyConfig } from '../src/config/presets';
import { finetuneStageConfig } from '../src/config/finetuneStage';
import type { FromTrainer } from '../src/session/protocol';
import { memoryCheckpointStore } from '../src/session/checkpointStore';
import { checkpointKey } from '../src/session/checkpointKeys';
import { WebGpuUnavailableError } from '../src/gpu/errors';
import { testContext } from './gpuContext';
import { createGpuContext, type GpuContext } from '../src/gpu/context';
import { nodeGpu } from '../src/gpu/node';

type Message<K extends FromTrainer['type']> = Extract<FromTrainer, { type: K }>;

function qaStudy(batch = 4): StudyConfig {
  const c = preset('qa-tiny');
  return {
    ...c, steps: 6, batch, evaluation: { ...c.evaluation, every: 3, count: 8 },
    finetune: { ...c.finetune!, steps: 4, warmupSteps: 1, minAnswer: 2, maskFraction: 0.5 },
  };
}

function harness(options: Partial<SessionOptions> = {}) {
  const messages: FromTrainer[] = [];
  const session = new TrainingSession({ post: (message) => { messages.push(message); }, createContext: testContext, ...options });
  const of = <K extends FromTrainer['type']>(type: K, from = 0) =>
    messages.slice(from).filter((m): m is Message<K> => m.type === type);
  const waitFor = async (predicate: (m: FromTrainer) => boolean, from = 0, timeoutMs = 120_000): Promise<FromTrainer> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = messages.slice(from).find(predicate);
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`timed out; got ${messages.slice(from).map((m) => m.type).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const done = (m: FromTrainer) => m.type === 'state' && m.state === 'done';
  return { session, messages, of, waitFor, done };
}

const noGpu = () => Promise.reject(new WebGpuUnavailableError('no adapter'));

describe.each([['webgpu', {}], ['cpu', { createContext: noGpu }]] as const)('fine-tuning stage in the session (%s)', (engine, options) => {
  it('pretrains, fine-tunes every variant from the pretrained weights, says the stage, resets to the same base', async () => {
    const store = memoryCheckpointStore();
    const h = harness({ ...options, checkpointStore: store });
    // The CPU fallback trains nothing larger than the tiny preset: stage 2 (2 variants, masked copies) at batch 1.
    const study = qaStudy(engine === 'cpu' ? 1 : 4);
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    expect(h.of('engine')[0].engine).toBe(engine);
    await h.session.handle({ type: 'configure', config: study });
    expect(h.of('built')[0]).toMatchObject({ stage: 'pretrain', study, config: study });
    let from = h.messages.length;
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    expect(h.of('state', from).at(-1)).toEqual({ type: 'state', state: 'done', step: 6 });
    const pretrained = Float32Array.from((await h.session.currentEngine!.saveState()).params);

    from = h.messages.length;
    await h.session.handle({ type: 'finetune' });
    expect(h.of('error', from)).toEqual([]);
    const built = h.of('built', from)[0];
    const stage = finetuneStageConfig(study);
    expect(built).toMatchObject({ stage: 'finetune', study, config: stage });
    expect(built.runs.map((r) => r.finetune)).toEqual(['sft', 'meap-sft']);
    expect(h.of('state', from).at(-1)).toMatchObject({ state: 'idle', step: 0, stage: 'finetune' });
    // Stage 2 starts from the pretrained weights: both variants hold run 0's weights.
    const start = Float32Array.from((await h.session.currentEngine!.saveState()).params);
    expect(start.subarray(0, pretrained.length)).toEqual(pretrained);
    expect(start.subarray(pretrained.length)).toEqual(pretrained);

    from = h.messages.length;
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    const evals = h.of('evaluation', from);
    expect(evals.map((e) => e.step)).toEqual([3, 4]);
    for (const e of evals) {
      expect(e.points).toHaveLength(2);
      for (const p of e.points) {
        expect(p.accByDepth).toHaveLength(study.evaluation.buckets);
        expect(Number.isFinite(p.tokenAcc)).toBe(true);
        expect(Number.isFinite(p.answerLoss)).toBe(true);
      }
    }
    const finalLosses = evals.at(-1)!.points.map((p) => p.answerLoss);

    // Both stages' checkpoints are stored under their own keys: stage 2 never replaces stage 1.
    await h.session.handle({ type: 'listCheckpoints' });
    const list = h.of('checkpoints').at(-1)!.list;
    expect(list.find((s) => s.key === checkpointKey(engine, study))?.step).toBe(6);
    expect(list.find((s) => s.key === checkpointKey(engine, stage))?.step).toBe(4);

    // Reset: stage 2 again from the same pretrained models, the same curves.
    from = h.messages.length;
    await h.session.handle({ type: 'reset' });
    expect(h.of('built', from)[0]).toMatchObject({ stage: 'finetune', config: stage });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    expect(h.of('evaluation', from).at(-1)!.points.map((p) => p.answerLoss)).toEqual(finalLosses);

    // Fine-tuning the fine-tuning stage is refused and changes nothing.
    from = h.messages.length;
    await h.session.handle({ type: 'finetune' });
    expect(h.of('error', from)[0].message).toMatch(/already its fine-tuning stage/);
    expect(h.of('built', from)).toHaveLength(0);

    // A stage-2 checkpoint resumes as stage 2 in a new session (its study config comes with it), and finds its
    // pretrained models in the study's own checkpoint: Reset there fine-tunes them again, to the same end.
    const b = harness({ ...options, checkpointStore: store });
    await b.session.handle({ type: 'init', allowCpuFallback: true });
    await b.session.handle({ type: 'resume', key: checkpointKey(engine, stage) });
    expect(b.of('built')[0]).toMatchObject({ stage: 'finetune', study, config: stage });
    expect(b.of('restored')[0]).toMatchObject({ step: 4 });
    expect(b.of('restored')[0].history.evals.points.at(-1)!.map((p) => p.answerLoss)).toEqual(finalLosses);
    expect(b.of('state').at(-1)).toMatchObject({ state: 'done', stage: 'finetune' });
    from = b.messages.length;
    await b.session.handle({ type: 'reset' });
    expect(b.of('built', from)[0]).toMatchObject({ stage: 'finetune', config: stage });
    await b.session.handle({ type: 'start' });
    await b.waitFor(b.done, from);
    expect(b.of('evaluation', from).at(-1)!.points.map((p) => p.answerLoss)).toEqual(finalLosses);

    // Without the study's checkpoint the pretrained models are gone: Reset goes back to the study's pretraining.
    await b.session.handle({ type: 'deleteCheckpoint', key: checkpointKey(engine, study) });
    const c = harness({ ...options, checkpointStore: store });
    await c.session.handle({ type: 'init', allowCpuFallback: true });
    await c.session.handle({ type: 'resume', key: checkpointKey(engine, stage) });
    expect(c.of('built')[0]).toMatchObject({ stage: 'finetune', study, config: stage });
    from = c.messages.length;
    await c.session.handle({ type: 'reset' });
    expect(c.of('built', from)[0]).toMatchObject({ stage: 'pretrain', config: study });
    await h.session.dispose();
    await b.session.dispose();
    await c.session.dispose();
  }, 300_000);
});

describe('a lost device in the fine-tuning stage', () => {
  it('rebuilds stage 2 from the kept pretrained models and ends where an uninterrupted fine-tuning does', async () => {
    const contexts: GpuContext[] = [];
    const h = harness({
      createContext: async () => {
        const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
        contexts.push(ctx);
        return ctx;
      },
    });
    const study = qaStudy();
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    await h.session.handle({ type: 'configure', config: study });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done);
    await h.session.handle({ type: 'finetune' });
    let from = h.messages.length;
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    const straight = h.of('evaluation', from).at(-1)!.points.map((p) => p.answerLoss);
    // Again from fine-tuning step 0, losing the device after two steps (no stage-2 checkpoint yet: from step 0).
    await h.session.handle({ type: 'reset' });
    await h.session.handle({ type: 'step' });
    await h.session.handle({ type: 'step' });
    from = h.messages.length;
    await h.session.handle({ type: 'simulateDeviceLoss' });
    await h.waitFor((m) => m.type === 'restored', from);
    expect(h.of('restored', from)[0]).toMatchObject({ reason: 'deviceLost' });
    expect(h.of('built', from).at(-1)).toMatchObject({ stage: 'finetune', study });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    expect(h.of('evaluation', from).at(-1)!.points.map((p) => p.answerLoss)).toEqual(straight);
    await h.session.dispose();
    for (const ctx of contexts) ctx.destroy();
  }, 300_000);
});

describe('fine-tuning settings edited after the build', () => {
  it('apply to the same pretrained models, in either stage; edits of anything else are refused', async () => {
    const h = harness();
    const study = qaStudy();
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    await h.session.handle({ type: 'configure', config: study });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done);
    const pretrained = Float32Array.from((await h.session.currentEngine!.saveState()).params);
    const P = pretrained.length;
    // In pretraining: Fine-tune with other settings (only SFT, 3 steps).
    const sftOnly = { ...study, finetune: { ...study.finetune!, variants: ['sft' as const], steps: 3 } };
    let from = h.messages.length;
    await h.session.handle({ type: 'finetune', study: sftOnly });
    expect(h.of('built', from)[0]).toMatchObject({ stage: 'finetune', study: sftOnly, config: finetuneStageConfig(sftOnly) });
    await h.session.handle({ type: 'start' });
    await h.waitFor(h.done, from);
    // In the fine-tuning stage: all three variants, again from the same pretrained models.
    const all = { ...study, finetune: { ...study.finetune!, variants: ['sft' as const, 'meap-sft' as const, 'meap-sft-all' as const] } };
    from = h.messages.length;
    await h.session.handle({ type: 'finetune', study: all });
    const built = h.of('built', from)[0];
    expect(built).toMatchObject({ stage: 'finetune', study: all });
    expect(built.runs.map((r) => r.finetune)).toEqual(['sft', 'meap-sft', 'meap-sft-all']);
    const start = Float32Array.from((await h.session.currentEngine!.saveState()).params);
    for (let r = 0; r < 3; r++) expect(start.subarray(r * P, (r + 1) * P)).toEqual(pretrained);
    // Another pretraining is not a fine-tuning edit.
    from = h.messages.length;
    await h.session.handle({ type: 'finetune', study: { ...all, baseSeed: all.baseSeed + 1 } });
    expect(h.of('error', from)[0].message).toMatch(/more than the fine-tuning settings/);
    expect(h.of('built', from)).toHaveLength(0);
    await h.session.dispose();
  }, 300_000);
});

describe('fine-tuning a loaded model', () => {
  it('a model uploaded into the runs at step 0 is what stage 2 starts from', async () => {
    const study = qaStudy();
    const a = harness();
    await a.session.handle({ type: 'init', allowCpuFallback: true });
    await a.session.handle({ type: 'configure', config: study });
    await a.session.handle({ type: 'start' });
    await a.waitFor(a.done);
    const trained = Float32Array.from((await a.session.currentEngine!.saveState()).params);
    await a.session.handle({ type: 'exportModel', requestId: 1, run: 0, onnx: false });
    const files = a.of('modelFiles')[0].files!;
    await a.session.dispose();

    const b = harness();
    await b.session.handle({ type: 'init', allowCpuFallback: true });
    await b.session.handle({ type: 'configure', config: study });
    const upload = { name: 'model.safetensors', safetensors: files.safetensors, configJson: { name: 'config.json', text: files.configJson } };
    await b.session.handle({ type: 'loadModel', requestId: 2, run: 0, upload });
    expect(b.of('modelLoaded')[0]).toMatchObject({ run: 0, step: 0, error: null });
    await b.session.handle({ type: 'finetune' });
    expect(b.of('built').at(-1)).toMatchObject({ stage: 'finetune' });
    const start = Float32Array.from((await b.session.currentEngine!.saveState()).params);
    expect(start.subarray(0, trained.length)).toEqual(trained);
    expect(start.subarray(trained.length)).toEqual(trained);
    await b.session.dispose();
  }, 300_000);
});

describe('fine-tuning refusals', () => {
  it('a study without finetune, and a stage config sent to configure, are refused', async () => {
    const h = harness({ createContext: noGpu });
    await h.session.handle({ type: 'init', allowCpuFallback: true });
    await h.session.handle({ type: 'finetune' });
    expect(h.of('error')[0].message).toMatch(/configure a study first/);
    await h.session.handle({ type: 'configure', config: finetuneStageConfig(qaStudy()) });
    expect(h.of('error')[1].message).toMatch(/built from pretrained models/);
    expect(h.of('built')).toHaveLength(0);
    await h.session.handle({ type: 'configure', config: { ...preset('tiny'), steps: 2 } });
    await h.session.handle({ type: 'finetune' });
    expect(h.of('error')[2].message).toMatch(/no fine-tuning stage/);
    // Too large for the CPU fallback: refused before anything changes (the pretrained study stays).
    await h.session.handle({ type: 'configure', config: qaStudy(4) });
    const before = h.messages.length;
    await h.session.handle({ type: 'finetune' });
    expect(h.of('error', before)[0].message).toMatch(/Cannot fine-tune: .*needs WebGPU/);
    expect(h.of('built', before)).toHaveLength(0);
    expect(h.session.currentEngine?.config).toEqual(qaStudy(4));
    await h.session.dispose();
  });
});

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createGpuContext } from '../src/gpu/context';
import { nodeGpu } from '../src/gpu/node';
import { DeviceLostError, GpuOperationError, WebGpuUnavailableError } from '../src/gpu/errors';
import { withErrorScopes } from '../src/gpu/errorScopes';
import { Usage } from '../src/gpu/arena';
import { checkResidual } from '../src/selftest/residual';
import { residualAdd } from '../src/kernels/residual';
import { encodeDispatches } from '../src/gpu/dispatch';
import { testContext } from './gpuContext';

describe('device acquisition', () => {
  it('reports a real adapter with its features and limits', async () => {
    const ctx = await testContext();
    expect(ctx.adapter.features.length).toBeGreaterThan(0);
    expect(ctx.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 << 20);
    expect(ctx.adapter.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
    expect(typeof ctx.adapter.isFallbackAdapter).toBe('boolean');
  });

  it('without an adapter, fails with the fix in the message', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createGpuContext({ gpu: noAdapter })).rejects.toThrow(WebGpuUnavailableError);
    await expect(createGpuContext({ gpu: noAdapter })).rejects.toThrow(/VK_ICD_FILENAMES/);
  });

  it('the self-test CLI exits 2 with the fix when the Vulkan loader finds no driver', () => {
    const result = spawnSync('npx', ['vite-node', 'src/cli/selftest.ts', '--', '--json'], {
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' }, encoding: 'utf8', timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('No WebGPU adapter found');
    expect(result.stderr).toContain('apt-get install -y chromium');
    expect(result.stdout.trim()).toBe('');
  });

  it('surfaces device loss as a DeviceLostError', async () => {
    const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
    ctx.destroy();
    const lost = await ctx.lost;
    expect(lost).toBeInstanceOf(DeviceLostError);
    expect(lost.reason).toBe('destroyed');
  });
});

describe('error scopes', () => {
  it('turn a validation error into a GpuOperationError naming the operation', async () => {
    const ctx = await testContext();
    const tooBig = ctx.device.limits.maxBufferSize + 4;
    const attempt = withErrorScopes(ctx.device, 'allocating the model', () =>
      ctx.device.createBuffer({ size: tooBig, usage: Usage.STORAGE }));
    await expect(attempt).rejects.toThrow(GpuOperationError);
    await expect(withErrorScopes(ctx.device, 'allocating the model', () =>
      ctx.device.createBuffer({ size: tooBig, usage: Usage.STORAGE }))).rejects.toThrow(/while allocating the model/);
  });

  it('pass through a valid operation', async () => {
    const ctx = await testContext();
    const buffer = await withErrorScopes(ctx.device, 'small buffer', () => ctx.device.createBuffer({ size: 16, usage: Usage.STORAGE }));
    expect(buffer.size).toBe(16);
    buffer.destroy();
  });
});

describe('kernel registry', () => {
  it('compiles each pipeline once', async () => {
    const ctx = await testContext();
    const before = ctx.registry.compiledPipelines;
    const first = await ctx.registry.pipeline('residual', 'add');
    const again = await ctx.registry.pipeline('residual', 'add');
    expect(again).toBe(first);
    expect(ctx.registry.compiledPipelines - before).toBeLessThanOrEqual(1);
  });

  it('reports a WGSL error with file and line', async () => {
    const ctx = await testContext();
    ctx.registry.overrideSource('residual', 'fn broken( {');
    try {
      await expect(ctx.registry.pipeline('residual', 'add')).rejects.toThrow(/residual\.wgsl:1:/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(ctx.uncapturedErrors.join('\n')).toMatch(/expected/);
    } finally {
      ctx.registry.restoreSource('residual');
    }
  });

  it('names the known shaders when asked for an unknown one', async () => {
    const ctx = await testContext();
    expect(() => ctx.registry.source('nope')).toThrow(/Unknown shader "nope".*residual/);
  });

  it('a deliberately broken kernel fails its self-test check', async () => {
    const ctx = await testContext();
    const broken = ctx.registry.source('residual').replace('out[i] = a[i] + b[i];', 'out[i] = a[i] - b[i];');
    expect(broken).not.toBe(ctx.registry.source('residual'));
    ctx.registry.overrideSource('residual', broken);
    try {
      const results = await checkResidual(ctx, { R: 2, n: 33 });
      expect(results.find((r) => r.kernel === 'residual.add')?.pass).toBe(false);
      expect(results.find((r) => r.kernel === 'residual.accumulate')?.pass).toBe(true);
    } finally {
      ctx.registry.restoreSource('residual');
    }
    expect((await checkResidual(ctx, { R: 2, n: 33 })).every((r) => r.pass)).toBe(true);
  });
});

describe('buffer arena and profiler', () => {
  it('counts creations and bytes, and frees everything', async () => {
    const ctx = await createGpuContext({ gpu: await nodeGpu(), profile: false });
    const a = ctx.arena.buffer('a', 10);
    ctx.arena.upload('b', new Float32Array(8));
    expect(a.size).toBe(12);
    expect(ctx.arena.created).toBe(2);
    expect(ctx.arena.bytesInUse).toBe(12 + 32);
    ctx.arena.destroy(a);
    expect(ctx.arena.bytesInUse).toBe(32);
    ctx.destroy();
    expect(ctx.arena.bytesInUse).toBe(0);
  });

  it('times compute passes with timestamp queries when the feature exists', async () => {
    const ctx = await createGpuContext({ gpu: await nodeGpu() });
    try {
      expect(ctx.profiler !== undefined).toBe(ctx.hasTimestampQuery);
      if (!ctx.profiler) throw new Error('this adapter has no timestamp-query feature; the profiler cannot be tested');
      const n = 1 << 16;
      const a = ctx.arena.upload('a', new Float32Array(n).fill(1));
      const out = ctx.arena.buffer('out', n * 4);
      const dispatch = await residualAdd(ctx, { a, b: a, out, count: n });
      const encoder = ctx.device.createCommandEncoder();
      encodeDispatches(ctx, encoder, [dispatch], 'profiled');
      ctx.profiler.resolve(encoder);
      ctx.device.queue.submit([encoder.finish()]);
      const timings = await ctx.profiler.read();
      expect(timings.map((t) => t.label)).toEqual(['profiled']);
      expect(timings[0].milliseconds).toBeGreaterThanOrEqual(0);
      expect(timings[0].milliseconds).toBeLessThan(10_000);
    } finally {
      ctx.destroy();
    }
  });
});

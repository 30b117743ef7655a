import { GpuOperationError } from './errors';

/**
 * Every `shaders/*.wgsl` file, as source text. `import.meta.glob` is resolved by Vite, so the same
 * files load in the page, in a Worker, under vitest and in the Node CLI (run through vite-node).
 */
const shaderFiles = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as
  Record<string, string>;

export const shaderSources: ReadonlyMap<string, string> = new Map(
  Object.entries(shaderFiles).map(([path, source]) => [path.replace(/^.*\/(.*)\.wgsl$/, '$1'), source]),
);

export type OverrideConstants = Record<string, number | boolean>;

/** Compiles each shader module once and each (module, entry point, constants) pipeline once. */
export class KernelRegistry {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** How many pipelines were compiled (a test checks that rebuilding a model compiles none). */
  compiledPipelines = 0;

  constructor(private readonly device: GPUDevice) {}

  private readonly overrides = new Map<string, string>();

  /**
   * Replaces a shader's source for this registry only. Tests use it to prove that a deliberately
   * broken kernel makes the self-test fail; nothing in the product calls it.
   */
  overrideSource(shader: string, source: string): void {
    this.source(shader);
    this.overrides.set(shader, source);
    this.forget(shader);
  }

  restoreSource(shader: string): void {
    this.overrides.delete(shader);
    this.forget(shader);
  }

  private forget(shader: string): void {
    this.modules.delete(shader);
    for (const key of [...this.pipelines.keys()]) if (key.startsWith(`${shader}:`)) this.pipelines.delete(key);
  }

  source(shader: string): string {
    const override = this.overrides.get(shader);
    if (override !== undefined) return override;
    const source = shaderSources.get(shader);
    if (source === undefined) {
      throw new Error(`Unknown shader "${shader}". Known: ${[...shaderSources.keys()].sort().join(', ')}`);
    }
    return source;
  }

  module(shader: string): GPUShaderModule {
    let module = this.modules.get(shader);
    if (!module) {
      module = this.device.createShaderModule({ label: shader, code: this.source(shader) });
      this.modules.set(shader, module);
    }
    return module;
  }

  pipeline(shader: string, entryPoint: string, constants: OverrideConstants = {}): Promise<GPUComputePipeline> {
    const constantKey = Object.keys(constants).sort().map((k) => `${k}=${Number(constants[k])}`).join(',');
    const key = `${shader}:${entryPoint}:${constantKey}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.compile(shader, entryPoint, constants);
      this.pipelines.set(key, pipeline);
      // A failed compile must not poison the cache for a later retry.
      pipeline.catch(() => this.pipelines.delete(key));
    }
    return pipeline;
  }

  private async compile(shader: string, entryPoint: string, constants: OverrideConstants): Promise<GPUComputePipeline> {
    const module = this.module(shader);
    const numericConstants: Record<string, number> = {};
    for (const [k, v] of Object.entries(constants)) numericConstants[k] = Number(v);
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: `${shader}.${entryPoint}`,
        layout: 'auto',
        compute: { module, entryPoint, constants: numericConstants },
      });
      this.compiledPipelines++;
      return pipeline;
    } catch (error) {
      const info = await module.getCompilationInfo();
      const messages = info.messages.filter((m) => m.type === 'error')
        .map((m) => `${shader}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`);
      const detail = messages.length > 0 ? messages.join('\n') : (error as Error).message;
      throw new GpuOperationError('validation', `compiling ${shader}.${entryPoint}`, detail);
    }
  }
}

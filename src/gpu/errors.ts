/** Errors a user can act on. Every GPU failure is turned into one of these with a plain message. */

export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

/** A validation or out-of-memory error captured by an error scope around a GPU operation. */
export class GpuOperationError extends Error {
  override name = 'GpuOperationError';
  constructor(
    readonly kind: 'validation' | 'out-of-memory' | 'internal',
    readonly operation: string,
    readonly gpuMessage: string,
  ) {
    super(`${describeKind(kind)} while ${operation}: ${gpuMessage}`);
  }
}

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, readonly gpuMessage: string) {
    super(`The GPU device was lost (${reason}): ${gpuMessage}`);
  }
}

function describeKind(kind: GpuOperationError['kind']): string {
  switch (kind) {
    case 'validation': return 'GPU validation error';
    case 'out-of-memory': return 'GPU out of memory';
    case 'internal': return 'GPU internal error';
  }
}

/** The fix a user needs when no WebGPU adapter exists, for the environment at hand. */
export function noAdapterHelp(environment: 'node' | 'browser'): string {
  if (environment === 'node') {
    return 'No WebGPU adapter found. On a machine without a GPU install SwiftShader with ' +
      '`apt-get install -y chromium libvulkan1` and set ' +
      'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (done automatically when that file exists).';
  }
  return 'No WebGPU adapter found. Use a browser with WebGPU enabled: Chrome/Edge 113+, ' +
    'Firefox 141+ (Windows) or Safari 26+; on Linux Chrome start with --enable-unsafe-webgpu ' +
    '(chrome://flags/#enable-unsafe-webgpu).';
}

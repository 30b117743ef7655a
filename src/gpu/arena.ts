/**
 * Owns every buffer of a model or a test. Models allocate everything once from their config
 * (llm.c style) and free it all at once; the counters let tests prove a step creates nothing.
 */
/**
 * Buffer usage and map-mode flags are fixed by the WebGPU spec; spelled out here so that this module
 * can be imported before Node's WebGPU globals are installed.
 */
export const Usage = {
  MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080, QUERY_RESOLVE: 0x0200,
} as const;
const MAP_MODE_READ = 0x0001;
export const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export class BufferArena {
  private readonly live = new Set<GPUBuffer>();
  /** Total buffers ever created through this arena. */
  created = 0;
  bytesInUse = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A storage buffer of `byteLength` bytes (rounded up to 4; never zero-sized). */
  buffer(label: string, byteLength: number, usage: number = STORAGE_USAGE): GPUBuffer {
    const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
    const buffer = this.device.createBuffer({ label, size, usage });
    this.created++;
    this.bytesInUse += size;
    this.live.add(buffer);
    return buffer;
  }

  /** A storage buffer initialised with `data`. */
  upload(label: string, data: ArrayBufferView, usage: number = STORAGE_USAGE): GPUBuffer {
    const buffer = this.buffer(label, data.byteLength, usage);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** A uniform buffer holding kernel parameters (written once: shapes never change after build). */
  uniform(label: string, data: ArrayBufferView): GPUBuffer {
    const padded = new Uint8Array(Math.max(16, Math.ceil(data.byteLength / 16) * 16));
    padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return this.upload(label, padded, Usage.UNIFORM | Usage.COPY_DST);
  }

  destroy(buffer: GPUBuffer): void {
    if (this.live.delete(buffer)) {
      this.bytesInUse -= buffer.size;
      buffer.destroy();
    }
  }

  destroyAll(): void {
    for (const buffer of this.live) buffer.destroy();
    this.live.clear();
    this.bytesInUse = 0;
  }
}

/** Copies a buffer back to the CPU. For tests, self-test and asynchronous metric reads, never inside a step. */
export async function readBuffer(device: GPUDevice, source: GPUBuffer, byteLength = source.size): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ label: 'readback', size: byteLength, usage: Usage.MAP_READ | Usage.COPY_DST });
  const encoder = device.createCommandEncoder({ label: 'readback' });
  encoder.copyBufferToBuffer(source, 0, staging, 0, byteLength);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MAP_MODE_READ);
  const copy = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return copy;
}

export async function readFloats(device: GPUDevice, source: GPUBuffer, count?: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, source, count === undefined ? source.size : count * 4));
}

export async function readUints(device: GPUDevice, source: GPUBuffer, count?: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, source, count === undefined ? source.size : count * 4));
}

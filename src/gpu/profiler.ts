import { Usage } from './arena';

/**
 * Timestamp-query profiler: each profiled compute pass gets a begin/end timestamp pair.
 * Only built when the device has 'timestamp-query'; callers pass `profiler?.passTimestamps(label)`.
 */
export interface PassTiming { label: string; milliseconds: number }

export class Profiler {
  private readonly capacity = 256;
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private readonly readBuffer: GPUBuffer;
  private labels: string[] = [];
  private reading = false;

  constructor(device: GPUDevice) {
    this.querySet = device.createQuerySet({ label: 'profiler', type: 'timestamp', count: this.capacity * 2 });
    this.resolveBuffer = device.createBuffer({
      label: 'profiler-resolve', size: this.capacity * 16,
      usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC,
    });
    this.readBuffer = device.createBuffer({
      label: 'profiler-read', size: this.capacity * 16, usage: Usage.MAP_READ | Usage.COPY_DST,
    });
  }

  /** Timestamp writes for the next compute pass, or undefined when full or a read is in flight. */
  passTimestamps(label: string): GPUComputePassTimestampWrites | undefined {
    if (this.reading || this.labels.length >= this.capacity) return undefined;
    const index = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 };
  }

  /** Records the copy of this frame's timestamps; call once at the end of the command encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.labels.length === 0 || this.reading) return;
    const count = this.labels.length * 2;
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, this.readBuffer, 0, count * 8);
  }

  /** Reads the timings recorded since the last read (after the encoder holding `resolve` was submitted). */
  async read(): Promise<PassTiming[]> {
    const labels = this.labels;
    if (labels.length === 0) return [];
    this.reading = true;
    try {
      await this.readBuffer.mapAsync(1 /* GPUMapMode.READ */, 0, labels.length * 16);
      const times = new BigInt64Array(this.readBuffer.getMappedRange(0, labels.length * 16).slice(0));
      this.readBuffer.unmap();
      return labels.map((label, i) => ({ label, milliseconds: Number(times[2 * i + 1] - times[2 * i]) / 1e6 }));
    } finally {
      this.labels = [];
      this.reading = false;
    }
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
    this.readBuffer.destroy();
  }
}

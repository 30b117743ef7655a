/**
 * Seeded pseudo-random numbers. Everything random in the playground (init, batches, masks, test data)
 * comes from these so that a run is a pure function of its seed.
 */

/** SplitMix32-style generator: small state, good statistics, identical in every JS engine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Generator state, for checkpoints. */
  get seedState(): number {
    return this.state;
  }
}

export function randomFloats(seed: number, count: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

export function randomNormals(seed: number, count: number, std = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  return out;
}

export function randomInts(seed: number, count: number, below: number): Uint32Array {
  const rng = new Rng(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.int(below);
  return out;
}

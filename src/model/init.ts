import { Rng } from '../util/random';
import type { ParameterLayout } from './layout';
import type { ModelConfig } from './config';

export const INIT_STD = 0.02;

/**
 * Seeded initial parameters of one run: N(0, 0.02²) for matrices, with the two projections that
 * write into the residual stream (o_proj, down_proj) scaled by 1/√(2·layers) as in GPT-2; ones for
 * RMSNorm weights. Padding stays zero. Pure function of (layout, seed).
 */
export function initParameters(config: ModelConfig, layout: ParameterLayout, seed: number): Float32Array {
  const params = new Float32Array(layout.P);
  const rng = new Rng(seed);
  const residualScale = 1 / Math.sqrt(2 * config.layers);
  for (const t of layout.tensors) {
    if (t.init === 'ones') {
      params.fill(1, t.offset, t.offset + t.size);
      continue;
    }
    const std = /o_proj|down_proj/.test(t.name) ? INIT_STD * residualScale : INIT_STD;
    for (let i = 0; i < t.size; i++) params[t.offset + i] = rng.normal() * std;
  }
  return params;
}

/**
 * The float32 PyTorch twin against the WebGPU engine (Study, here on SwiftShader) for the tiny and quick presets, NTP and
 * MEAP: the first 20 training losses and the weights after those 20 steps, from the same init and batches.
 * Both compute in float32, in different orders, so they agree to float32 rounding carried through 20 steps. Then the
 * engine's trained models, saved as safetensors, evaluate in the twin as in the engine (loss, greedy accuracy).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preset } from '../src/config/presets';
import { Study } from '../src/engine/gpuStudy';
import { testContext } from './gpuContext';
import { writeSafetensors } from '../src/export/safetensors';
import type { RunEvaluation } from '../src/engine/types';
import type { TensorSlot } from '../src/model/layout';
import { assertTorchAvailable, runPython, runTwin, tensorRelativeError } from './torchTwinSupport';

/** One run's flat parameters (from `base`) as name → values, the twin's shape. */
function namedOf(flat: ArrayLike<number>, tensors: readonly TensorSlot[], base: number): Record<string, number[]> {
  return Object.fromEntries(tensors.map((t) => [t.name, Array.from({ length: t.size }, (_, i) => flat[base + t.offset + i])]));
}

/** The twin's name → values as one run's flat parameters in the engine's layout. */
function flatOf(named: Record<string, number[]>, tensors: readonly TensorSlot[], P: number): Float64Array {
  const flat = new Float64Array(P);
  for (const t of tensors) flat.set(named[t.name], t.offset);
  return flat;
}

const STEPS = 20;
/**
 * Measured 2026-12-04 on SwiftShader: losses 9.2e-7 (tiny) and 6.0e-7 (quick); weights 4.9e-4 (tiny) and 8.5e-6 (quick)
 * relative to max(|w|, 0.02). tiny's peak learning rate (1e-2, batch 8) lets AdamW amplify float32 rounding more than
 * quick's (3e-3, batch 32). The bounds leave room for other adapters' rounding.
 */
const LOSS_TOLERANCE = 1e-5;
const WEIGHT_TOLERANCE: Record<string, number> = { tiny: 2e-3, quick: 1e-4 };
/**
 * Per weight tensor as a whole (‖Δ‖₂/‖w‖₂), measured 2026-12-05: quick 3.0e-7 (each implementation 2.4–2.6e-7 from
 * exact arithmetic), within #14's 1e-5. tiny 1.8e-5: its first AdamW step meets a gradient near eps (one down_proj
 * entry, |g| ≈ 7e-10, a sum of terms ~1e-6 that float32 rounds by ~20 % in any order), where the update
 * lr·g/(|g| + eps) is steep in g; from exact arithmetic the engine lands 6.5e-6 away, the twin 2.3e-5. Float64
 * (torchTwinTraining) shows the algorithms equal to 1e-12.
 */
const TENSOR_TOLERANCE: Record<string, number> = { tiny: 5e-5, quick: 1e-5 };

interface TwinTraining { losses: number[][]; weights: Record<string, Record<string, number[]>> }

describe('PyTorch twin (float32) vs the WebGPU engine: tiny and quick presets, NTP and MEAP', () => {
  it.each(['tiny', 'quick'])('%s: first 20 losses and the weights after them agree; the saved models evaluate alike', async (name) => {
    assertTorchAvailable();
    const config = preset(name);
    expect(config.arms).toEqual([0, 0.15]);
    const twin = runTwin<TwinTraining>('parity', ['train', 'CONFIG', STEPS, 'float32'], config);
    const study = await Study.create(await testContext(), config);
    try {
      const losses: number[][] = [];
      for (let s = 0; s < STEPS; s++) {
        study.trainStep();
        losses.push(Array.from(await study.lastLosses()));
      }
      let lossError = 0;
      losses.forEach((row, s) => row.forEach((loss, r) => { lossError = Math.max(lossError, Math.abs(twin.losses[r][s] - loss) / loss); }));
      const params = await study.model.readParams();
      const P = study.model.layout.P;
      let weightError = 0;
      let where = '';
      for (let r = 0; r < study.R; r++) {
        for (const t of study.model.layout.tensors) {
          twin.weights[r][t.name].forEach((value, i) => {
            const engine = params[r * P + t.offset + i];
            const rel = Math.abs(value - engine) / Math.max(Math.abs(engine), 0.02);
            if (rel > weightError) { weightError = rel; where = `run ${r} ${t.name}[${i}]: twin ${value}, engine ${engine}`; }
          });
        }
      }
      // Per tensor: the twin against the engine, and float32's own error: each against exact arithmetic (the float64
      // twin, which equals the float64 CPU engine to 1e-12: torchTwinTraining).
      const exact = runTwin<TwinTraining>('parity', ['train', 'CONFIG', STEPS, 'float64'], config);
      const tensors = study.model.layout.tensors;
      const worst = { twinVsEngine: { rel: 0, where: '' }, engineOwn: 0, twinOwn: 0 };
      for (let r = 0; r < study.R; r++) {
        const t = tensorRelativeError(twin.weights[r], params, tensors, r * P);
        if (t.rel > worst.twinVsEngine.rel) worst.twinVsEngine = { rel: t.rel, where: `run ${r} ${t.where}` };
        const exactFlat = flatOf(exact.weights[r], tensors, P);
        worst.engineOwn = Math.max(worst.engineOwn, tensorRelativeError(namedOf(params, tensors, r * P), exactFlat, tensors).rel);
        worst.twinOwn = Math.max(worst.twinOwn, tensorRelativeError(twin.weights[r], exactFlat, tensors).rel);
      }
      console.log(`float32 twin vs WebGPU engine (${name}, ${STEPS} steps): max relative loss error ${lossError.toExponential(2)}, ` +
        `max |Δw| / max(|w|, 0.02) ${weightError.toExponential(2)} at ${where}; max ‖Δ‖/‖w‖ per tensor ` +
        `${worst.twinVsEngine.rel.toExponential(2)} (${worst.twinVsEngine.where}); against exact (float64): engine ` +
        `${worst.engineOwn.toExponential(2)}, twin ${worst.twinOwn.toExponential(2)}`);
      expect(lossError).toBeLessThan(LOSS_TOLERANCE);
      expect(weightError, where).toBeLessThan(WEIGHT_TOLERANCE[name]);
      expect(worst.twinVsEngine.rel, worst.twinVsEngine.where).toBeLessThan(TENSOR_TOLERANCE[name]);

      // The saved models (safetensors, as the page and compare --save write them) evaluate alike in the twin.
      const dir = mkdtempSync(join(tmpdir(), 'meap-saved-'));
      const paths = Array.from({ length: study.R }, (_, r) => {
        const path = join(dir, `run-${r}.safetensors`);
        writeFileSync(path, writeSafetensors(config.model, params.slice(r * P, (r + 1) * P), { study: config }));
        return path;
      });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      const twinEvaluation = JSON.parse(runPython(['-m', 'meap_torch.evaluate', join(dir, 'config.json'), ...paths])) as RunEvaluation[];
      const engineEvaluation = await study.evaluate();
      twinEvaluation.forEach((e, r) => {
        console.log(`saved run ${r}: twin valLoss ${e.valLoss}, engine ${engineEvaluation[r].valLoss}; accuracy ${e.retrievalAcc} vs ${engineEvaluation[r].retrievalAcc}`);
        expect(Math.abs(e.valLoss - engineEvaluation[r].valLoss) / engineEvaluation[r].valLoss).toBeLessThan(LOSS_TOLERANCE);
        expect(e.retrievalAcc).toBe(engineEvaluation[r].retrievalAcc);
        expect(e.accByDepth).toEqual(engineEvaluation[r].accByDepth);
      });
    } finally {
      study.dispose();
    }
  });
});

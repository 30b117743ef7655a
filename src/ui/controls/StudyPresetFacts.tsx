import { useMemo } from 'react';
import type { StudyConfig } from '../../config/presets';
import { computeEstimate } from '../../study/studies';
import { isUneditedStudy, studyPresetDefinition } from '../../store/configCodec';
import { formatCount } from '../format';

function formatFlops(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x >= 1e15) return `${(x / 1e15).toFixed(1)} PFLOP`;
  if (x >= 1e12) return `${(x / 1e12).toFixed(1)} TFLOP`;
  return `${(x / 1e9).toFixed(1)} GFLOP`;
}

/**
 * For a study preset: the question the study asks and what it costs (computeEstimate, the same estimate
 * report.md states), so the user sees what a study preset commits the GPU to before pressing Start.
 */
export function StudyPresetFacts({ presetName, config }: { presetName: string; config: StudyConfig }) {
  const facts = useMemo(() => {
    const d = studyPresetDefinition(presetName);
    if (!d) return null;
    // The estimate of what will be trained: the study's definition with the edited config.
    const estimate = computeEstimate({ ...d, config });
    return { d, estimate, edited: !isUneditedStudy(presetName, config) };
  }, [presetName, config]);
  if (!facts) return null;
  const { d, estimate, edited } = facts;
  return (
    <div className="study-facts" data-testid="study-preset-facts" data-study={d.name}>
      <p data-testid="study-question"><strong>{d.name}:</strong> {d.question}</p>
      <p data-testid="study-compute">
        {estimate.runs} runs ({config.arms.length} arms × {config.seedsPerArm} seeds) · {formatCount(estimate.parameters)} parameters each ·
        ≈ {formatFlops(estimate.trainFlops)} training + {formatFlops(estimate.evalFlops)} evaluation
      </p>
      {d.config.seedsPerArm > config.seedsPerArm && !edited && (
        <p className="muted" data-testid="study-seed-cap">
          The study plans {d.config.seedsPerArm} seeds per arm; the page trains its first {config.seedsPerArm} (all runs at once).
          The command below trains all of them.
        </p>
      )}
      {edited && <p className="muted" data-testid="study-edited">Edited: the estimate is for your values; the named study is the preset as chosen.</p>}
    </div>
  );
}

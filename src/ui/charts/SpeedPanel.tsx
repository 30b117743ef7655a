import { useMemo } from 'react';
import type uPlot from 'uplot';
import { useRuns } from '../../store/runs';
import { formatBytes, formatCount, formatDuration, formatMs } from '../format';
import { ChartCard } from './ChartCard';
import { secondsLeft, useProgress } from '../../store/progress';
import type { ChartSpec } from './LiveChart';

const SPEC: ChartSpec = {
  key: 'speed',
  lines: [
    { label: 'tokens/s', color: '#374151', role: 'mean' },
    { label: 'ms/step', color: '#6b7280', role: 'mean', scale: 'y2', dash: [5, 3] },
  ],
  xLabel: 'step', yLabel: 'tokens/s', y2Label: 'ms per step',
  format: formatCount, format2: formatMs,
};

function Tile({ label, value, testId, title }: { label: string; value: string; testId: string; title?: string }) {
  return (
    <div className="tile" title={title}>
      <span className="tile-label">{label}</span>
      <span className="tile-value" data-testid={testId}>{value}</span>
    </div>
  );
}

/** Throughput of all runs together (tokens of every run), time per step, and the memory the study holds. */
export function SpeedPanel() {
  const speed = useRuns((s) => s.speed);
  const study = useRuns((s) => s.study);
  const step = useRuns((s) => s.step);
  const state = useRuns((s) => s.state);
  const data = useMemo(() => [speed.steps, speed.tokensPerSecond, speed.msPerStep] as uPlot.AlignedData, [speed]);
  const n = speed.steps.length;
  const latest = n > 0 ? { tps: speed.tokensPerSecond[n - 1], ms: speed.msPerStep[n - 1], sps: speed.stepsPerSecond[n - 1] } : null;
  const { samples, stepTimeMs } = useProgress();
  // Wall time over the last minute (evaluations included), not the latest interval: a steady estimate.
  const remaining = study && state === 'running' ? secondsLeft(samples, stepTimeMs, step, study.config.steps) : NaN;
  const R = study?.runs.length ?? 0;
  return (
    <ChartCard id="speed" title="Speed" spec={SPEC} data={data} height={160} wide
      empty="Throughput appears with the first reported steps."
      caption={<>
        <span className="speed-key" data-testid="speed-key">
          <span><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" stroke="#374151" strokeWidth="2.25" /></svg> tokens/s (left axis)</span>
          <span><svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" stroke="#6b7280" strokeWidth="2.25" strokeDasharray="5 3" /></svg> ms per step (right axis)</span>
        </span>
        Tokens per second over all {R || ''} runs together (each run processes batch × context tokens per step)
        and wall time per training step, measured in the Worker.</>}>
      <div className="tiles">
        <Tile label="tokens/s" testId="speed-tokens" value={latest ? formatCount(latest.tps) : '—'} />
        <Tile label="ms / step" testId="speed-ms" value={latest ? formatMs(latest.ms) : '—'} />
        <Tile label="GPU memory" testId="speed-memory" value={study ? formatBytes(study.memoryBytes) : '—'}
          title="Every buffer of the study (parameters, gradients, AdamW moments, activations of all runs), allocated once" />
        <Tile label="parameters" testId="speed-params" value={study ? `${formatCount(study.parameterCount)} × ${R}` : '—'}
          title="Parameters of one model × number of runs" />
        <Tile label="time left" testId="speed-eta" value={Number.isFinite(remaining) ? formatDuration(remaining) : '—'} />
      </div>
    </ChartCard>
  );
}

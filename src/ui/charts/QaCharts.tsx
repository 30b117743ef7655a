import { useMemo, useState } from 'react';
import { useRuns } from '../../store/runs';
import { formatLoss, formatPercentValue } from '../format';
import { ChartCard } from './ChartCard';
import { armChartSpec, armData, type ArmGroup } from './series';
import type { HistoryPoint } from '../../session/protocol';

type QaMetric = 'tokenAcc' | 'answerLoss';

const METRICS: Record<QaMetric, { label: string; yLabel: string; format: (v: number) => string; value: (p: HistoryPoint) => number | undefined }> = {
  tokenAcc: { label: 'token accuracy', yLabel: 'answer tokens right (%)', format: formatPercentValue, value: (p) => (p.tokenAcc === undefined ? undefined : p.tokenAcc * 100) },
  answerLoss: { label: 'answer loss', yLabel: 'loss (nats)', format: formatLoss, value: (p) => p.answerLoss },
};

/**
 * Multi-token answers (the qa task): the share of answer tokens predicted right given the right prefix, or
 * their mean loss, on the held-out prompts — the finer-grained companions of exact match (the accuracy chart),
 * which counts an answer only when every one of its tokens is right.
 */
export function QaChart({ groups }: { groups: ArmGroup[] }) {
  const evals = useRuns((s) => s.evals);
  const [metric, setMetric] = useState<QaMetric>('tokenAcc');
  const m = METRICS[metric];
  const spec = useMemo(() => armChartSpec(`qa-${metric}`, groups, {
    xLabel: 'step', yLabel: m.yLabel, format: m.format, ...(metric === 'tokenAcc' ? { yRange: [0, 100] as [number, number] } : {}),
  }), [groups, metric, m]);
  const data = useMemo(() => armData(evals.steps, groups, (r, k) => {
    const p = evals.points[r]?.[k];
    return p ? m.value(p) ?? null : null;
  }), [evals, groups, m]);
  const tools = (
    <label className="inline-select">
      metric
      <select value={metric} data-testid="qa-metric" onChange={(e) => setMetric(e.target.value as QaMetric)}>
        <option value="tokenAcc">token accuracy</option>
        <option value="answerLoss">answer loss</option>
      </select>
    </label>
  );
  return (
    <ChartCard id="qa" title={metric === 'tokenAcc' ? 'Answer token accuracy' : 'Answer loss'} spec={spec} data={data} tools={tools}
      empty="Scored on the held-out questions at every evaluation."
      caption={<>The {m.label} of the answer phrases on the held-out questions, teacher-forced (each token given the right ones
        before it). Exact match — every token right — is the accuracy chart.</>} />
  );
}

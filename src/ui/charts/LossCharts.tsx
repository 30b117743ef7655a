import { useMemo, useState } from 'react';
import { useRuns } from '../../store/runs';
import { formatLoss, formatPoints, formatSignedLoss } from '../format';
import { ChartCard } from './ChartCard';
import { armChartSpec, armData, smoothed, type ArmGroup } from './series';
import type { ChartSpec } from './LiveChart';
import type { HistoryPoint } from '../../session/protocol';

/** Log-scale and smoothing switches of a loss chart. */
function useLossView(id: string) {
  const [log, setLog] = useState(false);
  const [alpha, setAlpha] = useState(0);
  const tools = (
    <>
      <label className="inline-select">
        <input type="checkbox" checked={log} data-testid={`${id}-log`} onChange={(e) => setLog(e.target.checked)} /> log y
      </label>
      <label className="inline-select">
        smoothing
        <select value={alpha} data-testid={`${id}-smoothing`} onChange={(e) => setAlpha(Number(e.target.value))}>
          <option value={0}>none</option>
          <option value={0.6}>EMA 0.6</option>
          <option value={0.9}>EMA 0.9</option>
        </select>
      </label>
    </>
  );
  return { log, alpha, tools };
}

export function TrainLossChart({ groups }: { groups: ArmGroup[] }) {
  const finetuning = groups.some((g) => g.finetune !== undefined);
  const train = useRuns((s) => s.train);
  const view = useLossView('train-loss');
  const spec = useMemo(() => {
    const base = armChartSpec('train', groups, { xLabel: 'step', yLabel: 'loss (nats)', format: formatLoss, yLog: view.log });
    return { ...base, key: `${base.key}:${view.log ? 'log' : 'linear'}` };
  }, [groups, view.log]);
  const data = useMemo(() => smoothed(armData(train.steps, groups, (r, k) => train.loss[r]?.[k]), view.alpha), [train, groups, view.alpha]);
  return (
    <ChartCard id="train-loss" title="Training loss" spec={spec} data={data} tools={view.tools}
      caption={finetuning
        ? <>Fine-tuning loss over each reporting interval{view.alpha > 0 ? ` (smoothed: EMA ${view.alpha})` : ''}: the loss on the answer
          tokens (SFT); MEAP-SFT adds its masked copies&apos; loss, so compare the answer loss and exact match on clean prompts below.</>
        : <>Mean next-token loss over each reporting interval{view.alpha > 0 ? ` (smoothed: EMA ${view.alpha})` : ''}. MEAP arms see masked
          inputs here, so their training loss is not directly comparable with NTP&apos;s: compare the clean validation loss.</>} />
  );
}

export function ValLossChart({ groups }: { groups: ArmGroup[] }) {
  const evals = useRuns((s) => s.evals);
  const view = useLossView('val-loss');
  const spec = useMemo(() => {
    const base = armChartSpec('val', groups, { xLabel: 'step', yLabel: 'loss (nats)', format: formatLoss, yLog: view.log });
    return { ...base, key: `${base.key}:${view.log ? 'log' : 'linear'}` };
  }, [groups, view.log]);
  const data = useMemo(() => smoothed(armData(evals.steps, groups, (r, k) => evals.points[r]?.[k]?.valLoss), view.alpha), [evals, groups, view.alpha]);
  return (
    <ChartCard id="val-loss" title="Validation loss (clean inputs)" spec={spec} data={data} tools={view.tools}
      empty="Evaluated on held-out examples without masks, every few steps."
      caption={<>Every arm on the same held-out examples with no [MASK] tokens, the way the models are used{view.alpha > 0 ? ` (smoothed: EMA ${view.alpha})` : ''}.</>} />
  );
}

const EMPTY: number[] = [];

type DiffMetric = 'valLoss' | 'retrievalAcc';

const DIFF_METRICS: Record<DiffMetric, { label: string; unit: string; format: (v: number) => string; value: (p: HistoryPoint) => number; better: string }> = {
  valLoss: { label: 'validation loss', unit: 'Δ loss (nats)', format: formatSignedLoss, value: (p) => p.valLoss, better: 'below zero: MEAP has the lower loss' },
  retrievalAcc: { label: 'retrieval accuracy', unit: 'Δ accuracy (pp)', format: formatPoints, value: (p) => p.retrievalAcc * 100, better: 'above zero: MEAP retrieves more' },
};

/**
 * MEAP − NTP, paired by seed: seed s of a MEAP arm started from the same weights and saw the same batches
 * as seed s of NTP, so their difference removes most seed luck. The bold line is the mean over seeds
 * (= the difference of the arms' means), the band its min–max.
 */
export function DiffChart({ groups, retrieval }: { groups: ArmGroup[]; retrieval: boolean }) {
  const evals = useRuns((s) => s.evals);
  const [chosen, setMetric] = useState<DiffMetric>('valLoss');
  const metric: DiffMetric = retrieval ? chosen : 'valLoss';
  // The baseline: NTP, or SFT in a fine-tuning stage (its MEAP-SFT variants are compared with it).
  const ntp = groups.find((g) => g.baseline);
  const meap = useMemo(() => groups.filter((g) => !g.baseline && ntp !== undefined && g.runs.length === ntp.runs.length), [groups, ntp]);
  const finetuning = groups.some((g) => g.finetune !== undefined);
  const m = DIFF_METRICS[metric];
  const spec: ChartSpec = useMemo(() => {
    const base = armChartSpec(`diff-${metric}`, meap, {
      xLabel: 'step', yLabel: m.unit, format: m.format,
    });
    return { ...base, key: `${base.key}:zero`, lines: [...base.lines, { label: 'zero', color: '#9ca3af', role: 'ref', dash: [4, 4] }] };
  }, [meap, metric, m]);
  const xs = meap.length > 0 ? evals.steps : EMPTY;
  const data = useMemo(() => {
    const paired = armData(xs, meap, (r, k) => {
      const group = meap.find((g) => g.runs.includes(r))!;
      const seed = group.runs.indexOf(r);
      const mine = evals.points[r]?.[k];
      const theirs = evals.points[ntp!.runs[seed]]?.[k];
      if (!mine || !theirs) return null;
      return m.value(mine) - m.value(theirs);
    });
    return [...paired, xs.map(() => 0)] as typeof paired;
  }, [xs, evals, meap, ntp, m]);
  const tools = retrieval && (
    <label className="inline-select">
      metric
      <select value={metric} onChange={(e) => setMetric(e.target.value as DiffMetric)}>
        <option value="valLoss">validation loss</option>
        <option value="retrievalAcc">retrieval accuracy</option>
      </select>
    </label>
  );
  const missing = finetuning
    ? (!ntp || meap.length === 0 ? 'Fine-tune with SFT and a MEAP-SFT variant to see their difference.' : undefined)
    : !ntp ? 'Add the NTP arm (mask ratio 0) to compare against it.'
      : meap.length === 0 ? 'Add a MEAP arm (a mask ratio above 0) to see its difference from NTP.' : undefined;
  return (
    <ChartCard id="diff" title={finetuning ? 'MEAP-SFT − SFT' : 'MEAP − NTP'} spec={spec} data={data} tools={tools}
      empty={missing ?? 'The difference appears with the first evaluation.'}
      caption={<>Difference in {m.label}, paired by seed (same initial weights, same batches); {m.better}.
        Bold: mean over seeds; band: min–max of the paired differences.</>} />
  );
}

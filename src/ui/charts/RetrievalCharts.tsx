import { useId, useMemo } from 'react';
import type uPlot from 'uplot';
import { useRuns } from '../../store/runs';
import { learnedStep, shareLearnedByStep } from '../../analysis/retrieval';
import { formatPercentValue } from '../format';
import { ChartCard } from './ChartCard';
import { armChartSpec, armData, type ArmGroup } from './series';
import type { ChartSpec } from './LiveChart';
import { chanceAccuracy, wilsonInterval } from './binomial';
import { withAlpha } from '../../util/palette';
import type { StudyConfig } from '../../config/presets';

/**
 * Retrieval accuracy per arm with what it can be read against: the chance level (a random answer among the
 * task's value tokens), the number of prompts behind each point, and a 95 % binomial (Wilson) band around each
 * arm's mean over all its prompts (n prompts × seeds) — at 40 prompts ±15 points is noise.
 */
export function AccuracyChart({ groups, config }: { groups: ArmGroup[]; config: StudyConfig }) {
  const evals = useRuns((s) => s.evals);
  const n = config.evaluation.count;
  const chance = config.task === 'text' ? null : chanceAccuracy(config.taskOptions);
  const spec = useMemo(() => {
    const base = armChartSpec('acc', groups, { xLabel: 'step', yLabel: 'accuracy (%)', yRange: [0, 100], format: formatPercentValue });
    const lines = [...base.lines];
    const bands = [...(base.bands ?? [])];
    for (const g of groups) {
      lines.push({ label: `${g.label} 95% high`, color: g.color, role: 'bound' }, { label: `${g.label} 95% low`, color: g.color, role: 'bound' });
      bands.push([lines.length - 2, lines.length - 1, withAlpha(g.color, 0.1)]);
    }
    if (chance !== null) lines.push({ label: 'chance', color: '#4b5563', role: 'ref', dash: [2, 4] });
    return { ...base, key: `${base.key}:binomial${n}:${chance ?? ''}`, lines, bands };
  }, [groups, n, chance]);
  const data = useMemo(() => {
    const value = (r: number, k: number) => {
      const p = evals.points[r]?.[k];
      return p ? p.retrievalAcc * 100 : null;
    };
    const columns = armData(evals.steps, groups, value).slice(1) as (number | null)[][];
    for (const g of groups) {
      const band = evals.steps.map((_, k) => {
        const values = g.runs.map((r) => value(r, k)).filter((v): v is number => v !== null && Number.isFinite(v));
        if (values.length === 0) return [null, null];
        const mean = values.reduce((a, b) => a + b, 0) / values.length / 100;
        return wilsonInterval(mean, n * values.length).map((v) => v * 100);
      });
      columns.push(band.map((b) => b[1]), band.map((b) => b[0]));
    }
    if (chance !== null) columns.push(evals.steps.map(() => chance * 100));
    return [evals.steps, ...columns] as uPlot.AlignedData;
  }, [evals, groups, n, chance]);
  return (
    <ChartCard id="accuracy" title={config.task === 'qa' ? 'Exact match' : 'Retrieval accuracy'} spec={spec} data={data}
      empty="Greedy answers on the held-out retrieval prompts, every few evaluation steps."
      caption={<>Share of the <strong data-testid="accuracy-prompts">{n} held-out prompts</strong> (per seed) whose answer
        {config.task === 'qa' ? ' phrase is the model\'s greedy decoding, every token of it' : ' token is the model\'s greedy prediction'}; the shaded band is each arm&apos;s 95 % binomial interval
        {chance !== null && <>, the dotted line <span data-testid="accuracy-chance">chance ({formatPercentValue(chance * 100)}: one of the task&apos;s values at random)</span></>}.
        At this scale it usually jumps from chance to high once a seed discovers retrieval.</>} />
  );
}

/** Tick label of depth bucket b of K for the task. */
function bucketLabel(task: string, b: number, K: number): string {
  if (task === 'needle') return `${Math.round((100 * b) / K)}–${Math.round((100 * (b + 1)) / K)}%`;
  return `#${b + 1}`;
}

export function DepthChart({ groups, task, bucketLabel: axisName }: { groups: ArmGroup[]; task: string; bucketLabel: string }) {
  const evals = useRuns((s) => s.evals);
  const stepName = useRuns((s) => (s.study?.stage === 'finetune' ? 'fine-tuning step' : 'step'));
  const last = evals.steps.length - 1;
  const buckets = last >= 0 ? Math.max(0, ...evals.points.map((p) => p[last]?.accByDepth.length ?? 0)) : 0;
  const xAxis = task === 'needle' ? 'needle depth (share of the context before it)' : axisName || 'position of the answer (early → late)';
  const spec: ChartSpec = useMemo(() => {
    const base = armChartSpec(`depth-${task}-${buckets}`, groups, {
      xLabel: xAxis, yLabel: 'accuracy (%)', yRange: [0, 100], format: formatPercentValue,
      xFormat: (x) => `${task === 'needle' ? 'depth' : 'position'} ${bucketLabel(task, x, buckets)}`,
      xTicks: (x) => (Number.isInteger(x) && x >= 0 && x < buckets ? bucketLabel(task, x, buckets) : ''),
      xIncrement: 1, xRange: [-0.35, Math.max(1, buckets) - 0.65],
    });
    return { ...base, lines: base.lines.map((l) => (l.role === 'mean' ? { ...l, points: true } : l)) };
  }, [groups, task, buckets, xAxis]);
  const data = useMemo(() => {
    const xs = Array.from({ length: buckets }, (_, b) => b);
    return armData(xs, groups, (r, b) => {
      const p = evals.points[r]?.[last];
      return p && b < p.accByDepth.length ? p.accByDepth[b] * 100 : null;
    });
  }, [evals, groups, buckets, last]);
  return (
    <ChartCard id="depth" title={`Accuracy by ${task === 'needle' ? 'needle depth' : (axisName.replace(/\s*\(.*\)$/, '') || 'answer position')}`} spec={spec} data={data}
      empty="The lost-in-the-middle curve appears with the first evaluation."
      caption={<>At the latest evaluation{last >= 0 ? ` (${stepName} ${evals.steps[last]})` : ''}: accuracy of the held-out prompts
        grouped by where the information sits. A dip in the middle is the &ldquo;lost in the middle&rdquo; effect MEAP
        is reported to reduce.</>} />
  );
}

export function LearnedChart({ groups, threshold, onThreshold }: { groups: ArmGroup[]; threshold: number; onThreshold: (t: number) => void }) {
  const evals = useRuns((s) => s.evals);
  const sliderId = useId();
  const spec: ChartSpec = useMemo(() => {
    const lines = groups.map((g) => ({ label: g.label, color: g.color, role: 'mean' as const, stepped: true }));
    return {
      key: `learned:${groups.map((g) => g.label).join(',')}`, lines, xLabel: 'step', yLabel: 'seeds learned (%)',
      yRange: [0, 100], format: formatPercentValue,
    };
  }, [groups]);
  const histories = useMemo(() => groups.map((g) => g.runs.map((r) => evals.points[r] ?? [])), [groups, evals]);
  const data = useMemo(() => [
    evals.steps,
    ...histories.map((runs) => {
      const share = shareLearnedByStep(runs, threshold);
      return evals.steps.map((_, k) => (share[k] ? share[k].share * 100 : null));
    }),
  ] as uPlot.AlignedData, [evals.steps, histories, threshold]);
  const tools = (
    <label className="inline-range" htmlFor={sliderId}>
      threshold <strong>{Math.round(threshold * 100)}%</strong>
      <input id={sliderId} type="range" min={5} max={100} step={5} value={Math.round(threshold * 100)}
        onChange={(e) => onThreshold(Number(e.target.value) / 100)} aria-label="Accuracy threshold for learned retrieval" />
    </label>
  );
  const seeds = Math.max(0, ...groups.map((g) => g.runs.length));
  return (
    <ChartCard id="learned" title="Seeds that have learned retrieval" spec={spec} data={data} tools={tools}
      empty="Each seed counts as learned from its first evaluation at or above the threshold."
      caption={<>At this scale retrieval appears as a sudden jump whose step varies a lot between seeds. The share of
        seeds past the threshold by each step — and when each got there — tells an objective&apos;s effect from seed luck.</>}>
      <table className="learned-table" data-testid="learned-table">
        <thead>
          <tr><th scope="col">arm</th>{Array.from({ length: seeds }, (_, s) => <th key={s} scope="col">seed {s}</th>)}<th scope="col">learned</th></tr>
        </thead>
        <tbody>
          {groups.map((g, a) => {
            const steps = histories[a].map((h) => learnedStep(h, threshold));
            return (
              <tr key={g.arm} data-arm={g.label}>
                <th scope="row"><span className="swatch" style={{ background: g.color }} />{g.label}</th>
                {Array.from({ length: seeds }, (_, s) => (
                  <td key={s} className="num">{s < steps.length ? (steps[s] === null ? <span className="muted">not yet</span> : `step ${steps[s]}`) : ''}</td>
                ))}
                <td className="num">{steps.filter((s) => s !== null).length} / {g.runs.length}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </ChartCard>
  );
}

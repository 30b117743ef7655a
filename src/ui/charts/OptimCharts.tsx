import { useMemo } from 'react';
import { useRuns } from '../../store/runs';
import { ChartCard } from './ChartCard';
import { armChartSpec, armData, type ArmGroup } from './series';

/** Three significant digits whatever the scale (a learning rate of 3e-4, a weight norm of 41.2). */
const formatSignificant = (v: number): string => (v !== 0 && Math.abs(v) < 1e-2 ? v.toExponential(2) : v.toPrecision(3));

/**
 * How each arm's optimisation goes: the gradient norm before clipping (mean over each reporting interval, read
 * with the losses), the learning rate of the schedule, and the weights' L2 norm (read at evaluations only).
 */
export function OptimCharts({ groups }: { groups: ArmGroup[] }) {
  const train = useRuns((s) => s.train);
  const evals = useRuns((s) => s.evals);
  const optim = useRuns((s) => s.optim);
  const gradSpec = useMemo(() => armChartSpec('grad-norm', groups, { xLabel: 'step', yLabel: 'gradient norm', format: formatSignificant }), [groups]);
  const lrSpec = useMemo(() => armChartSpec('lr', groups, { xLabel: 'step', yLabel: 'learning rate', format: formatSignificant }), [groups]);
  const weightSpec = useMemo(() => armChartSpec('weight-norm', groups, { xLabel: 'step', yLabel: 'weight L2 norm', format: formatSignificant }), [groups]);
  const gradData = useMemo(() => armData(train.steps, groups, (r, k) => optim.gradNorm[r]?.[k]), [train.steps, optim, groups]);
  const lrData = useMemo(() => armData(train.steps, groups, (_, k) => optim.learningRate[k]), [train.steps, optim, groups]);
  const weightData = useMemo(() => armData(evals.steps, groups, (r, k) => optim.weightNorm[r]?.[k]), [evals.steps, optim, groups]);
  return (
    <>
      <ChartCard id="grad-norm" title="Gradient norm" spec={gradSpec} data={gradData}
        caption={<>Global L2 norm of each run&apos;s gradient before clipping, mean over each reporting interval (steps with a
          non-finite gradient left out).</>} />
      <ChartCard id="learning-rate" title="Learning rate" spec={lrSpec} data={lrData}
        caption={<>The schedule (linear warm-up, cosine decay) at each reported step: the same for every arm.</>} />
      <ChartCard id="weight-norm" title="Weight norm" spec={weightSpec} data={weightData}
        empty="Measured at each evaluation."
        caption={<>L2 norm of all of each run&apos;s parameters, measured at evaluations.</>} />
    </>
  );
}

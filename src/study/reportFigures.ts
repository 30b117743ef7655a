/**
 * The report's figures (SVG text by file name): accuracy and loss curves with their bands, the share and
 * step of seeds that learned, per-arm bars, MEAP − NTP, accuracy by bucket and attention mass; drawn by svg.ts
 * from analyseStudy's summary (reportStatistics.ts).
 */
import { finite, type Estimate } from './stats';
import { barChart, lineChart, niceTicks, stripChart, tickLabel, type BandSeries, type LineSeries } from './svg';
import { bucketName, formatPercent, formatPIs, formatPoints, NEEDS_SEEDS } from './reportFormat';
import {
  allRuns, attentionOfEveryArm, attentionRecordOf, num, PAPER, type ArmSummary, type StudyRecord, type StudySummary,
} from './reportStatistics';

const pctAxis = (v: number) => `${Math.round(v * 100)}%`;

/** A domain around the values with a margin (for losses, whose differences vanish on an axis from 0). */
function zoomed(values: number[]): { min: number; max: number } | undefined {
  const xs = finite(values);
  if (xs.length === 0) return undefined;
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const margin = Math.max((hi - lo) * 0.5, Math.abs(hi) * 0.002, 1e-6);
  return { min: lo - margin, max: hi + margin };
}

/**
 * How the page's report draws (the CLI's files keep the default, so committed reports re-render byte for byte):
 * - `latestStep`: curves end at the latest evaluated step (a study still running), not at the planned last;
 * - `symmetricDifferences`: MEAP − NTP on an axis symmetric around zero, at least ±5 points wide, with tick
 *   labels in the decimals their spacing needs, and each difference written out ("−0.8 pts") — a small
 *   difference is not blown up to the full height.
 */
export interface FigureView {
  latestStep?: number;
  symmetricDifferences?: boolean;
}

/** The smallest half-height of a difference axis in accuracy (5 points): noise does not fill the figure. */
const MIN_DIFFERENCE_EXTENT = 0.05;

/** A y domain symmetric around 0 that holds every value, on round ticks; the labels in points. */
function symmetricPoints(values: readonly number[]): { yDomain: { min: number; max: number }; yFormat: (v: number) => string } {
  const extent = Math.max(MIN_DIFFERENCE_EXTENT, ...finite([...values]).map(Math.abs));
  // Grow the top to a tick of its own axis (barChart ticks the domain with count 5), so both ends are labelled.
  let top = extent;
  for (let i = 0; i < 10; i++) {
    const ticks = niceTicks(-top, top, 5);
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : top;
    const next = Number((Math.ceil(top / step - 1e-9) * step).toPrecision(12));
    if (next === top) break;
    top = next;
  }
  const pointTicks = niceTicks(-top, top, 5).map((t) => t * 100);
  return { yDomain: { min: -top, max: top }, yFormat: (v) => tickLabel(v * 100, pointTicks).replace(/^-(0\.?0*)$/, '$1') };
}

/** The report's SVG figures by file name (figures/NAME), composed from the summary and the raw runs. */
export function figures(record: StudyRecord, s: StudySummary, view: FigureView = {}): Record<string, string> {
  const d = record.definition;
  const runs = allRuns(record);
  const out: Record<string, string> = {};
  const steps = view.latestStep !== undefined && view.latestStep > 0 ? Math.min(view.latestStep, d.config.steps) : d.config.steps;

  const thin: LineSeries[] = runs.map((r) => ({
    label: `seed ${r.seed}`, colour: s.arms[r.arm].colour, width: 1, opacity: 0.35, hideInLegend: true,
    points: r.history.map((p) => ({ x: p.step, y: num(p.retrievalAcc) })),
  }));
  const bands: BandSeries[] = s.arms.map((a) => ({ colour: a.colour, points: a.accuracyBySteps.map((b) => ({ x: b.step, lo: b.lo, hi: b.hi })) }));
  out['accuracy.svg'] = lineChart({
    title: `${record.study}: retrieval accuracy vs step`, xLabel: 'training step', yLabel: 'retrieval accuracy',
    series: [...thin, ...s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 3, points: a.accuracyBySteps.map((b) => ({ x: b.step, y: b.mean })) }))],
    bands, xDomain: { min: 0, max: steps }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
    notes: ['thin: one seed', 'bold: mean over seeds', 'band: 95% bootstrap CI'],
  });

  out['valloss.svg'] = lineChart({
    title: `${record.study}: clean validation loss vs step`, xLabel: 'training step', yLabel: 'validation loss (nats/token)',
    series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, points: a.valLossBySteps.map((b) => ({ x: b.step, y: b.mean })) })),
    bands: s.arms.map((a) => ({ colour: a.colour, points: a.valLossBySteps.map((b) => ({ x: b.step, lo: b.lo, hi: b.hi })) })),
    xDomain: { min: 0, max: steps }, notes: ['mean over seeds', 'band: 95% bootstrap CI'],
  });

  // Kaplan–Meier time to learn: a step function, and its band stepped the same way (each value held to the next step).
  const stepped = (points: { x: number; lo: number; hi: number }[]) => points.flatMap((p, k) => (k === 0 ? [p] : [{ ...points[k - 1], x: p.x }, p]));
  // Notes are short: the figure's side column holds about 24 characters.
  const logRankNotes = s.primary.flatMap((r) => {
    const n = [r.meap.n, r.ntp.n];
    const who = s.primary.length > 1 ? `${r.label}: ` : '';
    return [`${who}log-rank ${formatPIs(r.logRank.p, n)}`, `${who}Fisher ${formatPIs(r.fisher.p, n)}`];
  });
  out['time-to-learn.svg'] = lineChart({
    title: `${record.study}: time to learn retrieval (accuracy ≥ ${formatPercent(s.endpoint.threshold)}), Kaplan–Meier`,
    xLabel: 'training step', yLabel: 'share of seeds learned',
    series: s.arms.map((a) => ({ label: `${a.label} (n = ${a.timeToLearn.n})`, colour: a.colour, width: 2.5, step: true, points: a.timeToLearn.points.map((p) => ({ x: p.step, y: p.share })) })),
    bands: s.arms.map((a) => ({ colour: a.colour, points: stepped(a.timeToLearn.points.map((p) => ({ x: p.step, lo: p.lo, hi: p.hi }))) })),
    xDomain: { min: 0, max: steps }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
    notes: ['band: exact 95% CI', ...logRankNotes],
  });

  out['learned-steps.svg'] = stripChart({
    title: `${record.study}: step at which each seed learned retrieval`, xLabel: 'first evaluated step with accuracy ≥ threshold',
    xDomain: { min: 0, max: steps },
    rows: s.arms.map((a) => ({
      label: a.label, colour: a.colour, values: a.learned.learnedSteps.filter((x): x is number => x !== null),
      note: `never: ${a.learned.total - a.learned.learnedCount} of ${a.learned.total}`,
    })),
  });

  const estBars = (title: string, yLabel: string, pick: (a: ArmSummary) => Estimate, pct: boolean) => barChart({
    title, yLabel, categories: s.arms.map((a) => a.label),
    groups: [{
      label: 'mean', colour: '#6b7280', colours: s.arms.map((a) => a.colour),
      values: s.arms.map((a) => pick(a).mean), lo: s.arms.map((a) => pick(a).lo), hi: s.arms.map((a) => pick(a).hi),
    }],
    yDomain: pct ? { min: 0, max: 1 } : zoomed(s.arms.flatMap((a) => [pick(a).lo, pick(a).hi, pick(a).mean])),
    yFormat: pct ? pctAxis : undefined,
    notes: ['bar: mean over seeds', 'error bar: 95% CI', ...(pct ? [] : ['(axis zoomed: not from 0)'])],
  });
  out['final-accuracy.svg'] = estBars(`${record.study}: final retrieval accuracy per arm`, 'retrieval accuracy', (a) => a.finalAcc, true);
  out['final-valloss.svg'] = estBars(`${record.study}: final clean validation loss per arm`, 'validation loss', (a) => a.finalValLoss, false);

  const accDiffs = s.comparisons.filter((c) => c.metric === 'finalAcc');
  const aucDiffs = s.comparisons.filter((c) => c.metric === 'meanAcc');
  out['difference.svg'] = barChart({
    title: `${record.study}: MEAP − NTP retrieval accuracy (95% CI)`, yLabel: 'difference (accuracy points)',
    categories: accDiffs.map((c) => c.label),
    groups: [
      { label: 'final accuracy', colour: '#d97706', values: accDiffs.map((c) => c.diff.estimate), lo: accDiffs.map((c) => c.diff.lo), hi: accDiffs.map((c) => c.diff.hi) },
      { label: 'mean over training', colour: '#9ca3af', values: aucDiffs.map((c) => c.diff.estimate), lo: aucDiffs.map((c) => c.diff.lo), hi: aucDiffs.map((c) => c.diff.hi) },
    ],
    ...(view.symmetricDifferences
      ? symmetricPoints([...accDiffs, ...aucDiffs].flatMap((c) => [c.diff.estimate, c.diff.lo, c.diff.hi]))
      : { yFormat: (v: number) => `${Math.round(v * 100)}` }),
    notes: accDiffs.map((c) => {
      if (!view.symmetricDifferences) return `${c.label}: ${formatPIs(c.test.p)}`;
      const p = c.n.some((k) => k < 2) ? `p ${NEEDS_SEEDS}` : formatPIs(c.test.p);
      return `${c.label}: final ${formatPoints(c.diff.estimate)}, over training ${formatPoints(aucDiffs.find((k) => k.arm === c.arm)?.diff.estimate ?? Number.NaN)}, ${p}`;
    }),
  });

  const buckets = s.arms[0].depth.length;
  out['depth.svg'] = lineChart({
    title: `${record.study}: final accuracy by ${d.bucketLabel}`, xLabel: d.bucketLabel, yLabel: 'retrieval accuracy',
    series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, markers: true, points: a.depth.map((e, b) => ({ x: b, y: e.mean })) })),
    bands: s.arms.map((a) => ({ colour: a.colour, points: a.depth.map((e, b) => ({ x: b, lo: e.lo, hi: e.hi })) })),
    xDomain: { min: -0.3, max: Math.max(0.3, buckets - 0.7) }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
    xTicks: Array.from({ length: buckets }, (_, b) => ({ value: b, label: bucketName(b, buckets) })),
    notes: ['mean over seeds', 'band: 95% bootstrap CI'],
  });

  const analysed = attentionOfEveryArm(s);
  if (!analysed) return out;
  const names = attentionRecordOf(record)!.segmentNames;
  const ntpArm = s.arms.find((a) => a.maskRatio === 0);
  const meapArm = s.arms.find((a) => Math.abs(a.maskRatio - 0.15) < 1e-9) ?? s.arms.find((a) => a.maskRatio > 0);
  out['attention-mass.svg'] = barChart({
    title: `${record.study}: attention mass from the answer position, by segment`, yLabel: 'share of attention',
    categories: names,
    groups: [
      ...analysed.map(({ arm: a, attention }) => ({
        label: a.label, colour: a.colour, values: attention.segmentMass.map((e) => e.mean),
        lo: attention.segmentMass.map((e) => e.lo), hi: attention.segmentMass.map((e) => e.hi),
      })),
      ...(ntpArm ? [{ label: 'paper NTP (1.1B)', colour: ntpArm.colour, opacity: 0.3, values: PAPER.segmentMass.ntp }] : []),
      ...(meapArm ? [{ label: 'paper MEAP (1.1B)', colour: meapArm.colour, opacity: 0.3, values: PAPER.segmentMass.meap }] : []),
    ],
    yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
  });
  return out;
}

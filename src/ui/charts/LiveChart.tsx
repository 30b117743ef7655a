import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One drawn series of a chart. `role` decides how it looks and whether the readout names it. */
export interface LineSpec {
  label: string;
  color: string;
  /** mean: bold, named in the readout; seed: thin; bound: invisible edge of a band; ref: a reference line. */
  role: 'mean' | 'seed' | 'bound' | 'ref';
  scale?: 'y' | 'y2';
  stepped?: boolean;
  points?: boolean;
  dash?: number[];
  /** Diameter of its dots (default 6). */
  pointSize?: number;
}

export interface ChartSpec {
  /** Rebuilds the uPlot instance when it changes (the series layout); data changes only call setData. */
  key: string;
  lines: LineSpec[];
  /** Filled bands between two lines (indices into `lines`): [upper, lower, fill]. */
  bands?: [number, number, string][];
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  /** Fixed y range (e.g. 0–100 %); otherwise auto. */
  yRange?: [number, number];
  /** A logarithmic y axis (positive values only: losses). */
  yLog?: boolean;
  /** Fixed x range (e.g. around categorical buckets); otherwise the data's. */
  xRange?: [number, number];
  /** Formats y values in the readout. */
  format: (value: number) => string;
  format2?: (value: number) => string;
  /** Formats x values in the readout (default "step N"). */
  xFormat?: (value: number) => string;
  /** Tick labels of the x axis (e.g. depth buckets). */
  xTicks?: (value: number) => string;
  /** x tick spacing when it must be whole numbers. */
  xIncrement?: number;
}

/**
 * Tick labels that tell the ticks apart: the fewest decimals (up to 8) at which no two labels repeat (a flat
 * line's auto range is a few thousandths wide: "4.156" four times), and never "-0".
 */
export function tickLabels(splits: readonly (number | null)[]): string[] {
  // A log axis hands some splits over as null (ticks it leaves unlabelled).
  const values = splits.filter((v): v is number => v !== null && Number.isFinite(v));
  const distinct = new Set(values).size;
  let decimals = 0;
  for (; decimals < 8; decimals++) if (new Set(values.map((v) => v.toFixed(decimals))).size === distinct) break;
  return splits.map((v) => {
    if (v === null || !Number.isFinite(v)) return '';
    const label = v.toFixed(decimals);
    return /^-0(\.0*)?$/.test(label) ? label.slice(1) : label;
  });
}

/** Whole-number tick spacings for step axes (uPlot's defaults include fractions: "step 0.5"). */
export const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000];

const AXIS = { stroke: '#4b5563', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } };

function options(spec: ChartSpec, width: number, height: number): uPlot.Options {
  const series: uPlot.Series[] = [{ label: spec.xLabel }];
  for (const line of spec.lines) {
    const s: uPlot.Series = {
      label: line.label, scale: line.scale ?? 'y', spanGaps: true,
      stroke: line.role === 'bound' ? 'transparent' : line.color,
      width: line.role === 'mean' ? 2.25 : line.role === 'seed' ? 0.9 : line.role === 'ref' ? 1 : 0,
      // Points: where asked for, and on lines (not bounds) wherever there is only one point to draw.
      points: {
        show: (u: uPlot, seriesIndex: number) => line.points ?? (line.role !== 'bound' && definedCount(u.data[seriesIndex]) === 1),
        size: line.pointSize ?? 6, fill: line.color, stroke: line.color,
      },
    };
    if (line.dash) s.dash = line.dash;
    if (line.role === 'seed') s.alpha = 0.55;
    if (line.stepped) s.paths = uPlot.paths.stepped!({ align: 1 });
    series.push(s);
  }
  const axes: uPlot.Axis[] = [
    { ...AXIS, label: spec.xLabel, labelSize: 18, size: 32,
      ...(spec.xTicks ? { values: (_u: uPlot, splits: number[]) => splits.map(spec.xTicks!) } : {}),
      ...(spec.xIncrement ? { incrs: [spec.xIncrement] } : spec.xTicks ? {} : { incrs: STEP_INCREMENTS }) },
    { ...AXIS, label: spec.yLabel, labelSize: 18, size: 52, scale: 'y', values: (_u: uPlot, splits: number[]) => tickLabels(splits) },
  ];
  if (spec.y2Label) {
    axes.push({ ...AXIS, label: spec.y2Label, labelSize: 18, size: 52, scale: 'y2', side: 1, grid: { show: false },
      values: (_u: uPlot, splits: number[]) => tickLabels(splits) });
  }
  return {
    width, height,
    legend: { show: false },
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    scales: {
      // One x value (the first evaluation): half a step either side, so its point has a place to be drawn.
      x: spec.xRange ? { time: false, range: spec.xRange }
        : { time: false, range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => (min === max ? [min - 0.5, max + 0.5] : [min, max]) },
      y: spec.yRange ? { range: spec.yRange } : spec.yLog ? { distr: 3, auto: true } : { auto: true },
      ...(spec.y2Label ? { y2: { auto: true } } : {}),
    },
    series,
    bands: (spec.bands ?? []).map(([upper, lower, fill]) => ({ series: [upper + 1, lower + 1] as [number, number], fill })),
    axes,
  };
}

function definedCount(values: ArrayLike<number | null | undefined> | undefined): number {
  let n = 0;
  for (let i = 0; i < (values?.length ?? 0); i++) if (values![i] !== null && values![i] !== undefined && Number.isFinite(values![i]!)) n++;
  return n;
}

/** "step 120 · NTP 2.310 · MEAP 15% 2.281" at data index `idx` (the latest point when idx is null). */
export function describe(spec: ChartSpec, data: uPlot.AlignedData, idx: number | null): string {
  const xs = data[0] as ArrayLike<number>;
  if (xs.length === 0) return 'no data yet';
  const i = idx ?? xs.length - 1;
  const x = xs[i];
  const parts: string[] = [spec.xFormat ? spec.xFormat(x) : `step ${x}`];
  const text = (value: number | null | undefined, format: (v: number) => string) =>
    (value === null || value === undefined || !Number.isFinite(value) ? '—' : format(value));
  spec.lines.forEach((line, k) => {
    if (line.role !== 'mean') return;
    const format = line.scale === 'y2' && spec.format2 ? spec.format2 : spec.format;
    // Hovering: each seed's value after the mean (the seeds' lines follow their arm's mean in armLines).
    const seeds = idx === null ? [] : spec.lines.flatMap((l, j) => (l.role === 'seed' && l.label.startsWith(`${line.label} seed`)
      ? [text((data[j + 1] as ArrayLike<number | null>)[i], format)] : []));
    parts.push(`${line.label} ${text((data[k + 1] as ArrayLike<number | null>)[i], format)}${seeds.length > 0 ? ` (seeds ${seeds.join(', ')})` : ''}`);
  });
  return (idx === null ? 'latest: ' : '') + parts.join(' · ');
}

/**
 * A uPlot chart that is created once per series layout (`spec.key`) and fed new data with setData, so
 * live updates cost one redraw. A line above it reads out the hovered (or latest) values.
 */
export function LiveChart({ spec, data, height = 220 }: { spec: ChartSpec; data: uPlot.AlignedData; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLParagraphElement>(null);
  const plot = useRef<uPlot | null>(null);
  /** The user dragged to zoom: new data then keeps the scales until a double-click resets them. */
  const zoomed = useRef(false);
  const latest = useRef({ spec, data });
  latest.current = { spec, data };

  useEffect(() => {
    const element = box.current!;
    const hovered = { idx: null as number | null };
    const opts = options(spec, Math.max(200, element.clientWidth), height);
    opts.hooks = {
      setSelect: [(u) => { if (u.select.width > 0) zoomed.current = true; }],
      setCursor: [(u) => {
        hovered.idx = u.cursor.idx ?? null;
        if (readout.current) readout.current.textContent = describe(latest.current.spec, u.data, hovered.idx);
      }],
    };
    const u = new uPlot(opts, latest.current.data, element);
    plot.current = u;
    zoomed.current = false;
    const unzoom = () => { zoomed.current = false; };
    u.over.addEventListener('dblclick', unzoom);
    if (readout.current) readout.current.textContent = describe(spec, latest.current.data, null);
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const width = Math.max(200, element.clientWidth);
        if (width !== u.width) u.setSize({ width, height });
      });
    });
    observer.observe(element);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      u.over.removeEventListener('dblclick', unzoom);
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the layout changes; data flows through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [spec.key, height]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(data, !zoomed.current);
    if (readout.current && u.cursor.idx == null) readout.current.textContent = describe(spec, data, null);
  }, [data, spec]);

  return (
    <div className="live-chart">
      <p className="readout" ref={readout} aria-hidden="true" />
      <div className="chart-canvas" ref={box} />
    </div>
  );
}

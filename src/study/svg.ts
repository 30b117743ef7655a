/**
 * A small writer of standalone SVG charts for the study reports: line charts with bands (seeds thin,
 * means bold, 95 % bands), grouped bar charts with error bars, and strip charts (one dot per seed).
 * Every chart has axes, ticks, a title and a legend; every piece of text is XML-escaped. No DOM needed.
 */

export const CHART_WIDTH = 680;
export const CHART_HEIGHT = 360;
const MARGIN = { left: 64, right: 168, top: 40, bottom: 52 };
const AXIS = '#374151';
const GRID = '#e5e7eb';
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Escapes the five XML special characters (text and attribute values alike). */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Fixed-precision coordinate, so the same chart gives the same bytes. */
function c(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** About `count` round tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Tick label with as many decimals as the tick spacing needs. */
export function tickLabel(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

export interface Point { x: number; y: number }

export interface LineSeries {
  label: string;
  colour: string;
  points: readonly Point[];
  width?: number;
  opacity?: number;
  dash?: string;
  /** Draw as a step function (horizontal, then vertical). */
  step?: boolean;
  /** Circles at the points. */
  markers?: boolean;
  /** Leave out of the legend (e.g. the thin per-seed lines). */
  hideInLegend?: boolean;
}

export interface BandSeries {
  colour: string;
  points: readonly { x: number; lo: number; hi: number }[];
  opacity?: number;
}

export interface Domain { min: number; max: number }

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  bands?: readonly BandSeries[];
  xDomain?: Domain;
  yDomain?: Domain;
  /** Tick label formatters (default: by tick spacing). */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  /** Categorical x ticks (value → label) instead of numeric ones. */
  xTicks?: readonly { value: number; label: string }[];
  /** Extra legend lines under the series (e.g. "thin: one seed"). */
  notes?: readonly string[];
  width?: number;
  height?: number;
}

interface Frame {
  width: number;
  height: number;
  x: (v: number) => number;
  y: (v: number) => number;
  plotLeft: number; plotRight: number; plotTop: number; plotBottom: number;
}

function frame(width: number, height: number, xDomain: Domain, yDomain: Domain, left = MARGIN.left): Frame {
  const plotLeft = left, plotRight = width - MARGIN.right, plotTop = MARGIN.top, plotBottom = height - MARGIN.bottom;
  const xSpan = xDomain.max - xDomain.min || 1, ySpan = yDomain.max - yDomain.min || 1;
  return {
    width, height, plotLeft, plotRight, plotTop, plotBottom,
    x: (v) => plotLeft + ((v - xDomain.min) / xSpan) * (plotRight - plotLeft),
    y: (v) => plotBottom - ((v - yDomain.min) / ySpan) * (plotBottom - plotTop),
  };
}

function open(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${c(width / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
  ];
}

function yAxis(out: string[], f: Frame, ticks: readonly number[], format: (v: number) => string, label: string): void {
  for (const t of ticks) {
    const y = f.y(t);
    out.push(`<line x1="${c(f.plotLeft)}" y1="${c(y)}" x2="${c(f.plotRight)}" y2="${c(y)}" stroke="${GRID}" stroke-width="1"/>`);
    out.push(`<text x="${c(f.plotLeft - 6)}" y="${c(y + 4)}" text-anchor="end" fill="${AXIS}">${escapeXml(format(t))}</text>`);
  }
  out.push(`<line x1="${c(f.plotLeft)}" y1="${c(f.plotTop)}" x2="${c(f.plotLeft)}" y2="${c(f.plotBottom)}" stroke="${AXIS}" stroke-width="1"/>`);
  const cy = (f.plotTop + f.plotBottom) / 2;
  out.push(`<text x="16" y="${c(cy)}" text-anchor="middle" transform="rotate(-90 16 ${c(cy)})" fill="${AXIS}">${escapeXml(label)}</text>`);
}

function xAxis(out: string[], f: Frame, ticks: readonly { value: number; label: string }[], label: string): void {
  out.push(`<line x1="${c(f.plotLeft)}" y1="${c(f.plotBottom)}" x2="${c(f.plotRight)}" y2="${c(f.plotBottom)}" stroke="${AXIS}" stroke-width="1"/>`);
  for (const t of ticks) {
    const x = f.x(t.value);
    out.push(`<line x1="${c(x)}" y1="${c(f.plotBottom)}" x2="${c(x)}" y2="${c(f.plotBottom + 4)}" stroke="${AXIS}" stroke-width="1"/>`);
    out.push(`<text x="${c(x)}" y="${c(f.plotBottom + 17)}" text-anchor="middle" fill="${AXIS}">${escapeXml(t.label)}</text>`);
  }
  out.push(`<text x="${c((f.plotLeft + f.plotRight) / 2)}" y="${c(f.height - 12)}" text-anchor="middle" fill="${AXIS}">${escapeXml(label)}</text>`);
}

interface LegendEntry { label: string; colour: string; kind: 'line' | 'box' | 'dot'; opacity?: number; dash?: string }

function legend(out: string[], f: Frame, entries: readonly LegendEntry[], notes: readonly string[] = []): void {
  let y = f.plotTop + 8;
  const x = f.plotRight + 16;
  for (const e of entries) {
    if (e.kind === 'line') {
      out.push(`<line x1="${c(x)}" y1="${c(y)}" x2="${c(x + 22)}" y2="${c(y)}" stroke="${e.colour}" stroke-width="3"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    } else if (e.kind === 'box') {
      out.push(`<rect x="${c(x)}" y="${c(y - 6)}" width="22" height="12" fill="${e.colour}" fill-opacity="${e.opacity ?? 1}"/>`);
    } else {
      out.push(`<circle cx="${c(x + 11)}" cy="${c(y)}" r="4" fill="${e.colour}"/>`);
    }
    out.push(`<text x="${c(x + 28)}" y="${c(y + 4)}" fill="#111827">${escapeXml(e.label)}</text>`);
    y += 18;
  }
  y += 4;
  for (const note of notes) {
    out.push(`<text x="${c(x)}" y="${c(y + 4)}" fill="#6b7280" font-size="11">${escapeXml(note)}</text>`);
    y += 15;
  }
}

function extent(values: readonly number[]): Domain {
  const finiteValues = values.filter((v) => Number.isFinite(v));
  if (finiteValues.length === 0) return { min: 0, max: 1 };
  return { min: Math.min(...finiteValues), max: Math.max(...finiteValues) };
}

function pad(domain: Domain): Domain {
  if (domain.max > domain.min) return domain;
  const d = Math.abs(domain.min) * 0.1 || 1;
  return { min: domain.min - d, max: domain.max + d };
}

/** Path data of a polyline; NaN points split it into pieces. */
function linePath(points: readonly Point[], f: Frame, step: boolean): string {
  const parts: string[] = [];
  let drawing = false;
  let last: Point | undefined;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      drawing = false;
      continue;
    }
    if (!drawing) parts.push(`M${c(f.x(p.x))} ${c(f.y(p.y))}`);
    else if (step && last) parts.push(`L${c(f.x(p.x))} ${c(f.y(last.y))}`, `L${c(f.x(p.x))} ${c(f.y(p.y))}`);
    else parts.push(`L${c(f.x(p.x))} ${c(f.y(p.y))}`);
    drawing = true;
    last = p;
  }
  return parts.join(' ');
}

/** Line chart: bands first, then lines (thin ones first, as given), legend on the right. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? CHART_WIDTH, height = spec.height ?? CHART_HEIGHT;
  const xs = [...spec.series.flatMap((s) => s.points.map((p) => p.x)), ...(spec.bands ?? []).flatMap((b) => b.points.map((p) => p.x))];
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p.y)), ...(spec.bands ?? []).flatMap((b) => b.points.flatMap((p) => [p.lo, p.hi]))];
  const xDomain = pad(spec.xDomain ?? extent(xs));
  const yRaw = pad(spec.yDomain ?? extent(ys));
  const yTicks = niceTicks(yRaw.min, yRaw.max, 5);
  const yDomain = spec.yDomain ?? { min: Math.min(yRaw.min, yTicks[0] ?? yRaw.min), max: Math.max(yRaw.max, yTicks[yTicks.length - 1] ?? yRaw.max) };
  const f = frame(width, height, xDomain, yDomain);
  const out = open(width, height, spec.title);
  yAxis(out, f, yTicks.filter((t) => t >= yDomain.min - 1e-12 && t <= yDomain.max + 1e-12), spec.yFormat ?? ((v) => tickLabel(v, yTicks)), spec.yLabel);
  const xTickValues = niceTicks(xDomain.min, xDomain.max, 6);
  xAxis(out, f, spec.xTicks ?? xTickValues.map((v) => ({ value: v, label: spec.xFormat ? spec.xFormat(v) : tickLabel(v, xTickValues) })), spec.xLabel);
  for (const band of spec.bands ?? []) {
    const pts = band.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.lo) && Number.isFinite(p.hi));
    if (pts.length === 0) continue;
    const upper = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${c(f.x(p.x))} ${c(f.y(p.hi))}`);
    const lower = [...pts].reverse().map((p) => `L${c(f.x(p.x))} ${c(f.y(p.lo))}`);
    out.push(`<path d="${[...upper, ...lower].join(' ')} Z" fill="${band.colour}" fill-opacity="${band.opacity ?? 0.15}" stroke="none"/>`);
  }
  for (const s of spec.series) {
    const d = linePath(s.points, f, s.step === true);
    if (d) {
      out.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="${s.width ?? 2}" stroke-opacity="${s.opacity ?? 1}"` +
        `${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} stroke-linejoin="round"/>`);
    }
    if (s.markers) {
      for (const p of s.points) {
        if (Number.isFinite(p.x) && Number.isFinite(p.y)) out.push(`<circle cx="${c(f.x(p.x))}" cy="${c(f.y(p.y))}" r="3" fill="${s.colour}"/>`);
      }
    }
  }
  legend(out, f, spec.series.filter((s) => !s.hideInLegend).map((s) => ({ label: s.label, colour: s.colour, kind: 'line' as const, dash: s.dash })), spec.notes);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface BarGroup {
  label: string;
  colour: string;
  /** One value per category (null: no bar). */
  values: readonly (number | null)[];
  /** Error bar ends per category (e.g. a 95 % CI). */
  lo?: readonly (number | null)[];
  hi?: readonly (number | null)[];
  opacity?: number;
  /** One colour per category instead of the group's (e.g. arms as categories); the group then has no legend entry. */
  colours?: readonly string[];
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  xLabel?: string;
  categories: readonly string[];
  groups: readonly BarGroup[];
  yDomain?: Domain;
  yFormat?: (v: number) => string;
  notes?: readonly string[];
  width?: number;
  height?: number;
}

/** Grouped bars per category, from 0 (or the domain's floor when it is above 0), with error bars. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? CHART_WIDTH, height = spec.height ?? CHART_HEIGHT;
  const all = spec.groups.flatMap((g) => [...g.values, ...(g.lo ?? []), ...(g.hi ?? [])]).filter((v): v is number => v !== null && Number.isFinite(v));
  const raw = spec.yDomain ?? pad({ min: Math.min(0, ...all), max: Math.max(0, ...all) });
  const ticks = niceTicks(raw.min, raw.max, 5);
  const yDomain = spec.yDomain ?? { min: Math.min(raw.min, ticks[0] ?? raw.min), max: Math.max(raw.max, ticks[ticks.length - 1] ?? raw.max) };
  const n = Math.max(1, spec.categories.length);
  const f = frame(width, height, { min: 0, max: n }, yDomain);
  const out = open(width, height, spec.title);
  yAxis(out, f, ticks.filter((t) => t >= yDomain.min - 1e-12 && t <= yDomain.max + 1e-12), spec.yFormat ?? ((v) => tickLabel(v, ticks)), spec.yLabel);
  xAxis(out, f, spec.categories.map((label, k) => ({ value: k + 0.5, label })), spec.xLabel ?? '');
  const base = Math.min(Math.max(0, yDomain.min), yDomain.max);
  const slot = (f.plotRight - f.plotLeft) / n;
  const barWidth = (slot * 0.8) / Math.max(1, spec.groups.length);
  spec.groups.forEach((g, gi) => {
    spec.categories.forEach((_, k) => {
      const v = g.values[k];
      const x0 = f.plotLeft + k * slot + slot * 0.1 + gi * barWidth;
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        const y0 = f.y(base), y1 = f.y(v);
        out.push(`<rect x="${c(x0 + 1)}" y="${c(Math.min(y0, y1))}" width="${c(Math.max(1, barWidth - 2))}" height="${c(Math.abs(y1 - y0))}" ` +
          `fill="${g.colours?.[k] ?? g.colour}" fill-opacity="${g.opacity ?? 0.85}"/>`);
      }
      const lo = g.lo?.[k], hi = g.hi?.[k];
      if (lo !== null && lo !== undefined && hi !== null && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi)) {
        const xm = x0 + barWidth / 2;
        out.push(`<path d="M${c(xm)} ${c(f.y(lo))} L${c(xm)} ${c(f.y(hi))} M${c(xm - 4)} ${c(f.y(lo))} L${c(xm + 4)} ${c(f.y(lo))} ` +
          `M${c(xm - 4)} ${c(f.y(hi))} L${c(xm + 4)} ${c(f.y(hi))}" stroke="#111827" stroke-width="1.2" fill="none"/>`);
      }
    });
  });
  if (yDomain.min < 0 && yDomain.max > 0) {
    out.push(`<line x1="${c(f.plotLeft)}" y1="${c(f.y(0))}" x2="${c(f.plotRight)}" y2="${c(f.y(0))}" stroke="${AXIS}" stroke-width="1"/>`);
  }
  legend(out, f, spec.groups.filter((g) => !g.colours).map((g) => ({ label: g.label, colour: g.colour, kind: 'box' as const, opacity: g.opacity ?? 0.85 })), spec.notes);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface StripRow {
  label: string;
  colour: string;
  values: readonly number[];
  /** Right-hand note of the row (e.g. "never: 3 of 8"). */
  note?: string;
}

export interface StripChartSpec {
  title: string;
  xLabel: string;
  rows: readonly StripRow[];
  xDomain: Domain;
  xFormat?: (v: number) => string;
  notes?: readonly string[];
  width?: number;
  height?: number;
}

/** One row per group, one dot per value (equal values stacked upwards), the row's note on the right. */
export function stripChart(spec: StripChartSpec): string {
  const width = spec.width ?? CHART_WIDTH;
  const height = spec.height ?? Math.max(160, MARGIN.top + MARGIN.bottom + 44 * spec.rows.length);
  const n = Math.max(1, spec.rows.length);
  const f = frame(width, height, pad(spec.xDomain), { min: 0, max: n }, 96);
  const out = open(width, height, spec.title);
  const ticks = niceTicks(spec.xDomain.min, spec.xDomain.max, 6);
  xAxis(out, f, ticks.map((v) => ({ value: v, label: spec.xFormat ? spec.xFormat(v) : tickLabel(v, ticks) })), spec.xLabel);
  out.push(`<line x1="${c(f.plotLeft)}" y1="${c(f.plotTop)}" x2="${c(f.plotLeft)}" y2="${c(f.plotBottom)}" stroke="${AXIS}" stroke-width="1"/>`);
  spec.rows.forEach((row, k) => {
    const yMid = f.y(n - k - 0.5);
    out.push(`<line x1="${c(f.plotLeft)}" y1="${c(yMid)}" x2="${c(f.plotRight)}" y2="${c(yMid)}" stroke="${GRID}" stroke-width="1"/>`);
    out.push(`<text x="${c(f.plotLeft - 6)}" y="${c(yMid + 4)}" text-anchor="end" fill="${AXIS}">${escapeXml(row.label)}</text>`);
    const seen = new Map<number, number>();
    for (const v of row.values) {
      if (!Number.isFinite(v)) continue;
      const stack = seen.get(v) ?? 0;
      seen.set(v, stack + 1);
      out.push(`<circle cx="${c(f.x(v))}" cy="${c(yMid - stack * 7)}" r="4" fill="${row.colour}" fill-opacity="0.85"/>`);
    }
    if (row.note) out.push(`<text x="${c(f.plotRight + 16)}" y="${c(yMid + 4)}" fill="#111827">${escapeXml(row.note)}</text>`);
  });
  if (spec.notes?.length) legend(out, { ...f, plotTop: f.plotBottom - 12 * spec.notes.length }, [], spec.notes);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

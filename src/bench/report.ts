import type { AdapterReport } from '../gpu/context';
import type { KernelChoiceReport } from '../tuning/autotune';
/**
 * The benchmark's report: rows of "ours vs a reference" with ratios, the goals of issue 6, and the
 * plain-text table the CLI prints. Pure (no GPU), shared by the page and the CLI.
 */

export interface BenchRow {
  name: string;
  /** Our throughput (higher is better, so that ratio = ours / reference is a speed-up). */
  ours: number;
  reference: number;
  referenceName: string;
  unit: string;
  /** ours / reference. */
  ratio: number;
  /** Time of one operation (ms), ours and the reference's, where the row is a timing. */
  oursMs?: number;
  referenceMs?: number;
  note?: string;
}

export interface BenchCheck {
  name: string;
  ours: number;
  reference: number;
  absDiff: number;
  tolerance: number;
  pass: boolean;
}

export interface BenchReport {
  adapter: Partial<AdapterReport> & { browser?: string };
  date: string;
  quick: boolean;
  /** Kernel variants chosen at start-up by measurement (src/tuning/autotune.ts). */
  autotune: KernelChoiceReport | null;
  results: BenchRow[];
  /** Same-math checks: the reference model computes the loss we compute, on the same weights and batch. */
  checks: BenchCheck[];
  /** Extra numbers (per-variant times, FLOP counts, settings). */
  details: Record<string, number | string | boolean>;
  /** Anything that failed to run (a reference that does not load on this adapter, …). */
  errors: string[];
}

export function row(name: string, ours: number, reference: number, referenceName: string, unit: string,
  extra: Partial<Pick<BenchRow, 'oursMs' | 'referenceMs' | 'note'>> = {}): BenchRow {
  return { name, ours, reference, referenceName, unit, ratio: ours / reference, ...extra };
}

export interface Goal {
  name: string;
  target: string;
  value: number | undefined;
  met: boolean | undefined;
}

/** Issue 6's goals, evaluated on a report (printed, never asserted). */
export function goals(report: Pick<BenchReport, 'results' | 'adapter'>): Goal[] {
  const software = report.adapter.isFallbackAdapter === true || report.adapter.architecture === 'swiftshader';
  const find = (prefix: string, reference: string) =>
    report.results.find((r) => r.name.startsWith(prefix) && r.referenceName === reference);
  const matmul = find('matmul 512×512×512 (chosen', 'tfjs-webgpu');
  const step = find('training step', 'tfjs-webgpu');
  const mfu = report.results.find((r) => r.name.startsWith('MFU'));
  const matmulTarget = software ? 5 : 2;
  const goal = (name: string, target: string, value: number | undefined, threshold: number): Goal =>
    ({ name, target, value, met: value === undefined || !Number.isFinite(value) ? undefined : value >= threshold });
  return [
    goal('matmul 512³ vs tfjs-webgpu', `≥ ${matmulTarget}× (${software ? 'software adapter' : 'GPU'})`, matmul?.ratio, matmulTarget),
    goal('training step vs tfjs-webgpu', '≥ 5×', step?.ratio, 5),
    goal('MFU (ours)', '≥ 50 %', mfu?.ours, 50),
  ];
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function formatMs(x: number | undefined): string {
  return x === undefined ? '' : `${formatNumber(x)} ms`;
}

/** The results as an aligned plain-text table (and goals below it). */
export function formatTable(report: BenchReport): string {
  const header = ['benchmark', 'ours', 'reference', 'unit', 'ours/ref', 'time ours', 'time ref'];
  const lines = report.results.map((r) => [
    r.name, formatNumber(r.ours), `${formatNumber(r.reference)} ${r.referenceName}`, r.unit,
    `${formatNumber(r.ratio)}×`, formatMs(r.oursMs), formatMs(r.referenceMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const right = new Set([1, 4, 5, 6]);
  const fmt = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)];
  if (report.checks.length > 0) {
    out.push('', 'same-math checks (reference vs ours on the same weights and batch):');
    for (const c of report.checks) {
      out.push(`  ${c.pass ? 'ok  ' : 'FAIL'} ${c.name}: ours ${c.ours.toFixed(6)}, reference ${c.reference.toFixed(6)}, ` +
        `|diff| ${c.absDiff.toExponential(2)} (tolerance ${c.tolerance.toExponential(0)})`);
    }
  }
  out.push('', 'goals (printed, not asserted):');
  for (const g of goals(report)) {
    const value = g.value === undefined ? 'not measured' : g.name.startsWith('MFU') ? `${formatNumber(g.value)} %` : `${formatNumber(g.value)}×`;
    out.push(`  ${g.met === undefined ? '?   ' : g.met ? 'met ' : 'MISS'} ${g.name}: ${value} (goal ${g.target})`);
  }
  for (const e of report.errors) out.push(`error: ${e}`);
  return out.join('\n');
}

/** The same table as Markdown (for the README). */
export function formatMarkdown(report: BenchReport): string {
  const out = ['| benchmark | ours | reference | unit | ours / ref | time ours | time ref |', '|---|---:|---:|---|---:|---:|---:|'];
  for (const r of report.results) {
    out.push(`| ${r.name} | ${formatNumber(r.ours)} | ${formatNumber(r.reference)} ${r.referenceName} | ${r.unit} | ` +
      `**${formatNumber(r.ratio)}×** | ${formatMs(r.oursMs)} | ${formatMs(r.referenceMs)} |`);
  }
  return out.join('\n');
}

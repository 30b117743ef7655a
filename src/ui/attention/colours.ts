/**
 * Colours shared by the attention views: each arm's colour comes from the page palette (NTP blue, MEAP
 * orange, other mask ratios their own shade), segments have their own colours.
 */
import { runColor, runLabel as paletteRunLabel } from '../../util/palette';
import type { RunInfo } from '../../session/protocol';

export function runColour(info: RunInfo | undefined, arms: readonly number[] = []): string {
  return info ? runColor(info, arms) : '#6b7280';
}

/** "NTP" or "MEAP 15%" (in a fine-tuning stage "SFT", "MEAP-SFT"…), plus the seed when asked. */
export function runLabel(info: RunInfo | undefined, withSeed = false, arms: readonly number[] = []): string {
  if (!info) return '—';
  const label = paletteRunLabel(info, arms);
  return withSeed ? `${label} · seed ${info.seed}` : label;
}

/** Segment colours (context before, needle, context after, query, answer): none is an objective's colour. */
export const SEGMENT_COLOURS = ['#cbd5e1', '#e11d48', '#64748b', '#0891b2', '#a16207'];

export function segmentColour(segment: number): string {
  return SEGMENT_COLOURS[segment] ?? '#111827';
}

/** "#rrggbb" → [r, g, b]. */
export function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * Heatmap colour of a probability: white → the objective's colour → near black, on a square-root scale
 * so that the small probabilities of long rows stay visible.
 */
export function probabilityRgb(p: number, base: readonly [number, number, number]): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  writeProbabilityRgb(out, 0, p, base);
  return out;
}

/** probabilityRgb written into out[offset..offset+2] (e.g. an ImageData row), without allocating. */
export function writeProbabilityRgb(out: { [k: number]: number }, offset: number, p: number, base: readonly [number, number, number]): void {
  const t = Math.sqrt(Math.min(1, Math.max(0, p)));
  if (t <= 0.7) {
    const u = t / 0.7;
    out[offset] = 255 + (base[0] - 255) * u;
    out[offset + 1] = 255 + (base[1] - 255) * u;
    out[offset + 2] = 255 + (base[2] - 255) * u;
    return;
  }
  const u = (t - 0.7) / 0.3;
  out[offset] = base[0] * (1 - 0.6 * u);
  out[offset + 1] = base[1] * (1 - 0.6 * u);
  out[offset + 2] = base[2] * (1 - 0.6 * u);
}

export function formatPercent(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '—';
}

export function formatSignedPercent(x: number, digits = 1): string {
  return Number.isFinite(x) ? `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x * 100).toFixed(digits)}%` : '—';
}

/**
 * One colour per arm, the same in every view (charts, tables, legends, attention panels). NTP is always
 * blue; MEAP arms get warm/purple/green shades by mask ratio, so "MEAP 15 %" looks the same in every study.
 */

export const NTP_COLOR = '#2563eb';

/** Colours of the paper's ablation grid (0.05 / 0.10 / 0.15 / 0.20); 0.15, the paper default, is orange. */
const GRID_COLORS: Record<string, string> = {
  '0.05': '#16a34a', // green
  '0.1': '#9333ea',  // purple
  '0.15': '#ea580c', // orange
  '0.2': '#dc2626',  // red
};

/** Ratios outside the grid, in arm order. */
const OTHER_COLORS = ['#d97706', '#0d9488', '#c026d3', '#65a30d', '#b45309', '#be123c', '#7c3aed', '#059669'];

function ratioKey(ratio: number): string {
  return String(Math.round(ratio * 1e6) / 1e6);
}

/** Colour of the arm with mask ratio `ratio` among the study's `arms` (ratio 0 = NTP). */
export function armColor(ratio: number, arms: readonly number[] = []): string {
  if (ratio === 0) return NTP_COLOR;
  const grid = GRID_COLORS[ratioKey(ratio)];
  if (grid) return grid;
  const others = arms.filter((r) => r !== 0 && !GRID_COLORS[ratioKey(r)]);
  const index = Math.max(0, others.indexOf(ratio));
  return OTHER_COLORS[index % OTHER_COLORS.length];
}

/** "NTP" or "MEAP 15%". */
export function armLabel(ratio: number): string {
  return ratio === 0 ? 'NTP' : `MEAP ${formatPercent(ratio)}`;
}

/** 0.15 → "15%", 0.125 → "12.5%". */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** `color` with alpha (hex #rrggbb in, rgba() out) for bands and fills. */
export function withAlpha(color: string, alpha: number): string {
  const hex = color.replace('#', '');
  const r = parseInt(hex.slice(0, 2), 16), g = parseInt(hex.slice(2, 4), 16), b = parseInt(hex.slice(4, 6), 16);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A run as the page names it: its (base) mask ratio and, in a fine-tuning stage, its variant (engine RunInfo fits). */
export interface NamedRun {
  maskRatio: number;
  /** Fine-tuning stage only: 'sft' | 'meap-sft' | 'meap-sft-all'. */
  finetune?: string;
}

/** The fine-tuning variants' names (src/config/presets.ts FinetuneVariant). */
export const VARIANT_LABELS: Record<string, string> = { sft: 'SFT', 'meap-sft': 'MEAP-SFT', 'meap-sft-all': 'MEAP-SFT (all)' };

/** Their colours: SFT is NTP's blue, MEAP-SFT the MEAP orange, MEAP-SFT (all answer tokens) purple. */
export const VARIANT_COLORS: Record<string, string> = { sft: NTP_COLOR, 'meap-sft': GRID_COLORS['0.15'], 'meap-sft-all': GRID_COLORS['0.1'] };

/**
 * "NTP", "MEAP 15%"; in a fine-tuning stage "SFT", "MEAP-SFT", "MEAP-SFT (all)" — with the pretraining arm
 * first when the study has several (`arms`: its mask ratios), "MEAP 15% → SFT".
 */
export function runLabel(run: NamedRun, arms: readonly number[] = []): string {
  if (run.finetune === undefined) return armLabel(run.maskRatio);
  const variant = VARIANT_LABELS[run.finetune] ?? run.finetune;
  return arms.length > 1 ? `${armLabel(run.maskRatio)} → ${variant}` : variant;
}

/** The run's colour: its arm's (armColor), or in a fine-tuning stage its variant's. */
export function runColor(run: NamedRun, arms: readonly number[] = []): string {
  if (run.finetune === undefined) return armColor(run.maskRatio, arms);
  return VARIANT_COLORS[run.finetune] ?? '#6b7280';
}

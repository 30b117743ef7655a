/**
 * The controls the paper lacks (issue 17 item 4), each needle-quick with one change to MEAP's mask policy and
 * the same seeds, batches and initial weights: their NTP arm is needle-quick's, run for run, and their MEAP arm
 * can be paired by seed with needle-quick's. One change per study, so an effect is localised:
 * - replace: does it take [MASK], or does any input corruption do it? `random` puts a random ordinary token
 *   (which can plant a fake key or value), `random-filler` a random filler word (which cannot);
 * - protect: what must MEAP leave visible? The needle (key and value: the "never-masked needle" arm), then
 *   each of the needle key, needle value and query marker alone. (The query key is the last input, which the
 *   paper's policy never masks: protecting it changes nothing on these tasks, so it has no study.)
 * Comparisons across this family are corrected for their number (Holm) where they are summarised.
 */
import type { ProtectedSegment } from '../data/protectedSegments';
import type { MaskReplacement } from '../data/maskPolicy';
import type { StudyConfig } from '../config/presets';

interface Control {
  name: string;
  what: string;
  replace?: MaskReplacement;
  protect?: ProtectedSegment[];
}

export const CONTROLS: readonly Control[] = [
  { name: 'needle-quick-needle-visible', what: 'the needle (key and value) never masked', protect: ['needle-key', 'needle-value'] },
  { name: 'needle-quick-random', what: 'a random ordinary token instead of [MASK]', replace: 'random' },
  { name: 'needle-quick-filler', what: 'a random filler word instead of [MASK]', replace: 'random-filler' },
  { name: 'needle-quick-protect-needle-key', what: 'the needle\'s key never masked', protect: ['needle-key'] },
  { name: 'needle-quick-protect-needle-value', what: 'the needle\'s value never masked', protect: ['needle-value'] },
  { name: 'needle-quick-protect-query-marker', what: 'the query marker `?` never masked', protect: ['query-marker'] },
];

/** What a control changes of a study definition (studies.ts's StudyDefinition; typed here without importing it). */
interface Definable { name: string; title: string; question: string; config: StudyConfig }

/** The control studies by name, built from needle-quick's definition. */
export function controlStudies<D extends Definable>(needleQuick: () => D): Record<string, () => D> {
  return Object.fromEntries(CONTROLS.map((c) => [c.name, (): D => {
    const base = needleQuick();
    const config = { ...base.config };
    if (c.replace) config.replace = c.replace;
    if (c.protect) config.protect = [...c.protect];
    return {
      ...base,
      name: c.name,
      title: `${c.name}: NTP vs MEAP with ${c.what} (quick preset, sized for a CPU)`,
      question: `On the quick preset, with ${c.what}, does MEAP at P = 0.15 learn needle retrieval more often, sooner or better than NTP?`,
      config,
    };
  }]));
}

/**
 * Fresh seeds for a confirmatory look (docs/preregistration-query-attention.md): needle-quick and its
 * never-mask-`?` control again with every training stream new (baseSeed + FRESH_SEED_OFFSET: other batches,
 * masks and initial weights; the same evaluation prompts, whose seed is the evaluation's own), so what the first
 * 64 seeds suggested is tested on runs that did not suggest it. Paired by seed with each other (the same fresh streams), not with needle-quick.
 */
export const FRESH_SEED_OFFSET = 1000;

export const FRESH_STUDIES = [
  { name: 'needle-quick-fresh', from: 'needle-quick' },
  { name: 'needle-quick-fresh-protect-query-marker', from: 'needle-quick-protect-query-marker' },
] as const;

export function freshStudies<D extends Definable>(byName: Record<string, () => D>): Record<string, () => D> {
  return Object.fromEntries(FRESH_STUDIES.map(({ name, from }) => [name, (): D => {
    const base = byName[from]();
    return {
      ...base,
      name,
      title: `${name}: ${base.title.slice(base.title.indexOf(':') + 2)}, on fresh seeds`,
      question: `${base.question} (Fresh seeds: a confirmatory replication.)`,
      config: { ...base.config, baseSeed: base.config.baseSeed + FRESH_SEED_OFFSET },
    };
  }]));
}

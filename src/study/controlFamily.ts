/**
 * The controls side by side (issue 17 item 4): needle-quick's MEAP and each control study's MEAP arm against
 * NTP on the primary endpoint, and each control's MEAP arm against needle-quick's MEAP arm paired by seed
 * (same seeds, batches and initial weights: exact McNemar on "learned by the last step"). Each question is a
 * family of tests, one per control present, Holm-adjusted, so "a control differs" is claimed at a
 * family-wise α of 0.05 however many controls were run.
 */
import { analyseStudy, type PrimaryResult, type StudyRecord } from './report';
import { formatP, formatPercent, formatPIs, formatPoints, table } from './reportFormat';
import { holmAdjust, mcnemarExact, type McNemarResult } from './multipleComparisons';
import { maskedNeedleShare, type MaskedNeedleShare } from './maskedNeedle';
import { learnedBySeed } from './reportArmPairs';

export interface ControlStudy {
  name: string;
  what: string;
  record: StudyRecord;
}

export interface ControlRow {
  name: string;
  what: string;
  /** The control's MEAP arm vs its NTP arm (the study's own primary endpoint). */
  vsNtp: PrimaryResult;
  holmVsNtp: number;
  /** The control's MEAP arm vs needle-quick's MEAP arm on the seeds both trained (null without needle-quick). */
  vsMeap: { seeds: number; control: number; meap: number; test: McNemarResult; holm: number } | null;
}

export interface ControlFamily {
  /** needle-quick's own MEAP vs NTP result (the reference row), when its record is given. */
  main: PrimaryResult | null;
  /** How often needle-quick's MEAP arm hid the needle key or value in training (null without its record). */
  maskedNeedle: MaskedNeedleShare | null;
  rows: ControlRow[];
}

/** Per seed: whether the study's MEAP arm's run of that seed learned by the last step (the primary endpoint). */
function meapLearnedBySeed(record: StudyRecord): Map<number, boolean> {
  const meap = analyseStudy(record).arms.find((a) => a.maskRatio > 0);
  if (!meap) throw new RangeError(`study ${record.study} has no MEAP arm`);
  return learnedBySeed(meap);
}

function primaryOf(record: StudyRecord): PrimaryResult {
  const [first] = analyseStudy(record).primary;
  if (!first) throw new RangeError(`study ${record.study} has no MEAP arm against NTP`);
  return first;
}

export function controlFamily(main: StudyRecord | null, controls: readonly ControlStudy[]): ControlFamily {
  const mainLearned = main ? meapLearnedBySeed(main) : null;
  const partial = controls.map((c) => {
    const vsNtp = primaryOf(c.record);
    let vsMeap: Omit<NonNullable<ControlRow['vsMeap']>, 'holm'> | null = null;
    if (mainLearned) {
      const mine = meapLearnedBySeed(c.record);
      const seeds = [...mine.keys()].filter((s) => mainLearned.has(s)).sort((a, b) => a - b);
      if (seeds.length > 0) {
        const control = seeds.map((s) => mine.get(s)!), meap = seeds.map((s) => mainLearned.get(s)!);
        vsMeap = {
          seeds: seeds.length, control: control.filter(Boolean).length, meap: meap.filter(Boolean).length,
          test: mcnemarExact(control, meap),
        };
      }
    }
    return { name: c.name, what: c.what, vsNtp, vsMeap };
  });
  const holmNtp = holmAdjust(partial.map((r) => r.vsNtp.fisher.p));
  const withMeap = partial.filter((r) => r.vsMeap !== null);
  const holmMeap = holmAdjust(withMeap.map((r) => r.vsMeap!.test.p));
  const rows = partial.map((r, i) => ({
    ...r, holmVsNtp: holmNtp[i],
    vsMeap: r.vsMeap ? { ...r.vsMeap, holm: holmMeap[withMeap.indexOf(r)] } : null,
  }));
  return { main: main ? primaryOf(main) : null, maskedNeedle: main ? maskedNeedleShare(main.definition.config, 100) : null, rows };
}

const share = (k: number, n: number) => `${k} of ${n} (${formatPercent(k / n)})`;

function verdict(adjusted: number, better: boolean): string {
  return adjusted < 0.05 ? `**${better ? 'higher' : 'lower'} (Holm p < 0.05)**` : 'not distinguished';
}

/** The study vocabulary, at the Holm-adjusted level: better / worse, equivalent within the margin, or not measured. */
function verdictVsNtp(r: ControlRow): string {
  const v = r.vsNtp;
  if (r.holmVsNtp < 0.05) return `**${v.difference.estimate > 0 ? 'better' : 'worse'} than NTP (Holm p < 0.05)**`;
  const margin = v.endpoint.margin;
  if (v.difference.lo > -margin && v.difference.hi < margin) return `no difference larger than ±${(100 * margin).toFixed(0)} pts`;
  return 'underpowered: not measured';
}

/** reports/controls.md: the family's tables, with n, raw and Holm-adjusted p and what each test could detect. */
export function controlFamilyMarkdown(family: ControlFamily, sources: string[]): string {
  const out: string[] = ['# MEAP\'s mask policy under control: what it hides and what replaces it', ''];
  out.push('Each control study is needle-quick with one change to MEAP\'s mask policy and the same seeds, batches and initial '
    + 'weights (src/study/controlStudies.ts), so its NTP arm is needle-quick\'s run for run and its MEAP arm can be paired by seed '
    + 'with needle-quick\'s. Endpoint: a seed learned retrieval (≥ 50 % on the evaluation set) by the last step. Two families of '
    + `tests, one test per control present (m = ${family.rows.length}), each Holm-adjusted (family-wise α = 0.05).`, '');
  if (family.main) {
    const m = family.main;
    out.push(`Reference: needle-quick, MEAP ${share(m.meap.k, m.meap.n)} vs NTP ${share(m.ntp.k, m.ntp.n)}, ${formatPoints(m.difference.estimate)}, `
      + `Fisher ${formatPIs(m.fisher.p)} → ${m.verdict}.`, '');
  }
  const hidden = family.maskedNeedle;
  if (hidden) {
    out.push(`How often MEAP hides the needle: in needle-quick's MEAP arm ${formatPercent(hidden.share)} of the training sequences (n = `
      + `${hidden.sequences}, the first 100 steps of seed 0) had the needle's key or value masked — ${hidden.k} of ${hidden.maskable} maskable `
      + `positions masked: 1 − C(${hidden.maskable - 2}, ${hidden.k}) / C(${hidden.maskable}, ${hidden.k}) = ${formatPercent(hidden.expected)}. `
      + 'There the answer cannot be read from the context; the needle-visible control never masks them.', '');
  }
  out.push('## Control MEAP vs NTP (Fisher\'s exact test)', '');
  out.push(table(['control', 'what changes', 'control MEAP learned', 'NTP learned', 'difference [95% CI]', 'p', 'Holm p', '80% power needs', 'verdict'],
    family.rows.map((r) => {
      const v = r.vsNtp;
      const needs = v.detectableIncrease === null ? '—' : `≥ ${formatPercent(v.ntp.k / v.ntp.n + v.detectableIncrease)}`;
      return [r.name, r.what, share(v.meap.k, v.meap.n), share(v.ntp.k, v.ntp.n),
        `${formatPoints(v.difference.estimate)} [${formatPoints(v.difference.lo)}, ${formatPoints(v.difference.hi)}]`,
        formatP(v.fisher.p), formatP(r.holmVsNtp), needs, verdictVsNtp(r)];
    })), '');
  out.push('## Control MEAP vs needle-quick\'s MEAP, paired by seed (exact McNemar test)', '');
  const paired = family.rows.filter((r) => r.vsMeap);
  if (paired.length === 0) out.push('needle-quick\'s record is not there: no paired comparison.', '');
  else {
    out.push(table(['control', 'seeds paired', 'control MEAP learned', 'MEAP learned', 'only control / only MEAP', 'p', 'Holm p', 'verdict'],
      paired.map((r) => {
        const p = r.vsMeap!;
        return [r.name, String(p.seeds), share(p.control, p.seeds), share(p.meap, p.seeds), `${p.test.onlyFirst} / ${p.test.onlySecond}`,
          formatP(p.test.p), formatP(p.holm), verdict(p.holm, p.control > p.meap)];
      })), '');
    out.push('"Not distinguished" is not "the same": with n seeds paired, McNemar\'s test only sees the seeds on which the two '
      + 'policies disagree, and a handful of such seeds cannot reach p < 0.05 however lopsided.', '');
  }
  out.push('Records: ' + sources.map((s) => `\`${s}\``).join(', ') + '.', '');
  return out.join('\n');
}

/**
 * The pre-registered test of docs/preregistration-query-attention.md: does MEAP move the answer position's
 * layer-0 attention from the query to the needle, and does never masking `?` undo it? On the fresh-seed studies
 * (needle-quick-fresh and its never-mask-`?` control), four paired-by-seed differences of the final models'
 * attention (`segmentMassByLayer`), each a two-sided sign-flip permutation test, Holm over the four; plus the
 * retrieval questions re-asked on the fresh seeds (controlFamily) and, descriptive only, layer 1 and the split by
 * outcome. The exploratory numbers that suggested the hypotheses are shown beside them, marked as such.
 */
import { analyseStudy, type StudyRecord } from './report';
import { controlFamily, type ControlFamily } from './controlFamily';
import { pairedEstimate, pairedFamily, type PairedTestResult } from './pairedFamily';
import { learnedBySeed } from './reportArmPairs';
import { formatP, formatPercent, formatPIs, table } from './reportFormat';
import { mean } from './stats';

/** One run's layer × segment attention mass and whether it learned (the primary endpoint). */
interface RunMass { seed: number; learned: boolean; mass: number[][] }

export interface ArmMass { label: string; runs: RunMass[]; needle: number; query: number }

export interface PairedTest extends PairedTestResult {
  hypothesis: string;
  layer: number;
  segment: 'needle' | 'query';
  /** The sign the pre-registration expects of mean(a − b). */
  expectedSign: 1 | -1;
  confirmed: boolean;
}

export interface QueryAttention {
  ntp: ArmMass;
  meap: ArmMass;
  protectedMarker: ArmMass;
  tests: PairedTest[];
  /** Layer 1, the same four differences, descriptive (no test). */
  layer1: Omit<PairedTest, 'p' | 'holm' | 'confirmed'>[];
  retrieval: ControlFamily;
}

const SEED = 20261205;
const SEGMENTS = ['needle', 'query'] as const;

/** The runs of one arm (0 = NTP, 1 = the MEAP arm), with each seed's outcome and attention by layer and segment. */
function armMass(record: StudyRecord, arm: 0 | 1, label: string): ArmMass {
  const learned = learnedBySeed(analyseStudy(record).arms[arm]);
  const runs = record.units.flatMap((u) => u.runs).filter((r) => r.arm === arm).map((r) => {
    if (!r.attention) throw new RangeError(`${record.study}: run of seed ${r.seed} has no attention analysis`);
    return { seed: r.seed, learned: learned.get(r.seed)!, mass: r.attention.segmentMassByLayer, names: r.attention.segmentNames };
  });
  const index = (name: string) => {
    const i = runs[0]?.names.indexOf(name) ?? -1;
    if (i < 0) throw new RangeError(`${record.study}: its attention analysis has no "${name}" segment`);
    return i;
  };
  const [needle, query] = SEGMENTS.map(index);
  return { label, runs: runs.map(({ seed, learned: l, mass }) => ({ seed, learned: l, mass })), needle, query };
}

function pairedDifferences(a: ArmMass, b: ArmMass, layer: number, segment: 'needle' | 'query'): number[] {
  const bySeed = new Map(b.runs.map((r) => [r.seed, r]));
  return a.runs.filter((r) => bySeed.has(r.seed)).sort((x, y) => x.seed - y.seed)
    .map((r) => r.mass[layer][a[segment]] - bySeed.get(r.seed)!.mass[layer][b[segment]]);
}

const HYPOTHESES = [
  { hypothesis: 'H1: MEAP − NTP', pair: ['meap', 'ntp'], segment: 'query', expectedSign: -1 },
  { hypothesis: 'H2: MEAP − NTP', pair: ['meap', 'ntp'], segment: 'needle', expectedSign: 1 },
  { hypothesis: 'H3: `?` never masked − MEAP', pair: ['protectedMarker', 'meap'], segment: 'query', expectedSign: 1 },
  { hypothesis: 'H4: `?` never masked − MEAP', pair: ['protectedMarker', 'meap'], segment: 'needle', expectedSign: -1 },
] as const;

/** `main`: needle-quick-fresh; `protectedMarker`: needle-quick-fresh-protect-query-marker (the same fresh seeds). */
export function queryAttention(main: StudyRecord, protectedMarker: StudyRecord): QueryAttention {
  const arms = {
    ntp: armMass(main, 0, 'NTP'), meap: armMass(main, 1, 'MEAP'),
    protectedMarker: armMass(protectedMarker, 1, 'MEAP, `?` never masked'),
  };
  const describe = (h: (typeof HYPOTHESES)[number], layer: number) => ({ hypothesis: h.hypothesis, layer, segment: h.segment, expectedSign: h.expectedSign });
  const differences = (h: (typeof HYPOTHESES)[number], layer: number) => pairedDifferences(arms[h.pair[0]], arms[h.pair[1]], layer, h.segment);
  const results = pairedFamily(HYPOTHESES.map((h) => ({ d: differences(h, 0), bootstrapSeed: SEED, testSeed: SEED })));
  const tests = HYPOTHESES.map((h, i) => ({
    ...describe(h, 0), ...results[i], confirmed: results[i].holm < 0.05 && Math.sign(results[i].mean) === h.expectedSign,
  }));
  const layer1 = HYPOTHESES.map((h) => ({ ...describe(h, 1), ...pairedEstimate(differences(h, 1), SEED + 1) }));
  const retrieval = controlFamily(main, [{ name: protectedMarker.study, what: 'the query marker `?` never masked', record: protectedMarker }]);
  return { ...arms, tests, layer1, retrieval };
}

const pct = (x: number) => formatPercent(x);
const seeds = (k: number) => `${k} seed${k === 1 ? '' : 's'}`;
const points = (x: number) => `${x >= 0 ? '+' : '−'}${(Math.abs(x) * 100).toFixed(1)} pts`;

function armRow(arm: ArmMass, layer: number, learned?: boolean): string[] {
  const runs = learned === undefined ? arm.runs : arm.runs.filter((r) => r.learned === learned);
  const q = runs.map((r) => r.mass[layer][arm.query]), n = runs.map((r) => r.mass[layer][arm.needle]);
  return [arm.label, String(runs.length), runs.length ? pct(mean(q)) : '—', runs.length ? pct(mean(n)) : '—'];
}

export function queryAttentionMarkdown(a: QueryAttention, exploratory: QueryAttention | null): string {
  const lines: string[] = [];
  lines.push('# Does MEAP move first-layer attention from the query to the needle?', '');
  lines.push('The pre-registered test of [docs/preregistration-query-attention.md](../docs/preregistration-query-attention.md), '
    + 'on fresh seeds: `needle-quick-fresh` (NTP vs MEAP 0.15) and `needle-quick-fresh-protect-query-marker` (MEAP with the '
    + 'query marker `?` never masked; its NTP runs are needle-quick-fresh\'s), quick preset, 800 steps. Attention: the share '
    + 'of the answer position\'s attention on each segment in the final model, mean over heads and the 200 clean '
    + 'evaluation prompts. Differences are paired by seed (the same batches and initial weights); p: two-sided sign-flip '
    + 'permutation test (20 000 seeded draws), Holm over the four hypotheses; intervals: 95 % bootstrap.', '');
  lines.push('## The four hypotheses (layer 0)', '');
  lines.push(table(['hypothesis', 'segment', 'expected', 'n', 'mean difference [95% CI]', 'p', 'Holm p', 'verdict'],
    a.tests.map((t) => [t.hypothesis, t.segment, t.expectedSign > 0 ? 'more' : 'less', String(t.n),
      `${points(t.mean)} [${points(t.lo)}, ${points(t.hi)}]`, formatP(t.p), formatP(t.holm),
      t.confirmed ? 'confirmed' : Math.sign(t.mean) !== t.expectedSign && t.holm < 0.05 ? 'reversed' : 'not confirmed'])));
  lines.push('');
  lines.push('## By arm', '');
  lines.push(table(['arm', 'n', 'layer-0 mass on query', 'layer-0 mass on needle'], [a.ntp, a.meap, a.protectedMarker].map((arm) => armRow(arm, 0))));
  lines.push('');
  const r = a.retrieval;
  const row = r.rows[0];
  lines.push('## Retrieval on the fresh seeds', '');
  if (r.main) {
    lines.push(`- MEAP vs NTP, learned by the last step: ${r.main.meap.k} of ${r.main.meap.n} vs ${r.main.ntp.k} of `
      + `${r.main.ntp.n}, Fisher ${formatPIs(r.main.fisher.p)}: ${r.main.verdict}.`);
  }
  if (row?.vsMeap) {
    lines.push(`- \`?\` never masked vs MEAP, paired by seed: ${row.vsMeap.control} vs ${row.vsMeap.meap} of ${row.vsMeap.seeds} learned, `
      + `exact McNemar ${formatPIs(row.vsMeap.test.p)} (${seeds(row.vsMeap.test.onlyFirst)} learned only with \`?\` never masked, `
      + `${seeds(row.vsMeap.test.onlySecond)} only with MEAP).`);
  }
  lines.push('');
  lines.push('## Descriptive (no test)', '');
  lines.push('Layer 1, the same differences:', '');
  lines.push(table(['difference', 'segment', 'n', 'mean [95% CI]'],
    a.layer1.map((t) => [t.hypothesis.slice(4), t.segment, String(t.n), `${points(t.mean)} [${points(t.lo)}, ${points(t.hi)}]`])));
  lines.push('', 'Layer 0 within outcome (learned by the last step or not):', '');
  lines.push(table(['arm', 'n', 'layer-0 mass on query', 'layer-0 mass on needle'], [a.ntp, a.meap, a.protectedMarker]
    .flatMap((arm) => [true, false].map((l) => { const cells = armRow(arm, 0, l); cells[0] = `${arm.label}, ${l ? 'learned' : 'not learned'}`; return cells; }))));
  if (exploratory) {
    lines.push('', '## What suggested it (exploratory: the first 64 seeds, chosen after looking)', '');
    lines.push('needle-quick and needle-quick-protect-query-marker, the same analysis. These records suggested the hypotheses, '
      + 'so their p-values are not evidence; they are shown for comparison with the fresh seeds only.', '');
    lines.push(table(['difference', 'segment', 'n', 'mean [95% CI]'],
      exploratory.tests.map((t) => [t.hypothesis.slice(4), t.segment, String(t.n), `${points(t.mean)} [${points(t.lo)}, ${points(t.hi)}]`])));
  }
  lines.push('');
  return lines.join('\n');
}

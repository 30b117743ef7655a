/**
 * Growing a study until its primary endpoint is decided (`reproduce --seeds-until-decided MAX`, issue 17):
 * a look after every unit, each with its own share of α by the Lan–DeMets O'Brien–Fleming-type spending
 * function. Every look tests at the α spent since the previous one (a Bonferroni split of the spent α over
 * the looks: by the union bound the chance of any false "decided" stays ≤ α, conservatively — the exact
 * group-sequential boundaries, which use the correlation between looks, would be a little wider).
 * Only "MEAP better / worse" stops early; equivalence and "underpowered" wait for MAX.
 */
import { fisherExact, normalUpperTail } from './stats';
import { learnedStep } from '../analysis/retrieval';

/** How a sequential study was run: recorded in its definition, so its report can replay the looks. */
export interface SequentialRule {
  /** The most seeds per arm the study may spend. */
  maxSeedsPerArm: number;
  /** Overall two-sided type I error of the primary endpoint. */
  alpha: number;
  spending: 'obrien-fleming';
}

/** z with 1 − Φ(z) = p, by bisection on the normal tail (p in (0, 1)). */
export function normalQuantileUpper(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile needs p in (0, 1), got ${p}`);
  let lo = -40, hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalUpperTail(mid) > p) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Lan & DeMets (1983) O'Brien–Fleming-type spending function, two-sided: α(t) = 2 − 2Φ(z_{1−α/2} / √t) — the
 * cumulative α spent by information fraction t (here: seeds per arm so far / MAX). Spends almost nothing early.
 */
export function obrienFlemingSpent(t: number, alpha = 0.05): number {
  if (t <= 0) return 0;
  if (t >= 1) return alpha;
  return 2 * normalUpperTail(normalQuantileUpper(alpha / 2) / Math.sqrt(t));
}

export interface SequentialLook {
  /** Seeds per arm at this look. */
  seedsPerArm: number;
  /** Cumulative α spent by this look, and the level this look tests at (spent here − spent before). */
  spent: number;
  level: number;
  /** Seeds that met the endpoint, MEAP arm and NTP, and Fisher's p on them. */
  meap: { k: number; n: number };
  ntp: { k: number; n: number };
  p: number;
  decided: boolean;
}

export interface SequentialOutcome {
  looks: SequentialLook[];
  /** The look that decided (p below its level), or null. */
  decidedAt: number | null;
  /** True when the seeds reached the maximum without a decision. */
  exhausted: boolean;
}

/**
 * Replays the looks on cumulative counts (one entry per unit: how many seeds of each arm had met the endpoint
 * among the seeds so far); stops at the first look whose Fisher p falls below its share of α.
 */
export function sequentialLooks(
  counts: readonly { meap: { k: number; n: number }; ntp: { k: number; n: number } }[], rule: SequentialRule,
): SequentialOutcome {
  const looks: SequentialLook[] = [];
  let before = 0;
  for (const c of counts) {
    const seedsPerArm = Math.min(c.meap.n, c.ntp.n);
    const spent = obrienFlemingSpent(seedsPerArm / rule.maxSeedsPerArm, rule.alpha);
    const level = spent - before;
    before = spent;
    const p = fisherExact(c.meap.k, c.meap.n - c.meap.k, c.ntp.k, c.ntp.n - c.ntp.k).p;
    const decided = p < level;
    looks.push({ seedsPerArm, spent, level, meap: c.meap, ntp: c.ntp, p, decided });
    if (decided) return { looks, decidedAt: looks.length - 1, exhausted: false };
  }
  const last = looks[looks.length - 1];
  return { looks, decidedAt: null, exhausted: last !== undefined && last.seedsPerArm >= rule.maxSeedsPerArm };
}

/** What a look needs of a unit: its runs' arms and accuracy histories. */
interface UnitRuns { unit: number; runs: readonly { arm: number; history: readonly { step: number; retrievalAcc: number | null }[] }[] }

/**
 * The looks of a grown study from its units (a look after each unit, in unit order): cumulative counts of the
 * seeds of `meapArm` and `ntpArm` whose retrieval accuracy reached `threshold` at an evaluation.
 */
export function sequentialOfUnits(units: readonly UnitRuns[], meapArm: number, ntpArm: number, threshold: number, rule: SequentialRule): SequentialOutcome {
  const counts: { meap: { k: number; n: number }; ntp: { k: number; n: number } }[] = [];
  const meap = { k: 0, n: 0 }, ntp = { k: 0, n: 0 };
  for (const unit of [...units].sort((a, b) => a.unit - b.unit)) {
    for (const run of unit.runs) {
      const target = run.arm === meapArm ? meap : run.arm === ntpArm ? ntp : null;
      if (!target) continue;
      target.n++;
      const history = run.history.map((p) => ({ step: p.step, retrievalAcc: typeof p.retrievalAcc === 'number' ? p.retrievalAcc : Number.NaN }));
      if (learnedStep(history, threshold) !== null) target.k++;
    }
    counts.push({ meap: { ...meap }, ntp: { ...ntp } });
  }
  return sequentialLooks(counts, rule);
}

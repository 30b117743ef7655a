import type { ReactNode } from 'react';
import {
  endpointText, formatLossEstimate, formatP, formatPercentEstimate, formatPoints, formatPointsInterval, METRICS, powerSentence,
  verdictText, type ArmSummary, type StudySummary, type VerdictKind,
} from '../../study/report';
import { formatDifference } from './format';

/** The verdict's CSS class: the names styles.css already colours (verdict-helped / -hurt / -too-few-seeds-for-a-claim). */
function verdictClass(kind: VerdictKind): string {
  const names: Record<VerdictKind, string> = {
    better: 'helped', worse: 'hurt', equivalent: 'equivalent', underpowered: 'underpowered', 'too few seeds': 'too-few-seeds-for-a-claim',
  };
  return `verdict verdict-${names[kind]}`;
}

function ArmName({ arm }: { arm: ArmSummary }) {
  return <><span className="swatch" style={{ background: arm.colour }} />{arm.label}</>;
}

function Table({ testId, caption, head, children }: { testId: string; caption: ReactNode; head: string[]; children: ReactNode }) {
  return (
    <div className="report-table-wrap">
      <table className="report-table" data-testid={testId}>
        <caption>{caption}</caption>
        <thead><tr>{head.map((h) => <th key={h} scope="col">{h}</th>)}</tr></thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** Final accuracy, mean accuracy over training and final clean validation loss per arm (mean [95% CI]). */
export function ArmsTable({ summary, retrieval }: { summary: StudySummary; retrieval: boolean }) {
  const head = retrieval
    ? ['arm', 'n', 'final retrieval accuracy', 'mean accuracy over training', 'final clean val loss']
    : ['arm', 'n', 'final clean val loss'];
  return (
    <Table testId="report-arms" head={head}
      caption={`Per arm at step ${summary.arms[0]?.finalStep ?? 0}: mean over seeds [95% bootstrap CI]; n = seeds with a finite value.`}>
      {summary.arms.map((a) => (
        <tr key={a.arm} data-arm={a.label}>
          <th scope="row"><ArmName arm={a} /></th>
          <td className="num">{retrieval ? a.finalAcc.n : a.finalValLoss.n}</td>
          {retrieval && <td className="num" data-testid="final-acc">{formatPercentEstimate(a.finalAcc)}</td>}
          {retrieval && <td className="num">{formatPercentEstimate(a.meanAcc)}</td>}
          <td className="num" data-testid="final-loss">{formatLossEstimate(a.finalValLoss)}</td>
        </tr>
      ))}
    </Table>
  );
}

/**
 * The primary endpoint per MEAP arm (issue 17): seeds that met it, the difference with Newcombe's CI,
 * Fisher's p, the log-rank p of time to learn, the verdict and the power statement — n beside every number.
 */
export function PrimaryTable({ summary }: { summary: StudySummary }) {
  if (summary.primary.length === 0) return null;
  const byStep = summary.primary[0].byStep;
  return (
    <>
      <Table testId="report-primary" head={['arm', 'MEAP arm', 'NTP', 'difference [95% CI]', 'Fisher p', 'log-rank p', 'verdict']}
        caption={<>Primary endpoint: {endpointText(summary.endpoint, byStep)}, Fisher&apos;s exact test (two-sided); time to learn by the
          log-rank test. &ldquo;No difference larger than ±X&rdquo; only when the CI lies inside ±X; otherwise &ldquo;underpowered: not
          measured&rdquo;.</>}>
        {summary.primary.map((r) => {
          const n = [r.meap.n, r.ntp.n];
          return (
            <tr key={r.arm} data-arm={r.label}>
              <th scope="row">{r.label}</th>
              <td className="num">{r.meap.k} of {r.meap.n}</td>
              <td className="num">{r.ntp.k} of {r.ntp.n}</td>
              <td className="num">{formatPoints(r.difference.estimate)} {formatPointsInterval(r.difference)}</td>
              <td className="num" data-testid="fisher-p">{formatP(r.fisher.p, n)}</td>
              <td className="num">{formatP(r.logRank.p, n)}</td>
              <td data-testid="primary-verdict" className={verdictClass(r.verdictKind)}>{r.verdict}</td>
            </tr>
          );
        })}
      </Table>
      <ul className="hint" data-testid="report-power">
        {summary.primary.map((r) => <li key={r.arm}>Power ({r.label}): {powerSentence(r)}.</li>)}
      </ul>
    </>
  );
}

/** MEAP − NTP per MEAP arm and metric: difference [95% CI], permutation p-value, verdict. */
export function ComparisonsTable({ summary, retrieval, seedsForClaim }: { summary: StudySummary; retrieval: boolean; seedsForClaim: number }) {
  const rows = summary.comparisons.filter((c) => retrieval || METRICS[c.metric].unit === 'loss');
  if (rows.length === 0) return <p className="hint" data-testid="report-no-comparison">The study has no NTP arm (mask ratio 0) to compare with.</p>;
  return (
    <Table testId="report-comparisons" head={['arm', 'metric', 'difference [95% CI]', 'p', 'test', 'verdict', 'n']}
      caption={<>MEAP arm − NTP, difference of means with its bootstrap 95% CI and a two-sided permutation test. &ldquo;Better / worse&rdquo;
        needs p &lt; 0.05, a CI excluding 0 and at least {seedsForClaim} seeds per arm; for the loss, lower is better.</>}>
      {rows.map((c) => (
        <tr key={`${c.arm}:${c.metric}`} data-arm={c.label} data-metric={c.metric}>
          <th scope="row">{c.label}</th>
          <td>{METRICS[c.metric].title}</td>
          <td className="num" data-testid="difference">{formatDifference(c.metric, c.diff, c.n)}</td>
          <td className="num" data-testid="p-value">{formatP(c.test.p, c.n)}</td>
          <td>{c.test.exact ? `exact (${c.test.permutations} relabellings)` : `Monte Carlo (${c.test.permutations})`}</td>
          <td data-testid="verdict" className={verdictClass(c.verdictKind)}>{c.verdict}</td>
          <td className="num">{c.n[0]} + {c.n[1]}</td>
        </tr>
      ))}
    </Table>
  );
}

/** Seeds that learned retrieval (accuracy ≥ threshold at an evaluation) and when. */
export function LearnedTable({ summary, threshold }: { summary: StudySummary; threshold: number }) {
  return (
    <Table testId="report-learned" head={['arm', 'seeds that learned', 'median learned step', 'learned step per seed']}
      caption={`A seed has learned retrieval from its first evaluation with accuracy ≥ ${Math.round(threshold * 100)}%.`}>
      {summary.arms.map((a) => (
        <tr key={a.arm} data-arm={a.label} data-learned={a.learned.learnedCount}>
          <th scope="row"><ArmName arm={a} /></th>
          <td className="num">{a.learned.learnedCount} of {a.learned.total}</td>
          <td className="num">{a.learned.medianLearnedStep === null ? '—' : a.learned.medianLearnedStep}</td>
          <td className="num">{a.learned.learnedSteps.map((x) => (x === null ? 'never' : String(x))).join(', ')}</td>
        </tr>
      ))}
    </Table>
  );
}

function bucketName(b: number, buckets: number): string {
  return `${Math.round((100 * b) / buckets)}–${Math.round((100 * (b + 1)) / buckets)}%`;
}

/** Final accuracy per depth bucket and arm. */
export function DepthTable({ summary, bucketLabel }: { summary: StudySummary; bucketLabel: string }) {
  const buckets = summary.arms[0]?.depth.length ?? 0;
  if (buckets === 0) return null;
  return (
    <Table testId="report-depth" head={[bucketLabel, ...summary.arms.map((a) => a.label)]}
      caption={`Final retrieval accuracy by ${bucketLabel}: mean over seeds [95% bootstrap CI].`}>
      {Array.from({ length: buckets }, (_, b) => (
        <tr key={b}>
          <th scope="row">{bucketName(b, buckets)}</th>
          {summary.arms.map((a) => <td key={a.arm} className="num">{formatPercentEstimate(a.depth[b])}</td>)}
        </tr>
      ))}
    </Table>
  );
}

/**
 * The MEAP arms against each other, paired by seed (summary.armPairs: exact McNemar on the primary endpoint, Holm over
 * the pairs), as report.md's section. Shown when the study has two or more MEAP arms; below `seedsForClaim` seeds the
 * verdict reads "too few seeds for a claim", as everywhere in the panel.
 */
export function ArmPairsTable({ summary, seedsForClaim }: { summary: StudySummary; seedsForClaim: number }) {
  if (summary.armPairs.length === 0) return null;
  return (
    <Table testId="report-arm-pairs" head={['pair', 'seeds', 'learned (first / second)', 'only first / only second', 'McNemar p', 'Holm p', 'verdict']}
      caption={<>MEAP arms against each other: every arm of a seed starts from the same weights and sees the same batches, so they are
        compared seed by seed on whether they learned retrieval — exact McNemar test on the seeds that learned under one arm only,
        Holm over the {summary.armPairs.length} pair{summary.armPairs.length === 1 ? '' : 's'}. &ldquo;Not distinguished&rdquo; is not
        &ldquo;equal&rdquo;: see the counts.</>}>
      {summary.armPairs.map((p) => {
        const n = [p.seeds, p.seeds];
        return (
          <tr key={`${p.first.arm}:${p.second.arm}`} data-pair={`${p.first.label} vs ${p.second.label}`}>
            <th scope="row">{p.first.label} vs {p.second.label}</th>
            <td className="num">{p.seeds}</td>
            <td className="num">{p.first.learned} / {p.second.learned}</td>
            <td className="num" data-testid="discordant">{p.test.onlyFirst} / {p.test.onlySecond}</td>
            <td className="num">{formatP(p.test.p, n)}</td>
            <td className="num">{formatP(p.holm, n)}</td>
            <td data-testid="verdict">{p.seeds < seedsForClaim ? verdictText('too few seeds', '') : p.verdict}</td>
          </tr>
        );
      })}
    </Table>
  );
}

import type { ReactNode } from 'react';
import {
  formatLossEstimate, formatP, formatPercentEstimate, METRICS, type ArmSummary, type StudySummary,
} from '../../study/report';
import { formatDifference } from './format';

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

/** MEAP − NTP per MEAP arm and metric: difference [95% CI], permutation p-value, verdict. */
export function ComparisonsTable({ summary, retrieval, seedsForClaim }: { summary: StudySummary; retrieval: boolean; seedsForClaim: number }) {
  const rows = summary.comparisons.filter((c) => retrieval || METRICS[c.metric].unit === 'loss');
  if (rows.length === 0) return <p className="hint" data-testid="report-no-comparison">The study has no NTP arm (mask ratio 0) to compare with.</p>;
  return (
    <Table testId="report-comparisons" head={['arm', 'metric', 'difference [95% CI]', 'p', 'test', 'verdict']}
      caption={<>MEAP arm − NTP, difference of means with its bootstrap 95% CI and a two-sided permutation test. A verdict needs
        p &lt; 0.05, a CI excluding 0 and at least {seedsForClaim} seeds per arm; for the loss, lower is better.</>}>
      {rows.map((c) => (
        <tr key={`${c.arm}:${c.metric}`} data-arm={c.label} data-metric={c.metric}>
          <th scope="row">{c.label}</th>
          <td>{METRICS[c.metric].title}</td>
          <td className="num" data-testid="difference">{formatDifference(c.metric, c.diff, c.n)}</td>
          <td className="num" data-testid="p-value">{formatP(c.test.p, c.n)}</td>
          <td>{c.test.exact ? `exact (${c.test.permutations} relabellings)` : `Monte Carlo (${c.test.permutations})`}</td>
          <td data-testid="verdict" className={`verdict verdict-${c.verdict.replace(/\s+/g, '-')}`}>{c.verdict}</td>
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

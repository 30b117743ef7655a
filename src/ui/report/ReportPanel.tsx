import { useEffect } from 'react';
import { useRuns } from '../../store/runs';
import { analyseAttention, computeReport, connectReport, useReport, type ComputedReport } from '../../store/report';
import { allRuns } from '../../study/report';
import { PLAYGROUND_STUDY } from '../../study/pageRecord';
import { ArmPairsTable, ArmsTable, ComparisonsTable, DepthTable, LearnedTable, PrimaryTable } from './ReportTables';
import { AttentionTable } from './AttentionTable';
import { ReportFigures } from './ReportFigures';
import { saveFile } from './download';

/** A verdict line of analyseStudy, whose verdict is in markdown bold, as text with the bold kept. */
function VerdictLine({ text }: { text: string }) {
  return <>{text.split('**').map((part, k) => (k % 2 === 1 ? <strong key={k}>{part}</strong> : part))}</>;
}

function AsOf({ report, currentStep }: { report: ComputedReport; currentStep: number }) {
  const still = report.trainingState === 'running' || report.trainingState === 'paused';
  return (
    <p className="report-asof" data-testid="report-asof" data-step={report.step}>
      Numbers as of step <strong>{report.step}</strong> of {report.totalSteps} (the latest evaluation when computed).
      {still && <> Training was still {report.trainingState === 'paused' ? 'under way (paused)' : 'running'}: compute again for later numbers.</>}
      {!still && currentStep > report.step && <> The study has since reached step {currentStep}.</>}
    </p>
  );
}

function NamedStudyNote({ report }: { report: ComputedReport }) {
  const d = report.record.definition;
  if (report.record.study === PLAYGROUND_STUDY) return null;
  return (
    <p className="hint" data-testid="report-named-study">
      This is the {d.name} study&apos;s config. The page trains all {d.config.seedsPerArm} seeds per arm at once from base seed{' '}
      {d.config.baseSeed}, while <code>npm run reproduce -- --study {d.name}</code> trains them in units with their own base seeds:
      the same question, other draws of the seeds.
    </p>
  );
}

function ReportBody({ report, currentStep }: { report: ComputedReport; currentStep: number }) {
  const { record, summary, retrieval } = report;
  const d = record.definition;
  const first = allRuns(record).find((r) => r.attention !== null)?.attention ?? null;
  return (
    <div className="report-body" data-testid="report-body" data-study={record.study}>
      <AsOf report={report} currentStep={currentStep} />
      <h3 className="report-title">{d.title}</h3>
      <p><strong>Question.</strong> {d.question}</p>
      <NamedStudyNote report={report} />
      {retrieval ? (
        <>
          <p data-testid="report-overall"><strong>Answer at this scale.</strong> {summary.overall}</p>
          <ul className="report-verdicts" data-testid="report-verdicts">
            {summary.verdictLines.map((line) => <li key={line}><VerdictLine text={line} /></li>)}
          </ul>
        </>
      ) : (
        <p className="hint" data-testid="report-no-retrieval">
          The {d.config.task} task is plain language modelling: it has no retrieval answers to score, so the report compares the
          clean validation loss only (pretrain-then-probe adds a zero-shot retrieval probe to the text task).
        </p>
      )}
      {retrieval && <PrimaryTable summary={summary} />}
      <ArmsTable summary={summary} retrieval={retrieval} />
      <ComparisonsTable summary={summary} retrieval={retrieval} seedsForClaim={d.seedsForClaim} />
      {retrieval && <ArmPairsTable summary={summary} seedsForClaim={d.seedsForClaim} />}
      {retrieval && <LearnedTable summary={summary} threshold={d.learnedThreshold} />}
      {retrieval && <DepthTable summary={summary} bucketLabel={d.bucketLabel} />}
      {first && report.attentionStep !== null ? (
        <>
          <p className="hint">Attention analysed on the models at step {report.attentionStep}.</p>
          <AttentionTable summary={summary} segmentNames={first.segmentNames} examples={first.examples.length} probe={d.config.zeroShotProbe !== undefined} />
        </>
      ) : (
        <p className="hint" data-testid="report-attention-missing">Attention analyses not run: press “Analyse attention” to add them.</p>
      )}
      {report.figureError && <p className="hint" role="status">The figures could not be drawn: {report.figureError}</p>}
      <ReportFigures figures={report.figures} retrieval={retrieval} attention={report.attentionStep !== null} />
      <div className="report-downloads">
        <button type="button" className="secondary" data-testid="download-study-json"
          onClick={() => saveFile(`${JSON.stringify(record)}\n`, 'study.json', 'application/json')}>Download study.json</button>
        <button type="button" className="secondary" data-testid="download-report-md"
          onClick={() => saveFile(report.markdown, 'report.md', 'text/markdown')}>Download report.md</button>
      </div>
      <p className="hint">
        study.json has the format of reports/&lt;study&gt;/study.json; <code>npm run reproduce -- --from study.json</code> renders it into a
        full report folder (report.md, summary.json and the figures report.md links to).
      </p>
    </div>
  );
}

function AttentionStatus() {
  const attention = useReport((s) => s.attention);
  switch (attention.status) {
    case 'pending': return <span className="hint" role="status" data-testid="attention-status" data-status="pending">Analysing attention on {attention.examples} examples per run…</span>;
    case 'failed': return <span className="field-error" role="alert" data-testid="attention-status" data-status="failed">Attention analysis failed: {attention.error}</span>;
    case 'done': return <span className="hint" role="status" data-testid="attention-status" data-status="done">Attention analysed at step {attention.step} ({attention.examples} examples per run).</span>;
    default: return null;
  }
}

/**
 * The statistics of `npm run reproduce` (src/study/report.ts) on the page's own runs: computed on demand,
 * as of the latest evaluation, with the attention analyses when asked for; downloadable as study.json and
 * report.md.
 */
export function ReportPanel() {
  useEffect(connectReport, []);
  const { status, report, error, attention } = useReport();
  const study = useRuns((s) => s.study);
  const evaluations = useRuns((s) => s.evals.steps.length);
  const state = useRuns((s) => s.state);
  const step = useRuns((s) => s.step);
  // Trained models and at least one evaluation to report on.
  // The report compares pretraining arms: a fine-tuning stage (its variants) is compared in the charts only.
  const finetuning = study?.stage === 'finetune';
  const ready = study !== null && evaluations > 0 && state !== 'building' && !finetuning;
  return (
    <section className="panel report-panel" aria-labelledby="report-title" data-testid="report-panel" data-status={status}>
      <div className="panel-head">
        <h2 id="report-title">Report</h2>
        <div className="report-actions">
          <button type="button" data-testid="compute-report" onClick={computeReport} disabled={!ready || status === 'computing'}>
            {status === 'computing' ? 'Computing…' : report ? 'Compute again' : 'Compute report'}
          </button>
          <button type="button" className="secondary" data-testid="analyse-attention" onClick={analyseAttention}
            disabled={!ready || attention.status === 'pending'}>Analyse attention</button>
        </div>
      </div>
      <p className="hint">
        The statistics of <code>npm run reproduce</code> on your runs: per-arm means with bootstrap 95% CIs, MEAP − NTP with a
        permutation test, when each seed learned retrieval, accuracy by depth and, on request, the attention analyses of the trained
        models. {finetuning
          ? <span data-testid="report-finetune">The report covers pretraining; the fine-tuning variants are compared in the charts above
            (<code>npm run reproduce -- --study qa-finetune-quick</code> reports both stages).</span>
          : ready ? '' : 'Available once the study has an evaluation.'}
      </p>
      <AttentionStatus />
      {error && <p className="field-error" role="alert" data-testid="report-error">{error}</p>}
      {report && <ReportBody report={report} currentStep={step} />}
    </section>
  );
}

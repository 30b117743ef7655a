/**
 * The report view's state: the study statistics of `npm run reproduce` computed on the page's own runs,
 * on demand ("Compute report": a big study takes ~100 ms, too much for every evaluation), and the attention
 * analyses of the trained models, asked of the Worker ("Analyse attention").
 *
 * A report belongs to one study at one step. A new build, a reset or a restore (anything that replaces the
 * runs' series) clears it, and an attention answer for a study that has since been replaced is ignored
 * (its request id no longer matches), so stale numbers never show for another study.
 */
import { create } from 'zustand';
import type { FromTrainer, TrainingState, AttentionRecord, HistoryPoint } from '../session/protocol';
import { analyseStudy, figures, renderMarkdown, type StudyRecord, type StudySummary } from '../study/report';
import { hasRetrievalScore, pageDefinition, pageStudyRecord, recordStep, trainingMs, type PageRecordInput } from '../study/pageRecord';
import { useRuns, type RunsState } from './runs';
import { useDevice } from './device';
import { sendToTrainer, subscribeToTrainer } from './trainer';
import { useSession } from './sessionState';

export interface ComputedReport {
  record: StudyRecord;
  summary: StudySummary;
  /** SVG text by file name (as reports/<study>/figures/ holds them); empty when they could not be drawn. */
  figures: Record<string, string>;
  figureError: string | null;
  markdown: string;
  /** The step the numbers are as of, and what training was doing then. */
  step: number;
  totalSteps: number;
  trainingState: TrainingState;
  retrieval: boolean;
  /** Step of the attention analyses included (null: not analysed). */
  attentionStep: number | null;
}

export type AttentionStatus = 'idle' | 'pending' | 'done' | 'failed';

export interface AttentionAnalysis {
  status: AttentionStatus;
  requestId: number;
  examples: number;
  step: number | null;
  records: AttentionRecord[] | null;
  error: string | null;
}

export interface ReportState {
  status: 'idle' | 'computing' | 'ready' | 'failed';
  report: ComputedReport | null;
  error: string | null;
  attention: AttentionAnalysis;
}

let nextRequestId = 1;

const idleAttention = (): AttentionAnalysis => ({ status: 'idle', requestId: 0, examples: 0, step: null, records: null, error: null });

export const useReport = create<ReportState>()(() => ({ status: 'idle', report: null, error: null, attention: idleAttention() }));

/** Forgets the report and any attention analysis (the study changed). */
export function clearReport(): void {
  useReport.setState({ status: 'idle', report: null, error: null, attention: idleAttention() });
}

/**
 * The evaluations the report counts: the study's regular ones (every `evaluation.every` steps and the last),
 * as `npm run reproduce` records them. The page's early evaluations (step 0, 4, 8…) are for the charts only,
 * so a page record and a CLI record of one study have the same evaluation steps.
 */
function regularEvaluations(runs: Pick<RunsState, 'study' | 'evals'>): HistoryPoint[][] {
  const config = runs.study?.config;
  if (!config) return [];
  const keep = runs.evals.steps.map((step) => step > 0 && (step % config.evaluation.every === 0 || step === config.steps));
  return runs.evals.points.map((points) => points.filter((_, k) => keep[k]));
}

/** What the report is computed from: the runs store, the adapter, the built study's preset name. */
export function currentRecordInput(attention: readonly AttentionRecord[] | null): PageRecordInput | null {
  const runs = useRuns.getState();
  const applied = useSession.getState().applied;
  if (!runs.study || !canComputeReport(runs)) return null;
  const device = useDevice.getState();
  return {
    presetName: applied?.presetName ?? '',
    config: runs.study.config,
    bucketLabel: runs.study.task.bucketLabel,
    runs: runs.study.runs,
    points: regularEvaluations(runs),
    engine: device.engine,
    adapter: device.adapter,
    attention,
    command: typeof location === 'undefined' ? 'the playground page' : location.href,
    generatedAt: new Date().toISOString(),
    trainingMs: trainingMs(runs.speed),
  };
}

/** Every number and figure of the report for one record (pure; the figures are best effort). */
export function buildReport(input: PageRecordInput, trainingState: TrainingState, attentionStep: number | null): ComputedReport {
  const record = pageStudyRecord(input);
  const summary = analyseStudy(record);
  let figs: Record<string, string> = {};
  let figureError: string | null = null;
  try {
    // The page's view: curves up to the latest evaluation (mid-run), MEAP − NTP symmetric around zero.
    figs = figures(record, summary, { latestStep: recordStep(record), symmetricDifferences: true });
  } catch (error) {
    figureError = error instanceof Error ? error.message : String(error);
  }
  return {
    record, summary, figures: figs, figureError, markdown: renderMarkdown(record, summary),
    step: recordStep(record), totalSteps: input.config.steps, trainingState,
    retrieval: hasRetrievalScore(input.config), attentionStep: input.attention ? attentionStep : null,
  };
}

/** Whether the study has an evaluation to report on. */
export function canComputeReport(runs: Pick<RunsState, 'study' | 'evals'>): boolean {
  // The report's statistics compare pretraining arms; a fine-tuning stage's variants are compared in the charts.
  if (runs.study?.stage === 'finetune') return false;
  return runs.study !== null && (regularEvaluations(runs)[0]?.length ?? 0) > 0;
}

function computeNow(): void {
  const { attention } = useReport.getState();
  const records = attention.status === 'done' ? attention.records : null;
  const input = currentRecordInput(records);
  if (!input) {
    useReport.setState({ status: 'failed', error: 'Nothing to report yet: the study has no evaluation.' });
    return;
  }
  try {
    const report = buildReport(input, useRuns.getState().state, records ? attention.step : null);
    useReport.setState({ status: 'ready', report, error: null });
  } catch (error) {
    useReport.setState({ status: 'failed', error: error instanceof Error ? error.message : String(error) });
  }
}

/** "Compute report": the statistics as of the latest evaluation (after a paint, so the button shows progress). */
export function computeReport(): void {
  useReport.setState({ status: 'computing', error: null });
  setTimeout(computeNow, 0);
}

/** "Analyse attention": the report's attention analyses on the trained models, in the Worker. */
export function analyseAttention(): void {
  const runs = useRuns.getState();
  if (!canComputeReport(runs) || !runs.study) return;
  const applied = useSession.getState().applied;
  const examples = pageDefinition(applied?.presetName ?? '', runs.study.config, runs.study.task.bucketLabel).attentionExamples;
  const requestId = nextRequestId++;
  useReport.setState({ attention: { status: 'pending', requestId, examples, step: null, records: null, error: null } });
  sendToTrainer({ type: 'analyseAttention', requestId, examples });
}

/** Applies the Worker's answer to "Analyse attention"; a computed report is recomputed with it. */
export function receiveReportMessage(message: FromTrainer): void {
  const { attention, report } = useReport.getState();
  // A Worker that is gone never answers: say so rather than wait forever.
  if (message.type === 'crashed' && attention.status === 'pending') {
    useReport.setState({ attention: { ...attention, status: 'failed', error: message.message } });
    return;
  }
  if (message.type !== 'attentionAnalysis') return;
  if (attention.status !== 'pending' || message.requestId !== attention.requestId) return;
  const runCount = useRuns.getState().study?.runs.length ?? 0;
  if (message.error !== null || message.records === null) {
    useReport.setState({ attention: { ...attention, status: 'failed', error: message.error ?? 'The Worker returned no attention records.' } });
    return;
  }
  if (message.records.length !== runCount) {
    useReport.setState({ attention: { ...attention, status: 'failed', error: `${message.records.length} attention records for ${runCount} runs` } });
    return;
  }
  useReport.setState({ attention: { ...attention, status: 'done', step: message.step, records: message.records, error: null } });
  if (report) computeReport();
}

/** Whether the runs store's change replaces the study or its series (then the report is stale). */
export function replacesSeries(next: Pick<RunsState, 'study' | 'evals'>, previous: Pick<RunsState, 'study' | 'evals'>): boolean {
  if (next.study !== previous.study) return true;
  if (next.evals.steps.length < previous.evals.steps.length) return true;
  // A restore replaces the series with as many or more points: the first steps tell.
  return next.evals.steps.length > 0 && previous.evals.steps.length > 0 && next.evals.steps[0] !== previous.evals.steps[0];
}

let connected = false;

/** Clears the report whenever the study or its series are replaced, and listens for attention answers. */
export function connectReport(): void {
  if (connected) return;
  connected = true;
  useRuns.subscribe((next, previous) => {
    if (replacesSeries(next, previous)) clearReport();
  });
  subscribeToTrainer(receiveReportMessage);
}

/**
 * From a study's raw result (study.json) to its report: the statistics (analyseStudy, pure and
 * deterministic: every bootstrap and permutation draws from a seed derived from the study, metric and
 * arm) and their rendering (renderMarkdown, figures; reportFiles.ts writes them to a folder). Every number in
 * the report comes from analyseStudy(study.json), so it can be recomputed from the committed JSON. Pure and
 * free of Node APIs: the page's report view uses the same functions on the user's own run.
 *
 * This file is the entry callers import; the parts: reportStatistics.ts (the record, analyseStudy and its
 * summary), reportFormat.ts (numbers as text), reportFigures.ts (the SVG figures), reportMarkdown.ts (report.md).
 */
export {
  allRuns, analyseStudy, attentionOfEveryArm, endpointText, metricMarginText, metricValue, METRICS, PAPER, powerSentence, statSeed, STUDY_FORMAT,
  type ArmAttention, type ArmSummary, type Comparison, type Metric, type PrimaryResult, type StepBand, type StudyRecord,
  type StudySummary, type TimeToLearn, type Verdict, type VerdictKind,
} from './reportStatistics';
export {
  formatLoss, formatLossEstimate, formatP, formatPercent, formatPercentEstimate, formatPoints, formatPointsInterval, NEEDS_SEEDS,
} from './reportFormat';
export { verdictText } from './reportPrimary';
export { figures } from './reportFigures';
export { renderMarkdown } from './reportMarkdown';

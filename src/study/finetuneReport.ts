/**
 * The report of a fine-tuning study: report.md and figures from analyseFinetuneStudy (finetuneStatistics.ts).
 * Pure (no Node APIs); reportFiles.ts writes it.
 */
import { finetuneStageConfig } from '../config/finetuneStage';
import type { StudyConfig } from '../config/presets';
import { armLabel } from '../util/palette';
import { lineChart, type LineSeries } from './svg';
import type { StudyRecord } from './reportStatistics';
import { FINETUNE_PRIMARY, type FinetuneMetric, type FinetuneSummary, type PairedComparison } from './finetuneStatistics';

export { analyseFinetuneStudy, type FinetuneSummary } from './finetuneStatistics';

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const points = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}` : '—');
const loss = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
const pctAxis = (v: number) => `${Math.round(v * 100)}%`;

/** Whether a record is a fine-tuning study's (and gets this report). */
export function isFinetuneRecord(record: StudyRecord): boolean {
  return record.definition.config.finetune !== undefined;
}

function durationText(ms: number): string {
  const minutes = ms / 60_000;
  return minutes < 90 ? `${minutes.toFixed(1)} min` : `${(minutes / 60).toFixed(1)} h`;
}

function setupLines(record: StudyRecord, s: FinetuneSummary): string[] {
  const c: StudyConfig = record.definition.config;
  const f = c.finetune!;
  const o = c.taskOptions as { documents: number; answerMin: number; answerMax: number; fillerWords: number; keys: number; values: number };
  const m = c.model;
  const wallMs = record.units.reduce((a, u) => a + u.wallMs, 0);
  const adapters = [...new Set(record.units.map((u) => u.adapter))];
  return [
    `- **Command:** \`${record.command}\``,
    `- **Adapter${adapters.length > 1 ? 's' : ''}:** ${adapters.join('; ')}; wall time ${durationText(wallMs)} over ${record.units.length} unit(s)`,
    `- **Task:** qa — ${o.documents} documents, each \`[DOC] … K : v₁ … v_L …\` with an answer phrase of ${o.answerMin}–${o.answerMax} value words ` +
      `(${o.values} values, ${o.keys} keys, ${o.fillerWords} filler words), then \`? K\` and the phrase; T = ${m.context}`,
    `- **Model:** ${m.layers} layers, d = ${m.dModel}, ${m.heads} heads, d_ff = ${m.dFF}, vocabulary ${m.vocabSize}`,
    `- **Stage 1 (pretraining):** ${c.arms.map((r) => armLabel(r)).join(', ')}, ${c.steps} steps × batch ${c.batch}, next-token loss on every token, ` +
      `AdamW lr ${c.optimizer.lr} (warm-up ${c.optimizer.warmupSteps}, cosine to ${c.optimizer.minLrRatio}×)`,
    `- **Stage 2 (fine-tuning):** ${f.variants.join(', ')}, ${f.steps} steps × ${c.batch} examples, loss on answer tokens only, lr ${f.lr} (warm-up ${f.warmupSteps}); ` +
      `MEAP-SFT adds a masked copy of each example whose answer has ≥ ${f.minAnswer} tokens, with max(1, ⌊${f.maskFraction} · L⌋) answer tokens replaced by [MASK], ` +
      `loss ${f.variants.includes('meap-sft-all') ? 'at the masked positions (meap-sft) or on all answer tokens (meap-sft-all)' : 'at the masked positions only (the reference code)'}. ` +
      `The reference code applies this to answers longer than 50 tokens; here answers are ${o.answerMin}–${o.answerMax} tokens, so the threshold is scaled to ${f.minAnswer}.`,
    `- **Pairing:** **${s.seeds} seeds**; every variant of a seed starts from that seed's pretrained weights and sees the same examples, so differences are paired by seed`,
    `- **Evaluation:** every ${c.evaluation.every} steps on ${c.evaluation.count} held-out examples with clean prompts; exact match = every answer token's argmax right ` +
      `given the right prefix (what greedy decoding of the span produces); token accuracy = share of answer tokens right given the right prefix; ` +
      `answer loss = mean loss on answer tokens; ${c.evaluation.buckets} answer-document buckets (the lost-in-the-middle curve)`,
  ];
}

function comparisonRow(c: PairedComparison, what: string, scale: 'points' | 'loss'): string {
  const show = scale === 'points' ? points : (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}` : '—');
  return `| ${c.label} vs SFT | ${what} | ${c.n} | ${show(c.difference.estimate)} [${show(c.difference.lo)}, ${show(c.difference.hi)}] | ` +
    `${Number.isFinite(c.p) ? c.p.toPrecision(2) : '—'} | ${scale === 'points' ? `${(100 * c.detectable).toFixed(1)} points` : c.detectable.toFixed(3)} |`;
}

const METRIC_TEXT: Record<FinetuneMetric, string> = { tokens: 'answer-token accuracy', exact: 'exact match', answerLoss: 'answer loss' };

/** report.md of a fine-tuning study. */
export function renderFinetuneMarkdown(record: StudyRecord, s: FinetuneSummary): string {
  const d = record.definition;
  const stage = finetuneStageConfig(d.config);
  const lines: string[] = [
    `# ${d.title}`, '',
    `**Question.** ${d.question}`, '',
    `**Answer.** ${s.overall}`, '',
    '## Setup', '', ...setupLines(record, s), '',
    '## Primary endpoint', '',
    `Fixed before the study was run: ${FINETUNE_PRIMARY.text}. "No difference larger than ±${(100 * FINETUNE_PRIMARY.margin).toFixed(0)} points" is said only when ` +
      'the 95 % CI of the mean paired difference lies inside that margin; otherwise a non-significant result is "not decided", with the smallest ' +
      'difference the study could detect with 80 % power.', '',
    '| comparison | metric | n (paired seeds) | mean difference [95% CI] (points) | p | detectable (80% power) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...s.primary.map((c) => comparisonRow(c, `${METRIC_TEXT[c.metric]} (primary)`, 'points')),
    ...s.secondary.map((c) => comparisonRow(c, METRIC_TEXT[c.metric], c.metric === 'answerLoss' ? 'loss' : 'points')),
    '', ...s.primary.map((c) => `- **${c.label} vs SFT: ${c.verdict}.**`), '',
    '## Final scores (mean over seeds [95% bootstrap CI], n seeds)', '',
    '| arm | exact match | answer-token accuracy | answer loss | n |', '| --- | --- | --- | --- | --- |',
    ...s.arms.map((a) => `| ${a.label} | ${pct(a.final.exact.mean)} [${pct(a.final.exact.lo)}, ${pct(a.final.exact.hi)}] | ` +
      `${pct(a.final.tokens.mean)} [${pct(a.final.tokens.lo)}, ${pct(a.final.tokens.hi)}] | ${loss(a.final.answerLoss.mean)} [${loss(a.final.answerLoss.lo)}, ${loss(a.final.answerLoss.hi)}] | ${a.final.tokens.n} |`),
    ...s.pretrain.map((p) => `| after pretraining (${p.label}, before fine-tuning) | ${pct(p.exact.mean)} [${pct(p.exact.lo)}, ${pct(p.exact.hi)}] | ` +
      `${pct(p.tokens.mean)} [${pct(p.tokens.lo)}, ${pct(p.tokens.hi)}] | — | ${p.tokens.n} |`),
    '', '![exact match vs fine-tuning step](figures/exact.svg)', '', '![answer-token accuracy vs fine-tuning step](figures/tokens.svg)', '',
    `## Exact match by answer document (the lost-in-the-middle curve; ${stage.evaluation.buckets} buckets, first … last)`, '',
    `| arm | ${Array.from({ length: stage.evaluation.buckets }, (_, b) => `doc bucket ${b + 1}`).join(' | ')} |`,
    `| --- | ${Array.from({ length: stage.evaluation.buckets }, () => '---').join(' | ')} |`,
    ...s.arms.map((a) => `| ${a.label} | ${a.byDocument.map((e) => pct(e.mean)).join(' | ')} |`),
    '', '![exact match by answer document](figures/bydocument.svg)', '',
    '## What the paper reports, and what this study can say', '',
    'The paper fine-tunes Llama-3-8B on multi-document QA and reports, at 20 documents, accuracy 25.56 % with SFT and 37.33 % with MEAP-SFT ' +
      '(+11.77 points). This study is the same comparison at playground scale (a model of tens of thousands of parameters, answers of a few tokens, ' +
      'minutes of training): a difference here, or its absence, says how the objective acts on this small model and task, not whether the ' +
      'paper\'s effect holds at its scale. Read "not decided" as exactly that: the detectable-difference column says how large an effect the ' +
      'seeds could have shown.', '',
  ];
  return lines.join('\n');
}

/** figures/exact.svg, tokens.svg, bydocument.svg. */
export function finetuneFigures(record: StudyRecord, s: FinetuneSummary): Record<string, string> {
  const stage = finetuneStageConfig(record.definition.config);
  const runs = record.units.flatMap((u) => u.runs);
  const curve = (metric: FinetuneMetric, title: string, yLabel: string) => {
    const thin: LineSeries[] = runs.map((r) => ({
      label: `seed ${r.seed}`, colour: s.arms[r.arm].colour, width: 1, opacity: 0.3, hideInLegend: true,
      points: r.history.map((p) => ({ x: p.step, y: metric === 'exact' ? p.retrievalAcc : p.tokenAcc ?? Number.NaN })),
    }));
    return lineChart({
      title: `${record.study}: ${title}`, xLabel: 'fine-tuning step', yLabel,
      series: [...thin, ...s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 3, points: a.curves[metric].map((p) => ({ x: p.step, y: p.mean })) }))],
      bands: s.arms.map((a) => ({ colour: a.colour, points: a.curves[metric].map((p) => ({ x: p.step, lo: p.lo, hi: p.hi })) })),
      xDomain: { min: 0, max: stage.steps }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
      notes: ['thin: one seed', 'bold: mean over seeds', 'band: 95% bootstrap CI'],
    });
  };
  const buckets = stage.evaluation.buckets;
  return {
    'exact.svg': curve('exact', 'exact match of the answer vs fine-tuning step', 'exact match'),
    'tokens.svg': curve('tokens', 'answer-token accuracy vs fine-tuning step', 'answer-token accuracy'),
    'bydocument.svg': lineChart({
      title: `${record.study}: exact match by answer document after fine-tuning`, xLabel: 'answer document (first … last)', yLabel: 'exact match',
      series: s.arms.map((a) => ({ label: a.label, colour: a.colour, width: 2.5, markers: true, points: a.byDocument.map((e, b) => ({ x: b + 1, y: e.mean })) })),
      bands: s.arms.map((a) => ({ colour: a.colour, points: a.byDocument.map((e, b) => ({ x: b + 1, lo: e.lo, hi: e.hi })) })),
      xDomain: { min: 1, max: Math.max(2, buckets) }, yDomain: { min: 0, max: 1 }, yFormat: pctAxis,
      xTicks: Array.from({ length: buckets }, (_, b) => ({ value: b + 1, label: String(b + 1) })),
      notes: ['mean over seeds', 'band: 95% bootstrap CI'],
    }),
  };
}

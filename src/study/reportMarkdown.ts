/**
 * The report's markdown (report.md): the question and the answer at this scale, the setup, the tables of
 * analyseStudy's summary (reportStatistics.ts) and the figures of reportFigures.ts by file name, the method.
 */
import type { StudyConfig } from '../config/presets';
import { armLabel } from '../util/palette';
import { finite, mean, type Estimate } from './stats';
import { computeEstimate } from './studies';
import { armPairsSection } from './reportArmPairs';
import {
  bucketName, duration, flops, formatDiff, formatEntropy, formatLossEstimate, formatP, formatPercent, formatPIs,
  formatPercentEstimate, formatPoints, formatPointsInterval, signedPercent, table,
} from './reportFormat';
import {
  allRuns, attentionOfEveryArm, attentionRecordOf, endpointText, metricMarginText, METRICS, num, PAPER, powerSentence,
  type ArmAttention, type ArmSummary, type Metric, type StudyRecord, type StudySummary,
} from './reportStatistics';
import { marginText } from './reportPrimary';
import type { AttentionRecord } from '../engine/modelAnalysis';

function taskLine(c: StudyConfig): string {
  if (c.task === 'text') {
    const source = (c as StudyConfig<'text'>).taskOptions.source;
    return source.kind === 'generated'
      ? `text: character-level language modelling on the generated corpus (seed ${source.seed}, ${source.documents} documents), vocabulary ${c.model.vocabSize}`
      : `text: character-level language modelling on a user text, vocabulary ${c.model.vocabSize}`;
  }
  return `${c.task} \`${JSON.stringify(c.taskOptions)}\``;
}

function configLines(record: StudyRecord): string[] {
  const d = record.definition;
  const c: StudyConfig = d.config;
  const m = c.model;
  const est = computeEstimate(d);
  const wallMs = record.units.reduce((a, u) => a + u.wallMs, 0);
  const adapters = [...new Set(record.units.map((u) => u.adapter))];
  const runs = allRuns(record);
  const tps = mean(finite(runs.flatMap((r) => r.history.map((p) => num(p.tokensPerSec)))));
  const dates = record.units.map((u) => u.finishedAt).sort();
  return [
    `- **Command:** \`${record.command}\``,
    `- **Adapter${adapters.length > 1 ? 's' : ''}:** ${adapters.join('; ')}`,
    `- **Date:** report assembled ${record.generatedAt}; units finished ${dates[0] ?? '—'}${dates.length > 1 ? ` … ${dates[dates.length - 1]}` : ''}`,
    `- **Task:** ${taskLine(c)}`,
    `- **Model:** ${m.layers} layers, d = ${m.dModel}, ${m.heads} heads, d_ff = ${m.dFF}, vocabulary ${m.vocabSize}, T = ${m.context}; ` +
      `${est.parameters.toLocaleString('en-US')} parameters`,
    `- **Training:** ${c.steps} steps × batch ${c.batch} (${est.tokensPerRun.toLocaleString('en-US')} tokens per run), AdamW lr ${c.optimizer.lr} ` +
      `(warm-up ${c.optimizer.warmupSteps}, cosine to ${c.optimizer.minLrRatio}×${scheduleNote(c)}), weight decay ${c.optimizer.weightDecay}, clip ${c.optimizer.maxGradNorm}, ` +
      `${c.sharedMask ? 'one mask per batch' : 'masks drawn per sequence'}${c.protectQuery ? ', the final query never masked (protectQuery)' : ''}${maskControlNote(c)}`,
    `- **Arms:** ${c.arms.map((r) => armLabel(r)).join(', ')}; **${c.seedsPerArm} seeds per arm** (${est.runs} runs); ` +
      `every arm of a seed starts from the same weights and sees the same batches`,
    c.zeroShotProbe
      ? `- **Evaluation:** every ${c.evaluation.every} steps, clean inputs: validation loss on ${c.evaluation.count} held-out corpus windows; retrieval = ` +
        `zero-shot exact match (greedy decoding of the whole answer) on ${c.zeroShotProbe.count} text-needle prompts (${c.zeroShotProbe.buckets} ${d.bucketLabel} buckets, ` +
        `src/data/textProbe.ts), never trained on; "learned" = accuracy ≥ ${formatPercent(d.learnedThreshold)}`
      : `- **Evaluation:** every ${c.evaluation.every} steps on ${c.evaluation.count} held-out examples (${c.evaluation.buckets} ${d.bucketLabel} buckets), clean inputs, greedy answer; ` +
        `"learned" = accuracy ≥ ${formatPercent(d.learnedThreshold)}`,
    `- **Compute:** ≈ ${flops(est.trainFlops)} training + ${flops(est.evalFlops)} evaluation (estimate); wall time ${duration(wallMs)} over ${record.units.length} unit(s); ` +
      `mean ${Math.round(tps).toLocaleString('en-US')} training tokens/s`,
  ];
}

/** A schedule shorter than the run: where the cosine ends (absent from configs that run it to the last step). */
function scheduleNote(c: StudyConfig): string {
  const end = c.optimizer.scheduleSteps;
  return end === undefined || end === c.steps ? '' : ` at step ${end}, then constant to step ${c.steps}`;
}

/** The mask-policy controls (issue 17), named in the words of the report; '' for the paper's policy. */
function maskControlNote(c: StudyConfig): string {
  const parts: string[] = [];
  if (c.replace === 'random') parts.push('MEAP\'s chosen inputs become a random ordinary token instead of [MASK] (replace: random)');
  if (c.replace === 'random-filler') parts.push('MEAP\'s chosen inputs become a random filler word instead of [MASK] (replace: random-filler)');
  if (c.protect && c.protect.length > 0) parts.push(`never masked: ${c.protect.join(', ')} (protect)`);
  return parts.map((p) => `; ${p}`).join('');
}

/** The attention section's lines (every arm analysed). */
function attentionSection(
  record: StudyRecord, s: StudySummary, analysed: { arm: ArmSummary; attention: ArmAttention }[], first: AttentionRecord,
): string[] {
  const d = record.definition;
  const out: string[] = [];
  const names = first.segmentNames;
  out.push(`After training, every model sees the same ${first.examples.length} ${d.config.zeroShotProbe ? 'probe prompts' : 'evaluation examples'} (clean input). ` +
    'Segment mass: share of attention from the answer-generating position to each segment, mean over layers and heads. ' +
    'Paired analysis: the same model with 15% of the context positions masked (never the query); score decay = relative change of the mean ' +
    'attention on the masked keys, variance change = relative change of the variance of attention over the unmasked keys. ' +
    `Mean over seeds [95% bootstrap CI]; n = seeds per arm (each seed's value over the ${first.examples.length} examples). The paper measured a 1.1B model on real text.`, '');
  const ntpArm = s.arms.find((a) => a.maskRatio === 0);
  const paperCols = ['paper NTP', 'paper MEAP'];
  const rows: string[][] = names.map((name, k) => [
    `attention on ${name}`, ...analysed.map(({ attention }) => formatPercentEstimate(attention.segmentMass[k])),
    PAPER.segmentMass.ntp[k] === null ? '—' : formatPercent(PAPER.segmentMass.ntp[k]!),
    PAPER.segmentMass.meap[k] === null ? '—' : formatPercent(PAPER.segmentMass.meap[k]!),
  ]);
  const signedEst = (e: Estimate) => `${signedPercent(e.mean)} [${signedPercent(e.lo)}, ${signedPercent(e.hi)}]`;
  rows.push(['score decay on masked keys (masked vs clean input)', ...analysed.map(({ attention }) => signedEst(attention.scoreDecay)), '—', `≈ ${signedPercent(PAPER.scoreDecay)}`]);
  rows.push(['variance change over unmasked keys', ...analysed.map(({ attention }) => signedEst(attention.varianceIncrease)), '—', 'increase']);
  rows.push([`mean head entropy (nats; uniform = ${analysed[0].attention.uniformEntropy.toFixed(3)})`, ...analysed.map(({ attention }) => formatEntropy(attention.meanEntropy)), '—', '—']);
  out.push(table(['measure', ...s.arms.map((a) => `${a.label} (n = ${a.seeds.length})`), ...paperCols], rows), '');
  if (ntpArm) {
    const needle = names.indexOf('needle');
    const meap = analysed.filter(({ arm }) => arm.maskRatio > 0);
    if (needle >= 0 && meap.length > 0) {
      const ours = meap.map(({ arm, attention }) => `${arm.label} ${formatPercent(attention.segmentMass[needle].mean)}`).join(', ');
      out.push(`Needle mass here: NTP ${formatPercent(ntpArm.attention!.segmentMass[needle].mean)} vs ${ours} (paper: 9.4% vs 34.5%).`, '');
    }
  }
  out.push('![attention mass by segment](figures/attention-mass.svg)', '');
  out.push('Segment mass by layer (mean over seeds [95% bootstrap CI]): an objective can move attention in one layer and not in another, '
    + 'which the mean over layers hides.', '');
  out.push(table(['layer: segment', ...s.arms.map((a) => `${a.label} (n = ${a.seeds.length})`)],
    analysed[0].attention.segmentMassByLayer.flatMap((layer, l) => layer.map((_, k) => [
      `layer ${l}: ${names[k]}`, ...analysed.map(({ attention }) => formatPercentEstimate(attention.segmentMassByLayer[l][k])),
    ]))), '');
  out.push(...tokenMassSection(s, analysed), ...keySwapSection(s, analysed));
  const L = analysed[0].attention.headEntropy.length, H = analysed[0].attention.headEntropy[0]?.length ?? 0;
  out.push('Per-head entropy (nats, clean input, mean over seeds):', '');
  out.push(table(['head', ...s.arms.map((a) => a.label)], Array.from({ length: L * H }, (_, k) => {
    const l = Math.floor(k / H), h = k % H;
    return [`layer ${l} head ${h}`, ...analysed.map(({ attention }) => attention.headEntropy[l][h].toFixed(3))];
  })), '');
  return out;
}

/** Retrieval tasks: the answer position's attention on the five single tokens the segments lump together (none when absent). */
function tokenMassSection(s: StudySummary, analysed: { arm: ArmSummary; attention: ArmAttention }[]): string[] {
  const tokens = analysed.map(({ attention }) => attention.tokens);
  if (!tokens.every((t) => t !== undefined)) return [];
  const names = tokens[0]!.names;
  return [
    'The same position\'s attention on single tokens, by layer (mean over seeds [95% bootstrap CI]): the needle\'s `K`, `:` and `V`, '
      + 'the query\'s `?`, and the query key — the answer position itself. "needle" above is the first three, "query" the last two.', '',
    table(['layer: token', ...s.arms.map((a) => `${a.label} (n = ${a.seeds.length})`)],
      tokens[0]!.massByLayer.flatMap((layer, l) => layer.map((_, k) => [
        `layer ${l}: ${names[k]}`, ...tokens.map((t) => formatPercentEstimate(t!.massByLayer[l][k])),
      ]))), '',
  ];
}

/** Retrieval tasks: the key-swap probe (none when absent). */
function keySwapSection(s: StudySummary, analysed: { arm: ArmSummary; attention: ArmAttention }[]): string[] {
  const swaps = analysed.map(({ attention }) => attention.keySwap);
  if (!swaps.every((k) => k !== undefined)) return [];
  return [
    'Does the answer read the key? On the same prompts, the share answered with the needle\'s value (greedy), as they are '
      + 'and with the query key swapped for a key that is nowhere in the prompt. A model that reads the key cannot find that '
      + 'one; a model that copies the context\'s value answers the same on both (mean over seeds [95% bootstrap CI]).', '',
    table(['prompt', ...s.arms.map((a) => `${a.label} (n = ${a.seeds.length})`)], [
      ['as it is: answers the needle\'s value', ...swaps.map((k) => formatPercentEstimate(k!.clean))],
      ['query key swapped: still answers the needle\'s value', ...swaps.map((k) => formatPercentEstimate(k!.swapped))],
    ]), '',
  ];
}

function detectableText(metric: Metric, d: number): string {
  if (!Number.isFinite(d)) return 'n/a';
  return METRICS[metric].unit === 'pct' ? `±${(100 * d).toFixed(1)} pts` : `±${d.toFixed(4)}`;
}

/** The primary endpoint: its test per MEAP arm, the power statement and the verdict vocabulary. */
function primarySection(s: StudySummary): string[] {
  if (s.primary.length === 0) return [];
  const byStep = s.primary[0].byStep;
  return [
    '## Primary endpoint', '',
    `The study's primary endpoint (definition.primaryEndpoint; a study recorded without one gets the default, which was chosen on 2026-12-04, ` +
    `after the committed studies' runs had been seen): **${endpointText(s.endpoint, byStep)}**, MEAP arm vs NTP, Fisher's exact test (two-sided, α = 0.05); ` +
    `equivalence margin ${marginText(s.endpoint.margin)} of share. Verdicts: "MEAP better / worse (p < 0.05)"; "no difference larger than ` +
    `${marginText(s.endpoint.margin)}" only when the 95% CI of the difference lies inside the margin; otherwise "underpowered: not measured" — ` +
    'the study could not tell an effect of the size the CI allows from none.', '',
    table(['arm', 'MEAP arm', 'NTP', 'difference [Newcombe 95% CI]', 'Fisher p', 'power for the observed difference', '80% power needs', 'verdict'],
      s.primary.map((r) => {
        const p0 = r.ntp.k / r.ntp.n;
        const needs = [r.detectableIncrease === null ? null : `≥ ${formatPercent(p0 + r.detectableIncrease)}`,
          r.detectableDecrease === null ? null : `≤ ${formatPercent(p0 - r.detectableDecrease)}`].filter((x) => x !== null);
        return [
          r.label, `${r.meap.k} of ${r.meap.n}`, `${r.ntp.k} of ${r.ntp.n}`,
          `${formatPoints(r.difference.estimate)} ${formatPointsInterval(r.difference)}`,
          formatP(r.fisher.p, [r.meap.n, r.ntp.n]), formatPercent(r.powerAtObserved),
          needs.length === 0 ? 'unreachable at this n' : `MEAP at ${needs.join(' or ')}`, `**${r.verdict}**`,
        ];
      })), '',
    ...s.primary.map((r) => `- Power (${r.label}): ${powerSentence(r)}.`), '',
  ];
}

/** A study grown until decided: the rule and every look, replayed from the units. */
function sequentialSection(s: StudySummary): string[] {
  if (!s.sequential) return [];
  const { rule, outcome } = s.sequential;
  const looks = outcome.looks;
  const last = looks[looks.length - 1];
  const ending = outcome.decidedAt !== null
    ? `decided at look ${outcome.decidedAt + 1} (${looks[outcome.decidedAt].seedsPerArm} seeds per arm): Fisher ${formatPIs(looks[outcome.decidedAt].p)} ` +
      `< its level ${looks[outcome.decidedAt].level.toExponential(2)}`
    : outcome.exhausted
      ? `not decided after the maximum of ${rule.maxSeedsPerArm} seeds per arm`
      : `stopped at ${last?.seedsPerArm ?? 0} of at most ${rule.maxSeedsPerArm} seeds per arm without a decision (rerun the command to continue)`;
  return [
    '## Sequential design', '',
    `Seeds were grown unit by unit until the primary endpoint was decided or ${rule.maxSeedsPerArm} seeds per arm were spent ` +
    `(\`--seeds-until-decided ${rule.maxSeedsPerArm}\`), with a look after every unit. Overall α = ${rule.alpha}, spent by the Lan–DeMets ` +
    'O\'Brien–Fleming-type function α(t) = 2 − 2Φ(z₁₋α/₂ / √t), t = seeds per arm / maximum; each look tests Fisher\'s p against the α spent ' +
    'since the previous look (a Bonferroni split over the looks: conservative, the chance of a false decision stays ≤ α). Only "better / ' +
    'worse" stops early; the primary verdict above is the rule\'s, not p < 0.05 on the last look. ' + `Outcome: **${ending}**.`, '',
    table(['look', 'seeds per arm', 'MEAP arm', 'NTP', 'Fisher p', 'α spent so far', 'level of this look', 'decided'], looks.map((l, k) => [
      String(k + 1), String(l.seedsPerArm), `${l.meap.k} of ${l.meap.n}`, `${l.ntp.k} of ${l.ntp.n}`, formatP(l.p),
      l.spent.toExponential(2), l.level.toExponential(2), l.decided ? 'yes' : 'no',
    ])), '',
  ];
}

/** report.md: question, answer, setup, every table and figure reference, method; every number from `s`. */
export function renderMarkdown(record: StudyRecord, s: StudySummary): string {
  const d = record.definition;
  const lines: string[] = [];
  lines.push(`# ${d.title}`, '');
  if (record.quick) {
    lines.push('> **Quick run.** The tiny model, 2 seeds per arm and a few dozen steps: this checks that the pipeline works end to end. ' +
      'Its numbers are not evidence for or against MEAP.', '');
  }
  lines.push(`**Question.** ${d.question}`, '');
  lines.push(`**Answer at this scale.** ${s.overall}`, '');
  for (const v of s.verdictLines) lines.push(`- ${v}`);
  lines.push('', `For comparison, the paper (arXiv 2502.07490): ${PAPER.needleAccuracy}; attention mass on the needle 9.4% (NTP) → 34.5% (MEAP).`, '');

  lines.push(...primarySection(s), ...sequentialSection(s), ...armPairsSection(s.armPairs));
  lines.push('## Setup', '', ...configLines(record), '');

  lines.push('## Retrieval accuracy over training', '', '![retrieval accuracy vs step](figures/accuracy.svg)', '',
    '![clean validation loss vs step](figures/valloss.svg)', '');

  lines.push('## When retrieval is learned', '');
  lines.push(table(['arm', 'seeds that learned', 'median learned step', 'learned steps (per seed)'], s.arms.map((a) => [
    a.label, `${a.learned.learnedCount} of ${a.learned.total}`, a.learned.medianLearnedStep === null ? '—' : String(a.learned.medianLearnedStep),
    a.learned.learnedSteps.map((x) => (x === null ? 'never' : String(x))).join(', '),
  ])), '');
  lines.push('Time to learn: share of seeds that had learned by each evaluated step (Kaplan–Meier; a seed that never learned is censored at ' +
    'the last step, so with every seed followed to the end the curve is the plain share), with its exact binomial 95% CI per step; ' +
    'MEAP arm vs NTP by the log-rank test.', '');
  lines.push(table(['arm', 'log-rank χ² (1 df)', 'p', 'learned: observed / expected under no difference'], s.primary.map((r) => [
    r.label, Number.isFinite(r.logRank.chiSquare) ? r.logRank.chiSquare.toFixed(3) : 'n/a', formatP(r.logRank.p, [r.meap.n, r.ntp.n]),
    `${r.logRank.observed[0]} / ${r.logRank.expected[0].toFixed(2)} (MEAP), ${r.logRank.observed[1]} / ${r.logRank.expected[1].toFixed(2)} (NTP)`,
  ])), '');
  lines.push('![time to learn (Kaplan–Meier)](figures/time-to-learn.svg)', '', '![learned steps](figures/learned-steps.svg)', '');

  lines.push('## Final accuracy and clean validation loss per arm', '');
  lines.push(`Mean over seeds [95% bootstrap CI] at step ${s.arms[0].finalStep}; n = seeds with a finite value.`, '');
  lines.push(table(['arm', 'n', 'final retrieval accuracy', 'mean accuracy over training', 'final clean val loss', 'std (accuracy)'], s.arms.map((a) => [
    a.label, String(a.finalAcc.n), formatPercentEstimate(a.finalAcc), formatPercentEstimate(a.meanAcc), formatLossEstimate(a.finalValLoss),
    Number.isFinite(a.finalAcc.std) ? `${(100 * a.finalAcc.std).toFixed(1)} pts` : 'n/a',
  ])), '');
  lines.push('![final accuracy](figures/final-accuracy.svg)', '', '![final validation loss](figures/final-valloss.svg)', '');

  lines.push('## MEAP − NTP', '');
  lines.push('Secondary metrics. Difference of means (MEAP arm − NTP) with its 95% bootstrap CI and a two-sided permutation-test p-value; ' +
    `"MEAP better / worse" needs p < 0.05, a CI excluding 0 and ≥ ${d.seedsForClaim} seeds per arm; "no difference larger than ±X" needs the CI ` +
    `inside the metric's equivalence margin (${(Object.keys(METRICS) as Metric[]).map((m) => `${metricMarginText(m)} for ${METRICS[m].title.split(' (')[0]}`).join(', ')}); ` +
    'anything else is "underpowered: not measured". n = seeds (MEAP + NTP) with a finite value. The detectable difference is the one the ' +
    'comparison would find with 80% power at α = 0.05, from the observed standard deviations by the normal approximation ' +
    '((1.96 + 0.84)·√(s₁²/n₁ + s₀²/n₀); optimistic at these n). For the loss, lower is better.', '');
  lines.push(table(['arm', 'metric', 'difference [95% CI]', 'p', 'test', 'verdict', 'n', 'detectable (80% power)'], s.comparisons.map((c) => [
    c.label, METRICS[c.metric].title, formatDiff(METRICS[c.metric].unit, c.diff, c.n), formatP(c.test.p, c.n),
    c.test.exact ? `exact (${c.test.permutations} relabellings)` : `Monte Carlo (${c.test.permutations})`, c.verdict,
    `${c.n[0]} + ${c.n[1]}`, detectableText(c.metric, c.detectable),
  ])), '');
  lines.push('![MEAP − NTP](figures/difference.svg)', '');

  lines.push(`## Accuracy by ${d.bucketLabel}`, '');
  lines.push(`Final accuracy, mean over seeds (n = ${s.arms.map((a) => `${a.depth[0]?.n ?? 0} ${a.label}`).join(', ')}) [95% bootstrap CI]; ` +
    `each seed's value is over its share of the ${d.config.zeroShotProbe ? d.config.zeroShotProbe.count : d.config.evaluation.count} evaluation prompts.`, '');
  const buckets = s.arms[0].depth.length;
  lines.push(table([d.bucketLabel, ...s.arms.map((a) => a.label)], Array.from({ length: buckets }, (_, b) => [
    bucketName(b, buckets), ...s.arms.map((a) => formatPercentEstimate(a.depth[b])),
  ])), '');
  lines.push(`![accuracy by ${d.bucketLabel}](figures/depth.svg)`, '');

  lines.push('## Attention on the trained models', '');
  const analysed = attentionOfEveryArm(s);
  const first = attentionRecordOf(record);
  if (analysed && first) lines.push(...attentionSection(record, s, analysed, first));
  else lines.push('Not analysed: the attention analyses run on the trained models (in the playground, "Analyse attention").', '');

  lines.push('## Method', '');
  lines.push(
    '- Statistics over seeds (each seed one trained model): mean, sample standard deviation, percentile bootstrap 95% CI of the mean ' +
    '(10 000 resamples) and of the difference of two means (each arm resampled on its own). The p-value is a two-sided permutation test of the ' +
    'difference of means (exact over all relabellings when there are at most 200 000, else 20 000 random ones). Every draw comes from a seed ' +
    'derived from (study, measure, arm), so the report is a pure function of study.json (src/study/report.ts).',
    '- Primary endpoint, declared per study (definition.primaryEndpoint; default: seeds that reach 50% retrieval by the last step, equivalence ' +
    'margin ±20 points of share): Fisher\'s exact test (two-sided, the tables no more likely than the observed), the difference of shares with ' +
    'Newcombe\'s hybrid score interval, and the exact power of the test by enumerating every pair of binomial outcomes (src/study/power.ts). ' +
    'The margins were fixed on 2026-12-04, after the committed studies had been seen: a stated convention, not a blind pre-registration.',
    '- Arms of the same seed share initial weights and batches; the tests above treat arms as independent samples, which is conservative.',
    `- Resuming: the study runs in ${record.units.length} unit(s) of ${d.seedsPerUnit} seed(s) × all arms (units/unit-NN.json, written when a unit ` +
    'finishes); a rerun skips units whose saved configuration matches and retrains the rest. An interrupted unit restarts from step 0.',
    '- Raw data: study.json (config, every run\'s history and attention record); summary.json (every number of this report).',
    '',
  );
  return lines.join('\n');
}

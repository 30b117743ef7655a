/**
 * The page's report (pure, no GPU): the page's runs as a study record → the statistics of `npm run
 * reproduce`, checked against numbers computed by hand; named vs playground definitions; attention absent
 * or present; the named studies as presets through the URL codec and the page's limits.
 */
import { describe, expect, it } from 'vitest';
import {
  applyEdit, configFromQuery, configToQuery, editableValues, FIELDS, isKnownPresetName, isUneditedStudy, LIMITS, presetConfig,
  studyOfPreset, studyPresetNames,
} from '../src/store/configCodec';
import { cliCommand } from '../src/ui/controls/cliCommand';
import { STUDY_NAMES, studyDefinition } from '../src/study/studies';
import { PAGE_STUDY_RUNS, PAGE_STUDY_SEEDS, pageStudyConfig } from '../src/study/studyPresets';
import { analyseStudy, figures, renderMarkdown, STUDY_FORMAT } from '../src/study/report';
import {
  hasRetrievalScore, pageDefinition, pageStudyRecord, PLAYGROUND_STUDY, recordStep, trainingMs, type PageRecordInput,
} from '../src/study/pageRecord';
import { studyRecordIssue } from '../src/study/renderRecord';
import { buildReport, canComputeReport, currentRecordInput, receiveReportMessage, replacesSeries, useReport } from '../src/store/report';
import { useRuns } from '../src/store/runs';
import { shownFigures } from '../src/ui/report/ReportFigures';
import type { AttentionRecord } from '../src/study/runner';
import type { StudyConfig } from '../src/config/presets';
import { validateStudyConfig } from '../src/config/validate';
import type { HistoryPoint, RunInfo } from '../src/engine/types';
import { createTask } from '../src/data/task';
import type { TaskView } from '../src/session/protocol';

const STEPS = [10, 20, 30];

function runInfos(config: StudyConfig): RunInfo[] {
  return config.arms.flatMap((maskRatio, arm) => Array.from({ length: config.seedsPerArm }, (_, seed) => ({
    arm, maskRatio, seed, objective: maskRatio === 0 ? 'ntp' as const : 'meap' as const,
  })));
}

/** Histories from per-run accuracy and validation-loss series (tiny's four depth buckets, each the run's accuracy). */
function histories(acc: number[][], loss: number[][]): HistoryPoint[][] {
  return acc.map((series, r) => series.map((a, k) => ({
    step: STEPS[k], trainLoss: loss[r][k] + 0.1, valLoss: loss[r][k], retrievalAcc: a, accByDepth: [a, a, a, a], tokensPerSec: 1000,
  })));
}

const TASK_VIEW: TaskView = {
  segmentNames: ['context before', 'needle', 'context after', 'query', 'answer'], inputSegments: 4,
  tokenNames: [], characters: null, bucketLabel: 'needle depth', examples: [],
};

/** The bucket label the Worker sends with the built study (TaskView.bucketLabel): the task's own. */
function taskBucketLabel(config: StudyConfig): string {
  return createTask(config.task, config.taskOptions).bucketLabel;
}

function input(presetName: string, config: StudyConfig, points: HistoryPoint[][], attention: AttentionRecord[] | null = null): PageRecordInput {
  return {
    presetName, config, bucketLabel: taskBucketLabel(config), runs: runInfos(config), points, engine: 'webgpu',
    adapter: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', isFallbackAdapter: true, features: [], limits: {} },
    attention, command: `http://localhost/?${configToQuery(presetName, config)}`, generatedAt: '2026-01-02T03:04:05.000Z', trainingMs: 1234,
  };
}

const tinyTwoSeeds = () => applyEdit('tiny', presetConfig('tiny'), 'seedsPerArm', 2);

// Runs in the Worker's order: arm 0 seeds 0, 1, then arm 1 seeds 0, 1.
const ACC = [[0.1, 0.3, 0.6], [0.0, 0.2, 0.4], [0.2, 0.5, 0.8], [0.1, 0.6, 0.7]];
const LOSS = [[3, 2.5, 2.0], [3, 2.6, 2.2], [3, 2.4, 1.9], [3, 2.5, 2.1]];

function attentionRecord(needle: number, decay: number): AttentionRecord {
  return {
    examples: [0, 1, 2], segmentNames: ['filler', 'needle', 'query', 'other'],
    segmentMassByLayer: [[1 - needle, needle, 0, 0], [1 - needle, needle, 0, 0]], segmentMass: [1 - needle, needle, 0, 0],
    onMaskedClean: 0.1, onMaskedMasked: 0.1 * (1 + decay), scoreDecay: decay,
    varianceClean: 0.01, varianceMasked: 0.012, varianceIncrease: 0.2,
    headEntropy: [[1, 1.2], [0.8, 1]], uniformEntropy: Math.log(16),
  };
}

describe('pageStudyRecord → analyseStudy', () => {
  it('gives the numbers computed by hand for 2 arms × 2 seeds', () => {
    const config = tinyTwoSeeds();
    const record = pageStudyRecord(input('tiny', config, histories(ACC, LOSS)));
    expect(record.format).toBe(STUDY_FORMAT);
    expect(record.units).toHaveLength(1);
    expect(record.units[0].runs).toHaveLength(4);
    expect(record.units[0].adapter).toBe('google / swiftshader / SwiftShader (software)');
    expect(record.units[0].wallMs).toBe(1234);
    expect(recordStep(record)).toBe(30);
    expect(studyRecordIssue(JSON.parse(JSON.stringify(record)))).toBeNull();

    const s = analyseStudy(record);
    const [ntp, meap] = s.arms;
    expect(ntp.finalAcc.mean).toBeCloseTo(0.5, 12);
    expect(meap.finalAcc.mean).toBeCloseTo(0.75, 12);
    expect(ntp.meanAcc.mean).toBeCloseTo(((0.1 + 0.3 + 0.6) / 3 + (0.0 + 0.2 + 0.4) / 3) / 2, 12);
    expect(meap.finalValLoss.mean).toBeCloseTo(2.0, 12);
    expect(ntp.depth.map((e) => e.mean)).toEqual([0, 1, 2, 3].map(() => ntp.finalAcc.mean));
    // Learned (≥ 50%): NTP seed 0 at step 30, seed 1 never; MEAP both at step 20.
    expect(ntp.learned.learnedSteps).toEqual([30, null]);
    expect(ntp.learned.learnedCount).toBe(1);
    expect(meap.learned.learnedCount).toBe(2);
    expect(meap.learned.medianLearnedStep).toBe(20);
    const finalAcc = s.comparisons.find((c) => c.metric === 'finalAcc')!;
    expect(finalAcc.diff.estimate).toBeCloseTo(0.25, 12);
    // Exact test over the C(4, 2) = 6 relabellings of {0.8, 0.7 | 0.6, 0.4}: 2 are as extreme as the data.
    expect(finalAcc.test.exact).toBe(true);
    expect(finalAcc.test.p).toBeCloseTo(2 / 6, 12);
    // Two seeds per arm: the numbers are shown, never judged.
    expect(s.comparisons.every((c) => c.verdict === 'too few seeds for a claim')).toBe(true);
    expect(s.overall).toMatch(/^Too few seeds for a claim \(2 per arm; at least 8/);
  });

  it('cuts every run to the evaluations all runs reached', () => {
    const config = tinyTwoSeeds();
    const points = histories(ACC, LOSS);
    points[3] = points[3].slice(0, 2);
    const record = pageStudyRecord(input('tiny', config, points));
    expect(record.units[0].runs.map((r) => r.history.length)).toEqual([2, 2, 2, 2]);
    expect(analyseStudy(record).arms[0].finalStep).toBe(20);
  });

  it('judges a named study preset with 8 or more seeds per arm', () => {
    const d = studyDefinition('needle-s');
    const config = d.config;
    const runs = runInfos(config);
    // NTP stays at 10%, MEAP reaches 90%: a difference no relabelling matches but the observed one.
    const acc = runs.map((r) => (r.maskRatio === 0 ? [0.1, 0.1, 0.1] : [0.3, 0.9, 0.9]));
    const record = pageStudyRecord(input('study:needle-s', config, histories(acc, acc.map(() => [2, 2, 2]))));
    expect(record.study).toBe('needle-s');
    expect(record.definition.question).toBe(d.question);
    expect(record.definition.seedsPerUnit).toBe(8); // the page trains every seed in one unit
    const s = analyseStudy(record);
    const finalAcc = s.comparisons.find((c) => c.metric === 'finalAcc')!;
    expect(finalAcc.verdict).toBe('MEAP better (p < 0.05)');
    // Primary endpoint: 8 of 8 MEAP seeds vs 0 of 8 NTP seeds reach 50 %; Fisher p = 2 / C(16, 8).
    expect(s.primary).toHaveLength(2); // MEAP 5 % and 15 %
    for (const r of s.primary) {
      expect(r.meap).toEqual({ k: 8, n: 8 });
      expect(r.ntp).toEqual({ k: 0, n: 8 });
      expect(r.fisher.p).toBeCloseTo(2 / 12870, 12);
      expect(r.verdict).toBe('MEAP better (p < 0.05)');
    }
    expect(s.overall).toMatch(/^MEAP better on the primary endpoint \(seeds that reach 50\.0% retrieval by step/);
    expect(s.arms[1].learned.learnedCount).toBe(8);
  });
});

describe('the record\'s definition', () => {
  it('is the named study\'s for an unedited study preset, a playground one otherwise', () => {
    for (const name of STUDY_NAMES) {
      const d = studyDefinition(name);
      const named = pageDefinition(`study:${name}`, pageStudyConfig(d), taskBucketLabel(d.config));
      expect(named.name).toBe(name);
      expect(named.title).toBe(d.title);
      expect(named.learnedThreshold).toBe(d.learnedThreshold);
      expect(named.attentionExamples).toBe(d.attentionExamples);
      expect(named.config).toEqual(pageStudyConfig(d));
    }
    // The 64-seed studies offer their first 16 seeds in the page (its limits); the rest of the config is the study's.
    const quick = studyDefinition('needle-quick');
    expect(quick.config.seedsPerArm).toBe(64);
    expect(pageStudyConfig(quick)).toEqual({ ...quick.config, seedsPerArm: PAGE_STUDY_SEEDS });
    // A 5-arm study fits the page's 64 runs with 12 seeds per arm; the cap is the config codec's limit.
    expect(pageStudyConfig(studyDefinition('needle-quick-sweep')).seedsPerArm).toBe(12);
    expect(PAGE_STUDY_RUNS).toBe(LIMITS.runs.max);
    const d = studyDefinition('needle-s');
    const edited = pageDefinition('study:needle-s', applyEdit('study:needle-s', d.config, 'steps', 500), 'needle depth');
    expect(edited.name).toBe(PLAYGROUND_STUDY);
    expect(edited.title).toContain('needle-s study preset with edits');

    const tiny = pageDefinition('tiny', presetConfig('tiny'), 'needle depth');
    expect(tiny.name).toBe(PLAYGROUND_STUDY);
    expect(tiny.title).toBe('playground run: NTP vs MEAP 15% on the tiny preset');
    expect(tiny.question).toContain('P = 0.15');
    expect(tiny.seedsForClaim).toBe(8);
    expect(tiny.learnedThreshold).toBe(0.5);
    expect(tiny.bucketLabel).toBe('needle depth');
    expect(tiny.seedsPerUnit).toBe(1);
    expect(pageDefinition('tiny', tinyTwoSeeds(), 'needle depth', 5).attentionExamples).toBe(5);
    expect(pageDefinition('tiny', tinyTwoSeeds(), 'needle depth').title).toContain('tiny preset with edits');
    // The bucket label is the one the Worker sent (the page builds no task); a text study's comes from its probe.
    expect(pageDefinition('tiny', presetConfig('tiny'), 'queried pair (first … last)').bucketLabel).toBe('queried pair (first … last)');
  });
});

describe('attention in the record', () => {
  it('is null until analysed: no attention summary, and the markdown says so', () => {
    const record = pageStudyRecord(input('tiny', tinyTwoSeeds(), histories(ACC, LOSS)));
    expect(record.units[0].runs.every((r) => r.attention === null)).toBe(true);
    const s = analyseStudy(record);
    expect(s.arms.map((a) => a.attention)).toEqual([null, null]);
    expect(renderMarkdown(record, s)).toContain('Not analysed');
    expect(shownFigures(figures(record, s), true, false).map(([n]) => n)).not.toContain('attention-mass.svg');
  });

  it('goes into the statistics per arm when analysed', () => {
    const attention = [attentionRecord(0.1, -0.2), attentionRecord(0.2, -0.4), attentionRecord(0.3, -0.5), attentionRecord(0.5, -0.7)];
    const record = pageStudyRecord(input('tiny', tinyTwoSeeds(), histories(ACC, LOSS), attention));
    expect(record.definition.attentionExamples).toBe(3);
    const s = analyseStudy(record);
    expect(s.arms[0].attention!.segmentMass[1].mean).toBeCloseTo(0.15, 12);
    expect(s.arms[1].attention!.segmentMass[1].mean).toBeCloseTo(0.4, 12);
    expect(s.arms[1].attention!.scoreDecay.mean).toBeCloseTo(-0.6, 12);
    expect(renderMarkdown(record, s)).toContain('attention on needle');
    expect(() => pageStudyRecord(input('tiny', tinyTwoSeeds(), histories(ACC, LOSS), attention.slice(1)))).toThrow(/3 attention records/);
  });
});

describe('the report store\'s pure parts', () => {
  it('builds every number, figure and the markdown; a task without retrieval shows the loss only', () => {
    const report = buildReport(input('tiny', tinyTwoSeeds(), histories(ACC, LOSS)), 'running', null);
    expect(report.step).toBe(30);
    expect(report.retrieval).toBe(true);
    expect(report.figureError).toBeNull();
    expect(Object.keys(report.figures)).toContain('accuracy.svg');
    expect(report.markdown).toContain('# playground run: NTP vs MEAP 15% on the tiny preset with edits');

    const text = presetConfig('text-s');
    expect(hasRetrievalScore(text)).toBe(false);
    expect(hasRetrievalScore(studyDefinition('pretrain-then-probe').config)).toBe(true);
    const nan = ACC.map((a) => a.map(() => Number.NaN));
    const points = histories(nan, LOSS).map((h) => h.map((p) => ({ ...p, accByDepth: [] })));
    const textConfig = applyEdit('text-s', text, 'seedsPerArm', 2);
    const textReport = buildReport(input('text-s', textConfig, points), 'done', null);
    expect(textReport.retrieval).toBe(false);
    expect(textReport.summary.arms[0].finalValLoss.mean).toBeCloseTo(2.1, 12);
    expect(shownFigures(textReport.figures, false, false).map(([n]) => n).sort()).toEqual(
      Object.keys(textReport.figures).filter((n) => n === 'valloss.svg' || n === 'final-valloss.svg').sort());
  });

  it('treats a new build, a reset and a restore as new series', () => {
    const study = { runs: [], config: presetConfig('tiny'), parameterCount: 1, memoryBytes: 1, task: TASK_VIEW };
    const at = (steps: number[], s = study) => ({ study: s, evals: { steps, points: [] } });
    expect(replacesSeries(at([10, 20]), at([10]))).toBe(false);
    expect(replacesSeries(at([]), at([10]))).toBe(true);
    expect(replacesSeries(at([10], { ...study }), at([10]))).toBe(true);
    expect(replacesSeries(at([5, 10]), at([10]))).toBe(true);
  });

  it('takes only the answer it waits for, checks it has one record per run, and gives up when the Worker is gone', () => {
    const config = tinyTwoSeeds();
    useRuns.setState({ study: { runs: runInfos(config), config, parameterCount: 1, memoryBytes: 1, task: TASK_VIEW } });
    const pending = { status: 'pending' as const, requestId: 7, examples: 3, step: null, records: null, error: null };
    const records = [0, 1, 2, 3].map(() => attentionRecord(0.1, -0.1));
    useReport.setState({ attention: pending });
    receiveReportMessage({ type: 'attentionAnalysis', requestId: 6, step: 40, records, error: null });
    expect(useReport.getState().attention.status).toBe('pending'); // an older request's answer
    receiveReportMessage({ type: 'attentionAnalysis', requestId: 7, step: 40, records: records.slice(1), error: null });
    expect(useReport.getState().attention).toMatchObject({ status: 'failed', error: '3 attention records for 4 runs' });
    useReport.setState({ attention: pending });
    receiveReportMessage({ type: 'attentionAnalysis', requestId: 7, step: 40, records, error: null });
    expect(useReport.getState().attention).toMatchObject({ status: 'done', step: 40 });
    expect(useReport.getState().attention.records).toHaveLength(4);
    useReport.setState({ attention: pending });
    receiveReportMessage({ type: 'crashed', message: 'The training worker failed' });
    expect(useReport.getState().attention).toMatchObject({ status: 'failed', error: 'The training worker failed' });
  });

  it("counts the study's regular evaluations only, not the page's early ones (step 0, 4, 8)", () => {
    const config = { ...presetConfig('tiny'), steps: 25 };
    const study = { runs: runInfos(config), config, parameterCount: 1, memoryBytes: 1, task: TASK_VIEW };
    const point = (step: number): HistoryPoint => ({ step, trainLoss: 1, valLoss: 1, retrievalAcc: 0, accByDepth: [0, 0], tokensPerSec: 1 });
    const at = (steps: number[]) => ({ study, evals: { steps, points: runInfos(config).map(() => steps.map(point)) } });
    expect(canComputeReport(at([0, 4, 8]))).toBe(false);
    expect(canComputeReport(at([0, 4, 8, 10]))).toBe(true);
    useRuns.setState(at([0, 4, 8, 10, 20, 25]));
    expect(currentRecordInput(null)?.points.map((run) => run.map((p) => p.step))).toEqual(runInfos(config).map(() => [10, 20, 25]));
  });

  it('sums the training time over the speed intervals', () => {
    expect(trainingMs({ steps: [5, 10, 20], msPerStep: [10, 20, Number.NaN] })).toBe(5 * 10 + 5 * 20);
  });
});

describe('the named studies as presets', () => {
  it('round-trip through the URL for every STUDY_NAMES entry, with and without edits', () => {
    expect(studyPresetNames()).toEqual(STUDY_NAMES.map((n) => `study:${n}`));
    for (const name of STUDY_NAMES) {
      const presetName = `study:${name}`;
      const d = studyDefinition(name);
      const opened = configFromQuery(`?preset=${encodeURIComponent(presetName)}`);
      expect(opened.notices, name).toEqual([]);
      expect(opened.presetName).toBe(presetName);
      expect(opened.config).toEqual(pageStudyConfig(d));
      expect(studyOfPreset(presetName)).toBe(name);
      expect(isKnownPresetName(presetName)).toBe(true);
      expect(isUneditedStudy(presetName, opened.config)).toBe(true);
      expect(cliCommand(presetName, opened.config)).toBe(`npm run reproduce -- --study ${name}`);

      const shared = configFromQuery(configToQuery(presetName, opened.config));
      expect(shared.notices, name).toEqual([]);
      expect(shared.config).toEqual(pageStudyConfig(d));

      const edited = applyEdit(presetName, applyEdit(presetName, opened.config, 'steps', 120), 'seedsPerArm', 2);
      const back = configFromQuery(configToQuery(presetName, edited));
      expect(back.notices).toEqual([]);
      expect(back.config).toEqual(edited);
      expect(isUneditedStudy(presetName, back.config)).toBe(false);
      expect(cliCommand(presetName, back.config) ?? '').not.toContain('reproduce');
    }
  });

  it('pass the page\'s own limits', () => {
    for (const name of STUDY_NAMES) {
      const presetName = `study:${name}`;
      const config = presetConfig(presetName);
      const values = editableValues(presetName, config);
      expect(config.arms.length * config.seedsPerArm, name).toBeLessThanOrEqual(LIMITS.runs.max);
      expect(config.arms.length).toBeLessThanOrEqual(LIMITS.arms.max);
      expect(config.seedsPerArm).toBeLessThanOrEqual(LIMITS.seedsPerArm.max);
      expect(config.steps).toBeLessThanOrEqual(LIMITS.steps.max);
      expect(config.batch).toBeLessThanOrEqual(LIMITS.batch.max);
      // Every control accepts the study's own value (the same checks as an edit from the page or a link).
      for (const field of FIELDS) expect(() => applyEdit(presetName, config, field, values[field]), `${name} ${field}`).not.toThrow();
      if (config.task !== 'text') validateStudyConfig(config); // text builds its corpus: slow, and the schema ran above
    }
  });

  it('keep the study\'s warm-up under step edits, refuse unknown studies and drop the text probe with the text task', () => {
    const d = studyDefinition('needle-quick');
    const short = applyEdit('study:needle-quick', d.config, 'steps', 100);
    expect(short.optimizer.warmupSteps).toBe(10);
    expect(applyEdit('study:needle-quick', short, 'steps', 800).optimizer.warmupSteps).toBe(d.config.optimizer.warmupSteps);
    for (const bad of ['study:nope', 'study:__proto__', 'study:']) {
      const parsed = configFromQuery(`?preset=${encodeURIComponent(bad)}`);
      expect(parsed.notices, bad).toHaveLength(1);
      expect(parsed.notices[0]).toContain('unknown study');
      expect(studyOfPreset(bad)).toBeNull();
      expect(isKnownPresetName(bad)).toBe(false);
    }
    const probe = presetConfig('study:pretrain-then-probe');
    expect(probe.zeroShotProbe).toBeDefined();
    expect(applyEdit('study:pretrain-then-probe', probe, 'task', 'needle').zeroShotProbe).toBeUndefined();
  });

  it('give an edited study a compare command when a preset builds the same config', () => {
    const sweep = applyEdit('study:sweep', presetConfig('study:sweep'), 'steps', 300);
    expect(cliCommand('study:sweep', sweep)).toBe(
      'npm run compare -- --preset needle-s --steps 300 --batch 32 --lr 0.003 --mask-ratios 0,0.05,0.1,0.15,0.2 --seeds 8 --base-seed 1 --eval-every 100');
    const long = applyEdit('study:long', presetConfig('study:long'), 'steps', 300);
    expect(cliCommand('study:long', long)).toBeNull(); // its evaluation (256 examples, 8 buckets) is no preset's
    expect(cliCommand('tiny', presetConfig('tiny'))).toContain('--preset tiny');
  });
});

/**
 * The named studies of `npm run reproduce` (issue 8) and their `--quick` versions.
 *
 * A study trains every arm (mask ratio; 0 = NTP) × seed of a StudyConfig. It is cut into units for
 * resuming: unit u trains all arms × `seedsPerUnit` seeds at once (one Study, R = arms × seedsPerUnit runs)
 * with `baseSeed = config.baseSeed + u`, so within a unit every arm of a seed starts from the same weights
 * and sees the same batches (the comparison stays paired), and the global seed of unit-seed s is
 * u · seedsPerUnit + s. A unit's results are saved when it finishes; a rerun skips saved units whose
 * configuration matches. Changing `seedsPerUnit` changes which seeds are drawn (not the statistics).
 */
import { PAPER_MASK_GRID, preset, type StudyConfig } from '../config/presets';
export type { ZeroShotProbe } from '../config/presets';
import { parameterCount, parameterLayout } from '../model/layout';
import { finetuneStageConfig, runCount, sequencesPerStep } from '../config/finetuneStage';
import type { SequentialRule } from './sequential';
import { controlStudies, freshStudies } from './controlStudies';

export interface StudyDefinition {
  name: string;
  title: string;
  /** What the study asks, for the report. */
  question: string;
  config: StudyConfig;
  /** Seeds trained together in one resumable unit (must divide config.seedsPerArm). */
  seedsPerUnit: number;
  /** Retrieval accuracy at which a seed counts as having learned retrieval. */
  learnedThreshold: number;
  /** Evaluation examples probed for the attention analyses at the end of each unit. */
  attentionExamples: number;
  /** Label of the depth buckets in the report. */
  bucketLabel: string;
  /** Smallest number of seeds per arm for a claim (issue 8: 8). */
  seedsForClaim: number;
  /**
   * The pre-declared primary endpoint (issue 17): absent in records written before it existed, which get
   * DEFAULT_PRIMARY_ENDPOINT with their own learnedThreshold (primaryEndpointOf).
   */
  primaryEndpoint?: PrimaryEndpoint;
  /** Set when the seeds were grown until decided (`reproduce --seeds-until-decided MAX`): the report replays the looks. */
  sequential?: SequentialRule;
}

/**
 * The one question a study is judged on: the share of seeds whose retrieval accuracy reaches `threshold` at
 * an evaluation up to the last step, MEAP arm vs NTP, by Fisher's exact test. `margin` is the equivalence
 * margin: "no difference larger than ±margin" is said only when the 95 % CI of the difference lies inside it.
 */
export interface PrimaryEndpoint {
  kind: 'learned-by-last-step';
  threshold: number;
  margin: number;
}

/** Seeds that reach 50 % retrieval by the last step; equivalence within ±20 points of share. */
export const DEFAULT_PRIMARY_ENDPOINT: PrimaryEndpoint = { kind: 'learned-by-last-step', threshold: 0.5, margin: 0.2 };

export function primaryEndpointOf(d: Pick<StudyDefinition, 'primaryEndpoint' | 'learnedThreshold'>): PrimaryEndpoint {
  return d.primaryEndpoint ?? { ...DEFAULT_PRIMARY_ENDPOINT, threshold: d.learnedThreshold };
}

export const SEEDS_FOR_CLAIM = 8;

function withWarmup(config: StudyConfig): StudyConfig {
  // The warm-up never exceeds a tenth of a short run (as `npm run compare` does).
  config.optimizer.warmupSteps = Math.min(config.optimizer.warmupSteps, Math.max(1, Math.floor(config.steps / 10)));
  return config;
}

function needleS(): StudyDefinition {
  return {
    name: 'needle-s',
    title: 'needle-s: NTP vs MEAP on the default retrieval preset',
    question: 'Trained directly on the needle task (one K : V needle in filler, then ? K → V), does MEAP at P = 0.05 or 0.15 '
      + 'learn retrieval more often, sooner or better than NTP (P = 0)?',
    config: { ...preset('needle-s'), arms: [0, 0.05, 0.15], seedsPerArm: 8 },
    seedsPerUnit: 4,
    learnedThreshold: 0.5,
    // Issue 17: attention statistics over ≥ 200 examples (an NTP model's masked-key change can flip sign between 8 and 200).
    attentionExamples: 200,
    bucketLabel: 'needle depth',
    seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

/**
 * needle-quick: the largest retrieval study a CPU can run — the `quick` preset (tiny model, batch 32, 800
 * steps), NTP vs MEAP 0.15, 64 seeds per arm, 512 evaluation prompts (128 per depth bucket) and attention
 * analyses over 200 of them (issue 17: 16 seeds and 40 prompts could not tell "no effect" from "an effect of
 * the size seen"). Not the paper's scale; it is what this playground can say on a machine without a GPU.
 */
function needleQuick(): StudyDefinition {
  const quick = preset('quick');
  return {
    ...needleS(),
    name: 'needle-quick',
    title: 'needle-quick: NTP vs MEAP on the quick preset (sized for a CPU)',
    question: 'On the quick preset (2 layers, d 32, T = 16, batch 32, 800 steps), does MEAP at P = 0.15 learn needle retrieval '
      + 'more often, sooner or better than NTP?',
    config: { ...quick, arms: [0, 0.15], seedsPerArm: 64, evaluation: { ...quick.evaluation, count: 512 } },
    seedsPerUnit: 4,
    attentionExamples: 200,
  };
}

/** needle-quick with its name, title, question and some config fields changed (the variants below). */
function needleQuickVariant(name: string, title: string, question: string, change: (c: StudyConfig) => Partial<StudyConfig>): StudyDefinition {
  const base = needleQuick();
  return { ...base, name, title: `${name}: ${title}`, question, config: { ...base.config, ...change(base.config) } };
}

/**
 * needle-quick-protect: needle-quick with the query never masked (`protectQuery`, issue 8 item 3). MEAP's
 * masks may hide `? K` itself in training, which the model must read to answer; this variant asks what that
 * does. The query key is the last input, never masked, so its masks are needle-quick-protect-query-marker's bit
 * for bit. The NTP arm is the same as needle-quick's (no masks).
 */
function needleQuickProtect(): StudyDefinition {
  return needleQuickVariant('needle-quick-protect', 'NTP vs MEAP with the query never masked (quick preset, sized for a CPU adapter)',
    'On the quick preset, with MEAP\'s masks never covering the final query `? K` (protectQuery), does MEAP at P = 0.15 '
      + 'learn needle retrieval more often, sooner or better than NTP?',
    () => ({ protectQuery: true }));
}

/**
 * needle-quick-shared: needle-quick with one set of mask positions for the whole batch, as the reference
 * code draws them (issue 8 item 3: per-sequence vs shared masks). The NTP arm is needle-quick's.
 */
function needleQuickShared(): StudyDefinition {
  return needleQuickVariant('needle-quick-shared', 'NTP vs MEAP with one mask per batch (quick preset, sized for a CPU adapter)',
    'On the quick preset, with MEAP\'s mask positions shared by every sequence of a batch (the reference code\'s policy), '
      + 'does MEAP at P = 0.15 learn needle retrieval more often, sooner or better than NTP?',
    () => ({ sharedMask: true }));
}

/**
 * needle-quick-2k: needle-quick trained 2.5× longer (2000 steps) on a schedule of its own: its cosine runs to
 * step 2000, so its step-800 numbers are not needle-quick's (see needle-quick-long for "the same run, longer").
 */
function needleQuick2k(): StudyDefinition {
  return needleQuickVariant('needle-quick-2k', 'NTP vs MEAP on the quick preset, 2000 steps on a 2000-step schedule (sized for a CPU)',
    'On the quick preset trained for 2000 steps (long enough for most seeds to learn retrieval), does MEAP at P = 0.15 '
      + 'learn needle retrieval more often, sooner or better than NTP?',
    () => ({ steps: 2000 }));
}

/**
 * needle-quick-long: needle-quick continued — the same schedule up to step 800 (its cosine ends there,
 * `optimizer.scheduleSteps`), then 1200 more steps at the schedule's floor learning rate. Its first 800 steps
 * are needle-quick's runs exactly, so "longer" means longer.
 */
function needleQuickLong(): StudyDefinition {
  return needleQuickVariant('needle-quick-long', 'needle-quick continued to 2000 steps at its final learning rate (sized for a CPU)',
    'Continuing needle-quick\'s runs past step 800 at the learning rate its schedule ends on, does MEAP at P = 0.15 '
      + 'learn needle retrieval more often or sooner than NTP by step 2000?',
    (c) => ({ steps: 2000, optimizer: { ...c.optimizer, scheduleSteps: c.steps } }));
}

function sweep(): StudyDefinition {
  return {
    ...needleS(),
    name: 'sweep',
    title: 'sweep: the paper\'s mask-ratio grid on needle-s',
    question: 'Across the paper\'s ablation grid P = 0 / 0.05 / 0.10 / 0.15 / 0.20 on the needle-s preset, does retrieval depend on the mask ratio?',
    config: { ...preset('needle-s'), arms: [...PAPER_MASK_GRID], seedsPerArm: 8 },
  };
}

/**
 * needle-quick-sweep: the paper's mask-ratio grid on the quick preset, sized for a CPU (32 seeds per arm, fresh
 * seeds: baseSeed + 2000). Descriptive: how retrieval and the layer-0 attention shift of
 * docs/preregistration-query-attention.md change with the ratio; its per-arm tests against NTP are four looks.
 */
function needleQuickSweep(): StudyDefinition {
  return needleQuickVariant('needle-quick-sweep', 'the paper\'s mask-ratio grid on the quick preset (sized for a CPU)',
    'Across the paper\'s grid P = 0 / 0.05 / 0.10 / 0.15 / 0.20 on the quick preset, how do retrieval and the answer '
      + 'position\'s attention change with the mask ratio?',
    (c) => ({ arms: [...PAPER_MASK_GRID], seedsPerArm: 32, baseSeed: c.baseSeed + 2000 }));
}

/**
 * needle-quick-ratio-20: NTP / 0.15 / 0.20 on the quick preset, 64 fresh seeds (baseSeed + 3000): the pre-registered
 * test of 0.20 against 0.15, the two MEAP arms paired by seed (docs/preregistration-query-attention.md, part 2).
 */
function needleQuickRatio20(): StudyDefinition {
  return needleQuickVariant('needle-quick-ratio-20', 'NTP vs MEAP at 0.15 and at 0.20 (quick preset, sized for a CPU)',
    'On the quick preset, does MEAP at P = 0.20 learn needle retrieval on more seeds than at P = 0.15 (paired by seed), '
      + 'and how do both compare with NTP?',
    (c) => ({ arms: [0, 0.15, 0.2], baseSeed: c.baseSeed + 3000 }));
}

/**
 * needle-quick-high-ratios: NTP / 0.15 / 0.20 / 0.30 / 0.40 on the quick preset, 64 fresh seeds (baseSeed + 4000):
 * the pre-registered tests of ratios above 0.20 and of what the layer-0 shift is made of, single token by single token
 * (docs/preregistration-query-attention.md, part 3).
 */
function needleQuickHighRatios(): StudyDefinition {
  return needleQuickVariant('needle-quick-high-ratios', 'MEAP above the paper\'s grid: NTP / 0.15 / 0.20 / 0.30 / 0.40 (quick preset, sized for a CPU)',
    'On the quick preset, does MEAP keep learning needle retrieval faster above P = 0.20 (0.30, 0.40; paired by seed), '
      + 'and which single tokens does the answer position\'s layer-0 attention leave and reach?',
    (c) => ({ arms: [0, 0.15, 0.2, 0.3, 0.4], baseSeed: c.baseSeed + 4000 }));
}

function long(): StudyDefinition {
  const base = preset('needle-long');
  return {
    name: 'long',
    title: 'long: T = 256, accuracy by needle depth',
    question: 'With a 256-token context, where the needle\'s depth can matter (a lost-in-the-middle curve), does MEAP change '
      + 'retrieval accuracy overall or at some depths?',
    config: { ...base, arms: [0, 0.15], seedsPerArm: 8, evaluation: { ...base.evaluation, count: 512, buckets: 8 } },
    seedsPerUnit: 4,
    learnedThreshold: 0.5,
    attentionExamples: 200,
    bucketLabel: 'needle depth',
    seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

function pretrainThenProbe(): StudyDefinition {
  const text = preset('text-s');
  return {
    name: 'pretrain-then-probe',
    title: 'pretrain-then-probe: pretrain on the generated corpus, probe needle retrieval zero-shot',
    question: 'Closer to the paper\'s protocol: after pretraining on a procedurally generated text corpus in which names and facts '
      + 'recur, does a MEAP model retrieve a fact planted at some depth of a prompt in the same language ("X lives in Y." … '
      + '"Where does X live? X lives in " → Y) more often than an NTP model, with clean inputs and no training on the probe?',
    config: withWarmup({
      ...text,
      model: { ...text.model, context: 256 },
      batch: 16,
      arms: [0, 0.15],
      seedsPerArm: 8,
      evaluation: { ...text.evaluation, every: 200, count: 128 },
      // Retrieval is measured zero-shot on prompts in the corpus's language (src/data/textProbe.ts), 100 per depth bucket.
      zeroShotProbe: { kind: 'text-needle', count: 500, buckets: 5, seed: 4242 },
    }),
    seedsPerUnit: 4,
    learnedThreshold: 0.5,
    attentionExamples: 200,
    bucketLabel: 'fact depth',
    seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

/**
 * qa-finetune-quick: the paper's second claim (MEAP-SFT vs SFT) at a size a CPU adapter finishes in well under an
 * hour: the qa-tiny task and model, NTP pretraining, then SFT and MEAP-SFT from each seed's pretrained weights
 * with the same examples; 16 seeds per variant, paired by seed. Its report is the fine-tuning report
 * (src/study/finetuneReport.ts).
 */
function qaFinetuneQuick(): StudyDefinition {
  return {
    name: 'qa-finetune-quick',
    title: 'qa-finetune-quick: SFT vs MEAP-SFT after NTP pretraining (qa-tiny, sized for a CPU adapter)',
    question: 'Fine-tuning the same NTP-pretrained tiny model on multi-document QA with multi-token answers, does MEAP-SFT '
      + '(a masked copy of each example, loss on its masked answer tokens) answer more accurately than plain SFT?',
    config: { ...preset('qa-tiny'), seedsPerArm: 16 },
    seedsPerUnit: 8,
    learnedThreshold: 0.5,
    attentionExamples: 4,
    bucketLabel: 'answer document',
    seedsForClaim: 16,
  };
}

/**
 * qa-finetune: the paper's setting at GPU scale — 20 documents, answers of 3–8 tokens, T = 256 (qa-s), NTP
 * pretraining then SFT vs MEAP-SFT, 16 seeds. For a machine with a GPU.
 */
function qaFinetune(): StudyDefinition {
  return {
    ...qaFinetuneQuick(),
    name: 'qa-finetune',
    title: 'qa-finetune: SFT vs MEAP-SFT on 20-document QA (qa-s; for a GPU)',
    question: 'With 20 documents as in the paper\'s lost-in-the-middle QA, does MEAP-SFT answer more accurately than SFT from the '
      + 'same NTP-pretrained model, overall and by the answer document\'s position?',
    config: { ...preset('qa-s'), seedsPerArm: 16, evaluation: { ...preset('qa-s').evaluation, count: 500, buckets: 5 } },
    seedsPerUnit: 8,
    attentionExamples: 200,
  };
}

const CONTROL_STUDIES = controlStudies(needleQuick);
const FRESH = freshStudies({ 'needle-quick': needleQuick, ...CONTROL_STUDIES });

const DEFINITIONS: Record<string, () => StudyDefinition> = {
  'needle-s': needleS,
  'needle-quick': needleQuick,
  'needle-quick-protect': needleQuickProtect,
  'needle-quick-shared': needleQuickShared,
  'needle-quick-2k': needleQuick2k,
  'needle-quick-long': needleQuickLong,
  ...CONTROL_STUDIES,
  ...FRESH,
  'needle-quick-sweep': needleQuickSweep,
  'needle-quick-ratio-20': needleQuickRatio20,
  'needle-quick-high-ratios': needleQuickHighRatios,
  sweep,
  long,
  'pretrain-then-probe': pretrainThenProbe,
  'qa-finetune-quick': qaFinetuneQuick,
  'qa-finetune': qaFinetune,
};

export const STUDY_NAMES = Object.keys(DEFINITIONS);

/** The definition of a named study; throws a RangeError listing the names otherwise. */
export function studyDefinition(name: string): StudyDefinition {
  const make = DEFINITIONS[name];
  if (!make) throw new RangeError(`unknown study "${name}" (known: ${STUDY_NAMES.join(', ')})`);
  const definition = make();
  checkDefinition(definition);
  return definition;
}

export function checkDefinition(d: StudyDefinition): void {
  if (!(Number.isInteger(d.seedsPerUnit) && d.seedsPerUnit >= 1 && d.config.seedsPerArm % d.seedsPerUnit === 0)) {
    throw new RangeError(`study ${d.name}: seedsPerUnit (${d.seedsPerUnit}) must divide seedsPerArm (${d.config.seedsPerArm})`);
  }
}

/**
 * The `--quick` version: the tiny model (T = 16; the text probe needs T = 128), 2 seeds per arm in units of
 * one seed, few steps and a small evaluation, so a study runs in about a minute on SwiftShader. It checks
 * the pipeline, not the claim: its numbers carry no evidence either way.
 */
export function quickDefinition(d: StudyDefinition): StudyDefinition {
  const tiny = preset('tiny');
  const common = { ...d, seedsPerUnit: 1, attentionExamples: 2 };
  const title = (config: StudyConfig) => `${d.name} — quick version (tiny model, T = ${config.model.context}, ${config.steps} steps, 2 seeds per arm)`;
  const probe = d.config.zeroShotProbe;
  const f = d.config.finetune;
  if (f) {
    // The qa-tiny task and model, few steps in both stages.
    const qa = preset('qa-tiny');
    const config: StudyConfig = {
      ...qa, arms: [...d.config.arms], seedsPerArm: 2, steps: 30,
      optimizer: { ...qa.optimizer, warmupSteps: 3 },
      evaluation: { every: 10, count: 24, buckets: Math.min(qa.evaluation.buckets, d.config.evaluation.buckets), seed: qa.evaluation.seed },
      finetune: { ...f, steps: 20, warmupSteps: 2 },
    };
    return { ...common, title: `${d.name} — quick version (qa-tiny, ${config.steps} + ${f.steps > 0 ? 20 : 0} steps, 2 seeds per variant)`, config };
  }
  if (probe) {
    const config = withWarmup({
      ...d.config,
      taskOptions: { ...(d.config.taskOptions as object), source: { kind: 'generated', seed: 1, documents: 120 } } as StudyConfig['taskOptions'],
      model: { ...tiny.model, vocabSize: d.config.model.vocabSize, maskId: d.config.model.maskId, context: 128 },
      // The probe reads one logits row per answer character, at most `batch` of them: town names need ≤ 12.
      batch: 12,
      steps: 24,
      optimizer: { ...tiny.optimizer },
      seedsPerArm: 2,
      evaluation: { every: 12, count: 8, buckets: 1, seed: d.config.evaluation.seed },
      zeroShotProbe: { ...probe, count: 6, buckets: 3 },
    });
    return { ...common, title: title(config), config };
  }
  const { sharedMask, protectQuery, replace, protect } = d.config;
  const config = withWarmup({
    ...tiny,
    // The mask policy is what a control study is about: its quick version keeps it.
    sharedMask, ...(protectQuery ? { protectQuery } : {}), ...(replace ? { replace } : {}), ...(protect ? { protect: [...protect] } : {}),
    model: { ...tiny.model, context: d.config.model.context > 64 ? 32 : tiny.model.context },
    arms: [...d.config.arms],
    seedsPerArm: 2,
    steps: 60,
    evaluation: { every: 20, count: 24, buckets: Math.min(4, d.config.evaluation.buckets), seed: tiny.evaluation.seed },
  });
  return { ...common, title: title(config), config };
}

/** Configuration of unit u (all arms × seedsPerUnit seeds). */
export function unitConfig(d: StudyDefinition, u: number): StudyConfig {
  return { ...structuredClone(d.config), seedsPerArm: d.seedsPerUnit, baseSeed: d.config.baseSeed + u };
}

export function unitCount(d: StudyDefinition): number {
  return d.config.seedsPerArm / d.seedsPerUnit;
}

export interface ComputeEstimate {
  runs: number;
  parameters: number;
  tokensPerRun: number;
  /** Training FLOPs of all runs: 6 · parameters · tokens plus the attention scores (3 × 4 · L · T · d per token). */
  trainFlops: number;
  /** Evaluation forwards (2 · parameters + 4 · L · T · d per token) over the whole study. */
  evalFlops: number;
}

/** Rough FLOPs of a full study (what a run of it costs; the GPU's achieved rate sets the time). */
export function computeEstimate(d: StudyDefinition): ComputeEstimate {
  const c = d.config;
  const m = c.model;
  const runs = c.arms.length * c.seedsPerArm;
  const parameters = parameterCount(parameterLayout(m));
  const T = m.context;
  const tokensPerRun = c.steps * c.batch * T;
  const attention = 4 * m.layers * T * m.dModel;
  let trainFlops = runs * tokensPerRun * (6 * parameters + 3 * attention);
  if (c.finetune) {
    // Stage 2: every run fine-tuned by each variant, on the batch and its masked copies.
    const stage = finetuneStageConfig(c);
    trainFlops += runCount(stage) * c.finetune.steps * sequencesPerStep(stage) * T * (6 * parameters + 3 * attention);
  }
  const evaluations = Math.floor(c.steps / c.evaluation.every) + (c.steps % c.evaluation.every === 0 ? 0 : 1);
  // The task's evaluation covers `count` examples in batches of B; the zero-shot probe runs one forward of B sequences per prompt.
  const evalTokens = Math.ceil(c.evaluation.count / c.batch) * c.batch * T + (c.zeroShotProbe ? c.zeroShotProbe.count * c.batch * T : 0);
  const evalFlops = runs * evaluations * evalTokens * (2 * parameters + attention);
  return { runs, parameters, tokensPerRun, trainFlops, evalFlops };
}

/** Shared parsing of study options for the Node CLIs; every invalid argument becomes a one-line reason. */
import { parseArgs } from 'node:util';
import { FileGuardError, readFileBounded } from '../util/safeFiles';
import { isTaskName, TASK_NAMES } from '../data/task';
import { MAX_TEXT_BYTES, userTextFromBytes } from '../data/textTask';
import {
  DEFAULT_PRESET_FOR_TASK, PAPER_MASK_GRID, preset, type FinetuneConfig, type FinetuneVariant, type StudyConfig,
} from '../config/presets';
import { validateStudyConfig } from '../config/validate';
import { ConfigError, parsePresetName } from '../config/schema';
import type { RunInfo } from '../engine/types';
import { parseDecimal } from '../util/decimal';

export class UsageError extends Error {
  override name = 'UsageError';
}

const studyOptions = {
  task: { type: 'string' },
  preset: { type: 'string' },
  'text-file': { type: 'string' },
  steps: { type: 'string' },
  seeds: { type: 'string' },
  'mask-ratio': { type: 'string' },
  'mask-ratios': { type: 'string' },
  'paper-grid': { type: 'boolean' },
  'shared-mask': { type: 'boolean' },
  'protect-query': { type: 'boolean' },
  replace: { type: 'string' },
  protect: { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-count': { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  'base-seed': { type: 'string' },
  finetune: { type: 'string' },
  'finetune-steps': { type: 'string' },
  'finetune-lr': { type: 'string' },
  'mask-fraction': { type: 'string' },
  'min-answer': { type: 'string' },
  from: { type: 'string' },
  json: { type: 'string' },
  save: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** Fine-tuning settings when a preset has none (a qa preset of one's own): the reference code's, scaled down. */
const DEFAULT_FINETUNE: FinetuneConfig = { variants: ['sft', 'meap-sft'], steps: 200, lr: 1e-3, warmupSteps: 20, maskFraction: 0.1, minAnswer: 3 };

/**
 * A flag's number is decimal notation only (util/decimal.ts: `--lr 3e-4`, `--steps 1e6`; no hex, octal,
 * binary, spaces, "+" or ""); integer flags must then hold an integer. Anything else is refused naming the flag.
 */
function number(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = parseDecimal(text);
  if (value === null || (integer && !Number.isSafeInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
  }
  return value;
}

/**
 * A user text file for --text-file (UTF-8); its content is validated with the study config. Read through a
 * byte-counting loop that stops at MAX_TEXT_BYTES whatever `stat` says, and only from a regular file (a FIFO
 * or a device like /dev/zero would otherwise be read without end).
 */
function readTextFile(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileBounded(path, MAX_TEXT_BYTES);
  } catch (error) {
    if (error instanceof FileGuardError) throw new UsageError(`--text-file: ${error.message}`);
    throw error;
  }
  try {
    return userTextFromBytes(bytes, `--text-file "${path}"`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The flag that set each config field (for "--lr: optimizer.lr must be …" when that flag was given). */
const FLAG_OF_FIELD: [RegExp, string[]][] = [
  [/^steps$/, ['steps']], [/^seedsPerArm$/, ['seeds']], [/^batch$/, ['batch']], [/^optimizer\.lr$/, ['lr']],
  [/^baseSeed$/, ['base-seed']], [/^evaluation\.every$/, ['eval-every']], [/^evaluation\.count$/, ['eval-count']],
  [/^arms\b/, ['mask-ratio', 'mask-ratios', 'paper-grid']], [/^taskOptions\.source\.text$/, ['text-file']],
  [/^finetune\.variants\b/, ['finetune']], [/^finetune\.steps$/, ['finetune-steps']], [/^finetune\.lr$/, ['finetune-lr']],
  [/^finetune\.maskFraction$/, ['mask-fraction']], [/^finetune\.minAnswer$/, ['min-answer']],
  [/^replace$/, ['replace']], [/^protect\b/, ['protect']],
];

function flagFor(path: string, given: Record<string, unknown>): string | undefined {
  const flags = FLAG_OF_FIELD.find(([pattern]) => pattern.test(path))?.[1] ?? [];
  const flag = flags.find((f) => given[f] !== undefined && given[f] !== false);
  return flag === undefined ? undefined : `--${flag}`;
}

export interface CompareArgs {
  config: StudyConfig;
  json: string | undefined;
  /** Directory for each run's model.safetensors + config.json. */
  save: string | undefined;
  /** --text-file: an input, which no output may overwrite. */
  textFile: string | undefined;
  /** --from: a saved model folder (or .safetensors file) every fine-tuning run starts from; pretraining is skipped. */
  from: string | undefined;
  help: boolean;
}

export function parseCompareArgs(argv: string[]): CompareArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv.filter((a) => a !== '--'), options: studyOptions, strict: true, allowPositionals: false });
  } catch (error) {
    // One line: node's multi-line hints ("use '--batch=-XYZ'") joined, not dropped.
    throw new UsageError((error as Error).message.trim().replace(/\s*\n\s*/g, ' '));
  }
  const v = parsed.values;
  if (v.task !== undefined && !isTaskName(v.task)) throw new UsageError(`--task must be one of ${TASK_NAMES.join(', ')}, got "${v.task}"`);
  let config: StudyConfig;
  try {
    // Without --preset: the task's default preset (needle: tiny). Only PRESETS' own names (not "__proto__").
    config = preset(parsePresetName(v.preset ?? DEFAULT_PRESET_FOR_TASK[v.task ?? 'needle']));
  } catch (error) {
    throw new UsageError(`--preset: ${(error as Error).message}`);
  }
  if (v.task !== undefined && config.task !== v.task) {
    throw new UsageError(`--task ${v.task} does not match --preset ${v.preset}, a ${config.task} preset (leave out --preset for the ${v.task} default, ${DEFAULT_PRESET_FOR_TASK[v.task]})`);
  }
  if (v['text-file'] !== undefined) {
    if (config.task !== 'text') throw new UsageError(`--text-file needs the text task (--task text), not ${config.task}`);
    config.taskOptions = { alphabet: (config as StudyConfig<'text'>).taskOptions.alphabet, source: { kind: 'user', text: readTextFile(v['text-file']) } };
  }
  const steps = number('steps', v.steps, true);
  if (steps !== undefined) config.steps = steps;
  const seeds = number('seeds', v.seeds, true);
  if (seeds !== undefined) config.seedsPerArm = seeds;
  const batch = number('batch', v.batch, true);
  if (batch !== undefined) config.batch = batch;
  const lr = number('lr', v.lr, false);
  if (lr !== undefined) config.optimizer.lr = lr;
  const baseSeed = number('base-seed', v['base-seed'], true);
  if (baseSeed !== undefined) config.baseSeed = baseSeed;
  const every = number('eval-every', v['eval-every'], true);
  if (every !== undefined) config.evaluation.every = every;
  const count = number('eval-count', v['eval-count'], true);
  if (count !== undefined) config.evaluation.count = count;
  if (v['shared-mask']) config.sharedMask = true;
  if (v['protect-query']) config.protectQuery = true;
  // Checked by the schema (named values) and against the task (validateStudyConfig), reported under the flag.
  if (v.replace !== undefined) (config as { replace?: string }).replace = v.replace;
  if (v.protect !== undefined) (config as { protect?: string[] }).protect = v.protect.split(',').filter((s) => s !== '');
  const choices = [v['mask-ratio'] !== undefined, v['mask-ratios'] !== undefined, v['paper-grid'] === true].filter(Boolean);
  if (choices.length > 1) throw new UsageError('give only one of --mask-ratio, --mask-ratios and --paper-grid');
  const ratio = number('mask-ratio', v['mask-ratio'], false);
  if (ratio !== undefined) config.arms = [0, ratio];
  if (v['mask-ratios'] !== undefined) config.arms = v['mask-ratios'].split(',').map((t) => number('mask-ratios', t, false)!);
  if (v['paper-grid']) config.arms = [...PAPER_MASK_GRID];
  // The warm-up never exceeds a tenth of a short run, so quick runs still reach their peak rate.
  config.optimizer.warmupSteps = Math.min(config.optimizer.warmupSteps, Math.max(1, Math.floor(config.steps / 10)));
  applyFinetuneFlags(config, v);
  try {
    validateStudyConfig(config);
  } catch (error) {
    const flag = error instanceof ConfigError ? flagFor(error.path, v) : undefined;
    throw new UsageError(flag === undefined ? (error as Error).message : `${flag}: ${(error as Error).message}`);
  }
  return { config, json: v.json, save: v.save, textFile: v['text-file'], from: v.from, help: v.help === true };
}

/**
 * --finetune sft,meap-sft[,meap-sft-all] adds (or, on a qa preset, replaces the variants of) the fine-tuning stage;
 * --finetune-steps / --finetune-lr / --mask-fraction / --min-answer set its fields; --from needs it. Without
 * --finetune a preset keeps its own stage and the flags adjust it; other tasks have none to adjust.
 */
function applyFinetuneFlags(config: StudyConfig, v: Record<string, string | boolean | undefined>): void {
  const flags = ['finetune', 'finetune-steps', 'finetune-lr', 'mask-fraction', 'min-answer', 'from'] as const;
  const given = flags.filter((f) => v[f] !== undefined);
  if (given.length === 0) return;
  if (config.task !== 'qa') throw new UsageError(`--${given[0]} needs the qa task (--task qa), whose answers are spans; not ${config.task}`);
  if (v.finetune === 'none') {
    if (given.length > 1) throw new UsageError(`--finetune none trains no fine-tuning stage; --${given.find((g) => g !== 'finetune')} needs one`);
    delete (config as { finetune?: FinetuneConfig }).finetune;
    return;
  }
  const f: FinetuneConfig = structuredClone(config.finetune ?? DEFAULT_FINETUNE);
  if (typeof v.finetune === 'string') f.variants = v.finetune.split(',') as FinetuneVariant[];
  else if (!config.finetune) throw new UsageError(`--${given[0]} needs --finetune VARIANTS (this preset has no fine-tuning stage)`);
  const steps = number('finetune-steps', v['finetune-steps'] as string | undefined, true);
  if (steps !== undefined) f.steps = steps;
  const lr = number('finetune-lr', v['finetune-lr'] as string | undefined, false);
  if (lr !== undefined) f.lr = lr;
  const fraction = number('mask-fraction', v['mask-fraction'] as string | undefined, false);
  if (fraction !== undefined) f.maskFraction = fraction;
  const minAnswer = number('min-answer', v['min-answer'] as string | undefined, true);
  if (minAnswer !== undefined) f.minAnswer = minAnswer;
  f.warmupSteps = Math.min(f.warmupSteps, Math.max(1, Math.floor(f.steps / 10)));
  config.finetune = f;
}

export const COMPARE_USAGE = `usage: npm run compare -- [--task needle|recall|multidoc|qa|text] [--text-file FILE]
       [--preset tiny|needle-s|needle-long|recall-s|multidoc-s|text-s|qa-tiny|qa-s] [--steps N]
       [--seeds S] [--mask-ratio P | --mask-ratios 0,0.05,0.15 | --paper-grid] [--shared-mask] [--protect-query]
       [--replace mask|random|random-filler] [--protect needle-key,needle-value,query-marker,query-key]
       [--batch B] [--lr LR] [--base-seed N] [--eval-every E] [--eval-count C] [--json FILE] [--save DIR]
       qa only: [--finetune sft,meap-sft[,meap-sft-all] | none] [--finetune-steps N] [--finetune-lr LR]
       [--mask-fraction F] [--min-answer N] [--from MODEL_DIR]
Mask controls: --replace puts a random ordinary token (random) or filler word (random-filler) where MEAP would
put [MASK]; --protect never masks the listed segments of a retrieval block.
Fine-tuning: the arms are pretrained --steps steps, then every (arm, seed) model is fine-tuned by each variant
from the same weights and examples (--from: every run starts from that saved model instead; no pretraining).
Numbers are decimal notation only (digits, optional fraction and exponent: 3e-4, 1e6; no 0x / 0o / 0b,
spaces or +). --json and --save are checked before training: they may
not be a directory, FIFO or device, an input, or a committed file.`;

/**
 * `ntp` / `meap` for the default comparison (one NTP arm, one MEAP arm, one seed); with more arms the
 * mask ratio is added (`meap-p0.05`), with more seeds the seed (`ntp-seed1`). When a ratio is given twice
 * (`--mask-ratios 0,0.15,0.15`) its arms get their index (`meap-p0.15-arm1`), so no two runs share a folder.
 */
export function runDirectoryName(run: RunInfo, config: StudyConfig): string {
  const meapArms = config.arms.filter((p) => p > 0).length;
  let name = run.objective;
  if (run.objective === 'meap' && meapArms > 1) name += `-p${run.maskRatio}`;
  if (config.arms.filter((p) => p === run.maskRatio).length > 1) name += `-arm${run.arm}`;
  if (run.finetune) name += `-${run.finetune}`;
  if (config.seedsPerArm > 1) name += `-seed${run.seed}`;
  return name;
}

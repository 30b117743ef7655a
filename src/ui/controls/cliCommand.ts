/**
 * The page's study as a command line: `npm run reproduce -- --study NAME` for an unedited study preset,
 * otherwise `npm run compare` with the preset and the edited values (it applies the same warm-up rule),
 * or null when no command expresses the config.
 */
import type { StudyConfig } from '../../config/presets';
import {
  applyEdit, editableValues, isUneditedStudy, presetConfig, presetNames, sameConfig, studyOfPreset, type EditableField,
} from '../../store/configCodec';

/** The values `npm run compare` takes as flags, in the order the page applies them. */
const COMPARE_FIELDS: readonly EditableField[] = [
  'steps', 'batch', 'lr', 'arms', 'seedsPerArm', 'sharedMask', 'protectQuery', 'replace', 'protect', 'baseSeed', 'evalEvery',
];
/** …and for qa studies the fine-tuning stage's (--finetune, --finetune-steps, --finetune-lr, --mask-fraction, --min-answer). */
const FINETUNE_COMPARE_FIELDS: readonly EditableField[] = ['finetune', 'finetuneSteps', 'finetuneLr', 'maskFraction', 'minAnswer'];

/** The config `npm run compare -- --preset NAME <flags of c>` builds (null when the flags do not apply). */
function compareConfig(presetName: string, c: StudyConfig): StudyConfig | null {
  const values = editableValues(presetName, c);
  try {
    let config = presetConfig(presetName);
    for (const field of COMPARE_FIELDS) config = applyEdit(presetName, config, field, values[field]);
    // --eval-count: a study's evaluation set can be larger than its preset's (the 512-prompt needle-quick family).
    config = { ...config, evaluation: { ...config.evaluation, count: c.evaluation.count } };
    if (c.task === 'qa') {
      for (const field of c.finetune ? FINETUNE_COMPARE_FIELDS : ['finetune' as const]) config = applyEdit(presetName, config, field, values[field]);
    }
    return config;
  } catch {
    return null;
  }
}

/**
 * The plain preset whose compare command builds exactly `c` (an edited study preset is often a preset with
 * other arms and seeds), or null when none does (a study with its own model or evaluation).
 */
function comparePresetFor(c: StudyConfig): string | null {
  return presetNames().find((p) => presetConfig(p).task === c.task && sameConfig(compareConfig(p, c) ?? undefined, c)) ?? null;
}

/** The user's text of a text-task study (the CLI's --text-file), or null when it trains on the generated corpus. */
function userText(c: StudyConfig): string | null {
  if (c.task !== 'text') return null;
  const { source } = (c as StudyConfig<'text'>).taskOptions;
  return source.kind === 'user' ? source.text : null;
}

/** `textFileName`: the uploaded file a user text came from, named in --text-file (a placeholder when unknown). */
export function cliCommand(presetName: string, c: StudyConfig, textFileName?: string): string | null {
  const text = userText(c);
  if (text !== null) {
    // The same study on the generated corpus, plus --text-file: the flags cover everything else.
    const base = presetConfig(presetName) as StudyConfig<'text'>;
    if (base.task !== 'text') return null;
    const onCorpus = { ...c, taskOptions: { ...(c as StudyConfig<'text'>).taskOptions, source: base.taskOptions.source } };
    const command = cliCommand(presetName, onCorpus);
    return command && !command.includes(' reproduce ') ? `${command} --text-file ${JSON.stringify(textFileName ?? 'your-text.txt')}` : null;
  }
  const study = studyOfPreset(presetName);
  if (study !== null && isUneditedStudy(presetName, c)) return `npm run reproduce -- --study ${study}`;
  const base = study === null ? presetName : comparePresetFor(c);
  if (base === null || c.task !== presetConfig(base).task) return null;
  const args = [`--preset ${base}`, `--steps ${c.steps}`, `--batch ${c.batch}`, `--lr ${c.optimizer.lr}`,
    `--mask-ratios ${c.arms.join(',')}`, `--seeds ${c.seedsPerArm}`, `--base-seed ${c.baseSeed}`, `--eval-every ${c.evaluation.every}`];
  if (c.evaluation.count !== presetConfig(base).evaluation.count) args.push(`--eval-count ${c.evaluation.count}`);
  if (c.sharedMask) args.push('--shared-mask');
  if (c.protectQuery) args.push('--protect-query');
  if (c.replace !== undefined && c.replace !== 'mask') args.push(`--replace ${c.replace}`);
  if (c.protect && c.protect.length > 0) args.push(`--protect ${c.protect.join(',')}`);
  if (c.task === 'qa') {
    const f = c.finetune;
    args.push(f ? `--finetune ${f.variants.join(',')} --finetune-steps ${f.steps} --finetune-lr ${f.lr} --mask-fraction ${f.maskFraction} --min-answer ${f.minAnswer}`
      : '--finetune none');
  }
  return `npm run compare -- ${args.join(' ')}`;
}

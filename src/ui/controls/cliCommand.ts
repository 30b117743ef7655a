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
const COMPARE_FIELDS: readonly EditableField[] = ['steps', 'batch', 'lr', 'arms', 'seedsPerArm', 'sharedMask', 'protectQuery', 'baseSeed', 'evalEvery'];

/** The config `npm run compare -- --preset NAME <flags of c>` builds (null when the flags do not apply). */
function compareConfig(presetName: string, c: StudyConfig): StudyConfig | null {
  const values = editableValues(presetName, c);
  try {
    let config = presetConfig(presetName);
    for (const field of COMPARE_FIELDS) config = applyEdit(presetName, config, field, values[field]);
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

export function cliCommand(presetName: string, c: StudyConfig): string | null {
  const study = studyOfPreset(presetName);
  if (study !== null && isUneditedStudy(presetName, c)) return `npm run reproduce -- --study ${study}`;
  const base = study === null ? presetName : comparePresetFor(c);
  if (base === null || c.task !== presetConfig(base).task) return null;
  const args = [`--preset ${base}`, `--steps ${c.steps}`, `--batch ${c.batch}`, `--lr ${c.optimizer.lr}`,
    `--mask-ratios ${c.arms.join(',')}`, `--seeds ${c.seedsPerArm}`, `--base-seed ${c.baseSeed}`, `--eval-every ${c.evaluation.every}`];
  if (c.sharedMask) args.push('--shared-mask');
  if (c.protectQuery) args.push('--protect-query');
  return `npm run compare -- ${args.join(' ')}`;
}

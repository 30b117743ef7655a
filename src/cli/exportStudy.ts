/**
 * `npm run export-study -- --study NAME [--quick] | --config study.json [--name NAME] --out DIR`: everything the
 * PyTorch twin (python/meap_torch) needs to train a study without Node — the study definition and each unit's
 * config (export.json), each unit seed's initial weights as the engine draws them (init/unit-UU/seed-S.safetensors,
 * HF LLaMA names) and a README with the launch line. Every invalid argument exits 2 with a one-line reason.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../export/safetensors';
import { createTask } from '../data/task';
import { initParameters } from '../model/init';
import { parameterCount, parameterLayout } from '../model/layout';
import { checkedStudyConfig } from '../config/validate';
import type { StudyConfig } from '../config/presets';
import {
  checkDefinition, computeEstimate, quickDefinition, SEEDS_FOR_CLAIM, STUDY_NAMES, studyDefinition, unitConfig, unitCount,
  type StudyDefinition,
} from '../study/studies';
import { validateStudyConfig } from '../config/validate';
import { prepareOutputDir, readFileBounded } from '../util/safeFiles';
import { SCALE_STUDIES, scaleStudyLine } from './scaleStudies';
import { UNIT_FORMAT } from '../study/records';
import { deriveSeed } from '../util/seeds';

export const EXPORT_FORMAT = 'meap-torch-export/1';

/** A study config with a user text of MAX_TEXT_BYTES fits many times over; a FIFO or /dev/zero is refused, not read. */
const MAX_CONFIG_BYTES = 64 * 2 ** 20;

const USAGE = `usage: npm run export-study -- --study NAME [--quick] --out DIR
       npm run export-study -- --config study.json [--name NAME] --out DIR
       npm run export-study -- --list

  --study NAME   a named study of npm run reproduce (${STUDY_NAMES.join(', ')}), or a study sized for a GPU
                 (${Object.keys(SCALE_STUDIES).join(', ')}); --quick: its one-minute version
  --list         the GPU-sized studies with their parameters, FLOPs and an estimated H200 wall time
  --config FILE  a StudyConfig (JSON, e.g. the page's config): one unit holding all its seeds
  --name NAME    the study's name for --config (letters, digits, dashes; default: custom)
  --out DIR      an empty or new folder: export.json, init/, README.md`;

class UsageError extends Error {}

interface Args { definition: StudyDefinition; quick: boolean; out: string; command: string }

function definitionOfConfig(config: StudyConfig, name: string): StudyDefinition {
  return {
    name, title: `${name}: a study config exported for the PyTorch twin`,
    question: `Does MEAP (mask ratios ${config.arms.filter((p) => p > 0).join(', ')}) differ from NTP on the ${config.task} task?`,
    config, seedsPerUnit: config.seedsPerArm, learnedThreshold: 0.5, attentionExamples: 8,
    bucketLabel: createTask(config.task, config.taskOptions).bucketLabel, seedsForClaim: SEEDS_FOR_CLAIM,
  };
}

/** A named study: the engine's (studies.ts) or a GPU-sized one (scaleStudies.ts), checked. */
function namedDefinition(name: string): StudyDefinition {
  const scale = Object.hasOwn(SCALE_STUDIES, name) ? SCALE_STUDIES[name] : undefined;
  if (!scale) return studyDefinition(name);
  const d = scale();
  validateStudyConfig(d.config);
  checkDefinition(d);
  return d;
}

function parse(argv: string[]): Args | 'list' | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: { study: { type: 'string' }, quick: { type: 'boolean' }, config: { type: 'string' }, name: { type: 'string' },
        out: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true, allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) return null;
  if (v.list) return 'list';
  if ((v.study === undefined) === (v.config === undefined)) throw new UsageError('give exactly one of --study NAME or --config FILE');
  if (!v.out || v.out.trim() === '') throw new UsageError('--out DIR is required');
  // Created and probed for writing before anything is computed; an empty folder has nothing to overwrite.
  try {
    prepareOutputDir(v.out);
  } catch (error) {
    throw new UsageError(`--out: ${(error as Error).message}`);
  }
  if (readdirSync(v.out).length > 0) throw new UsageError(`--out "${v.out}" is not empty`);
  const quick = v.quick ?? false;
  let definition: StudyDefinition;
  if (v.study !== undefined) {
    if (v.name !== undefined) throw new UsageError('--name goes with --config; a named study keeps its name');
    try {
      const base = namedDefinition(v.study);
      definition = quick ? quickDefinition(base) : base;
    } catch (error) {
      throw new UsageError(`--study: ${(error as Error).message}`);
    }
  } else {
    if (quick) throw new UsageError('--quick goes with --study');
    const name = v.name ?? 'custom';
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/i.test(name)) throw new UsageError(`--name must be letters, digits and dashes, got "${name}"`);
    let config: StudyConfig;
    try {
      const bytes = readFileBounded(v.config!, MAX_CONFIG_BYTES);
      config = checkedStudyConfig(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as object);
    } catch (error) {
      throw new UsageError(`--config: ${(error as Error).message.split('\n')[0]}`);
    }
    definition = definitionOfConfig(config, name);
  }
  const command = ['npm run export-study --', ...argv.filter((a) => a !== '--')].join(' ');
  return { definition, quick, out: v.out, command };
}

function readme(a: Args, units: number, parameters: number): string {
  const d = a.definition;
  const c = d.config;
  const est = computeEstimate(d);
  return `# ${d.title}

${d.question}

Exported by \`${a.command}\` for the PyTorch twin of the MEAP playground (python/meap_torch in the playground's
repository): ${c.arms.length} arms (mask ratios ${c.arms.join(', ')}; 0 = NTP) × ${c.seedsPerArm} seeds in ${units} unit(s),
${c.steps} steps of batch ${c.batch} × context ${c.model.context}, ${parameters.toLocaleString('en-US')} parameters per model;
≈ ${(est.trainFlops / 1e12).toFixed(3)} TFLOP of training in all${Object.hasOwn(SCALE_STUDIES, d.name) && !a.quick ? ` (${scaleStudyLine(d).split(', ').slice(-1)[0]})` : ''}.

- \`export.json\`: the study definition and each unit's config (unit u trains every arm × its seeds with baseSeed + u).
- \`init/unit-UU/seed-S.safetensors\`: the engine's initial weights of each unit seed (HF LLaMA tensor names, float32).

## Run it

Needs Python 3 with PyTorch (1.13 or 2.x) and the \`python/\` folder of the playground on PYTHONPATH; nothing needs Node.

    PYTHONPATH=path/to/playground/python python3 -m meap_torch.train .
    PYTHONPATH=path/to/playground/python torchrun --nproc_per_node 2 -m meap_torch.train .      # runs spread over ranks
    PYTHONPATH=path/to/playground/python python3 -m meap_torch.train . --device cuda [--bf16]    # on a GPU

It writes \`result/units/unit-UU.json\` and \`result/study.json\` (the engine's study record, with the attention
analyses of each trained model). Render the report with the playground:

    npm run reproduce -- --from result/study.json --out reports-twin
`;
}

function main(argv: string[]): number {
  let args: Args | 'list' | null;
  try {
    args = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`export-study: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (args === null) {
    console.log(USAGE);
    return 0;
  }
  if (args === 'list') {
    for (const name of Object.keys(SCALE_STUDIES)) console.log(scaleStudyLine(namedDefinition(name)));
    return 0;
  }
  const d = args.definition;
  const layout = parameterLayout(d.config.model);
  const units = unitCount(d);
  const unitEntries = Array.from({ length: units }, (_, u) => {
    const config = unitConfig(d, u);
    const initial = Array.from({ length: d.seedsPerUnit }, (_, s) => {
      const path = join('init', `unit-${String(u).padStart(2, '0')}`, `seed-${s}.safetensors`);
      mkdirSync(join(args.out, 'init', `unit-${String(u).padStart(2, '0')}`), { recursive: true });
      const params = initParameters(config.model, layout, deriveSeed(config.baseSeed, s, 'init'));
      writeFileSync(join(args.out, path), writeSafetensors(config.model, params, { study: config }));
      return path;
    });
    // The twin's units carry their own key: PyTorch computed them, not the engine, so reproduce never reuses one as its own.
    const key = JSON.stringify({ format: UNIT_FORMAT, engine: 'meap-torch', study: d.name, quick: args.quick, unit: u, config });
    return { unit: u, key, config, initial };
  });
  writeFileSync(join(args.out, 'export.json'), JSON.stringify({
    format: EXPORT_FORMAT, study: d.name, quick: args.quick, command: args.command, definition: d, units: unitEntries,
  }, null, 1) + '\n');
  writeFileSync(join(args.out, 'README.md'), readme(args, units, parameterCount(layout)));
  console.log(`wrote ${args.out}: ${d.name}${args.quick ? ' (quick)' : ''}, ${units} unit(s) × ${d.seedsPerUnit} seed(s) of initial weights; ` +
    `run: PYTHONPATH=python python3 -m meap_torch.train ${args.out}`);
  return 0;
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (error) {
  console.error(`export-study: ${(error as Error).message}`);
  process.exit(1);
}

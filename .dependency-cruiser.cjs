/**
 * The layering of src/ (ARCHITECTURE.md draws it), checked in `npm test` before the unit tests
 * (`npm run lint:layers`). Imports point down, never up, and never in a cycle:
 *
 *   main.tsx → ui → store → { study, session/client+protocol, config }      cli, bench: entry points on top
 *   study → engine ; session → engine, selftest, tuning, export
 *   engine → { config, data, analysis, model, reference, export, tuning, kernels, gpu }
 *   config → { model's pure files, data } ; model → kernels → gpu ; tuning → kernels
 *   reference, export, selftest: leaves beside model ; util: imported by anyone, imports nothing of ours
 *
 * Each layer lists what it may import (its own folder always); anything else under src/ is forbidden.
 * On the tree before the structural move (commit 91d099b) these rules report 238 violations; now 0.
 */
const ALLOWED = {
  util: [],
  gpu: ['util'],
  kernels: ['gpu', 'util'],
  tuning: ['kernels', 'gpu', 'util'],
  // The pure model files (shape, layout, init, memory plan) are what reference/, export/, data/ and config/ need.
  reference: ['model/(config|layout)\\.ts$', 'kernels', 'util'],
  model: ['kernels', 'gpu', 'util'],
  data: ['util'],
  analysis: ['util'],
  export: ['model/(config|layout)\\.ts$', 'kernels/ropeTables\\.ts$', 'reference', 'util'],
  selftest: ['kernels', 'reference', 'model', 'gpu', 'util'],
  config: ['model/(config|layout|memory)\\.ts$', 'data', 'util'],
  engine: ['config', 'data', 'analysis', 'model', 'reference', 'export', 'tuning', 'kernels', 'gpu', 'util'],
  session: ['engine', 'config', 'data', 'analysis', 'model', 'reference', 'export', 'selftest', 'tuning', 'kernels', 'gpu', 'util'],
  study: ['session/protocol\\.ts$', 'engine', 'config', 'data', 'analysis', 'model', 'reference', 'export', 'gpu', 'util'],
  // The page: it talks to the Worker (client, protocol types) and never builds tasks, models or engines; the
  // views use study/'s pure report code (statistics, formatting) but not its runners.
  store: ['session/(client|protocol|checkpointKeys|checkpointSummary)\\.ts$', 'study/(report|pageRecord|studyPresets|studies|stats)\\.ts$', 'config', 'analysis', 'util'],
  ui: ['store', 'session/(protocol|checkpointKeys)\\.ts$', 'study/(report|stats|studies|pageRecord)\\.ts$', 'config', 'analysis', 'util'],
  bench: ['engine', 'config', 'data', 'model', 'reference', 'tuning', 'kernels', 'gpu', 'util'],
  cli: ['bench', 'study', 'session', 'engine', 'config', 'data', 'analysis', 'model', 'reference', 'export', 'selftest', 'tuning', 'kernels', 'gpu', 'util'],
};

const layerRules = Object.entries(ALLOWED).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (and itself)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: [`^src/${layer}/`, ...allowed.map((a) => `^src/${a}`)] },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'no import cycles, type-only imports included', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'unknown-layer',
      comment: 'every folder under src/ is a layer listed in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: Object.keys(ALLOWED).map((l) => `^src/${l}/`) },
      to: {},
    },
    {
      name: 'entry-only-from-main',
      comment: 'src/main.tsx starts the page and imports ui/ and store/ only',
      severity: 'error',
      from: { path: '^src/main\\.tsx$' },
      to: { path: '^src/', pathNot: ['^src/(ui|store)/'] },
    },
    ...layerRules,
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '\\.(css|wgsl)$'] },
    includeOnly: '^src/',
  },
};

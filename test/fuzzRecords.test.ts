/**
 * Study records (`reproduce --from`, src/study/renderRecord.ts) checked like checkpoints: property tests
 * (fast-check, fixed seed) over a committed record with a field replaced by any value or removed. The check
 * either refuses with one line, or the record renders into a report with no NaN, Infinity, `undefined` or
 * `[object …]` in it and the seed count the record really holds. A partial record (some units) states its
 * own seed count, not its config's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { recordAsHeld, studyRecordIssue } from '../src/study/renderRecord';
import { analyseStudy, renderMarkdown, type StudyRecord } from '../src/study/report';
import { RETRIEVAL_TOKEN_NAMES } from '../src/data/retrievalTokens';

const committed = (): StudyRecord => JSON.parse(readFileSync('reports/needle-quick/study.json', 'utf8'));

/** Two units of the committed study: a partial record, small enough to analyse hundreds of times. */
function partial(): StudyRecord {
  const r = committed();
  r.units = r.units.slice(0, 2);
  return r;
}

/** Gives every run of the record the retrieval tasks' single-token split (made-up numbers of the right shape). */
function withTokens(record: StudyRecord): void {
  for (const run of record.units.flatMap((u) => u.runs)) {
    run.attention!.tokenNames = [...RETRIEVAL_TOKEN_NAMES];
    run.attention!.tokenMassByLayer = run.attention!.segmentMassByLayer.map((_, l) => [0.1, 0.05, 0.2 + run.seed * 1e-3, 0.1 * l, 0.3]);
  }
}

const PATHS = [
  'format', 'study', 'quick', 'definition', 'definition.config', 'definition.config.steps', 'definition.config.arms',
  'definition.learnedThreshold', 'definition.seedsForClaim', 'definition.seedsPerUnit', 'definition.title', 'definition.bucketLabel',
  'units', 'units.0', 'units.0.runs', 'units.0.runs.0', 'units.0.runs.0.arm', 'units.0.runs.0.maskRatio', 'units.0.runs.0.objective',
  'units.0.runs.0.seed', 'units.0.runs.0.history', 'units.0.runs.0.history.0', 'units.0.runs.0.history.0.step',
  'units.0.runs.0.history.1.trainLoss', 'units.0.runs.0.history.1.valLoss', 'units.0.runs.0.history.1.retrievalAcc',
  'units.1.runs.1.history.3.retrievalAcc', 'units.0.runs.0.history.1.accByDepth', 'units.0.runs.0.history.1.accByDepth.2',
  'units.0.runs.0.history.1.tokensPerSec', 'units.0.runs.0.attention', 'units.0.runs.0.attention.segmentMass',
  'units.0.runs.0.attention.segmentMass.1', 'units.0.runs.0.attention.scoreDecay', 'units.0.runs.0.attention.headEntropy.0.0',
  'units.1.runs.0.seed', 'units.1.runs.2.arm',
];

const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(1e999, -1e999, -1, 2, 1.5, 0, -0, 1e300, '', '0.5', 'abc', null, true, [], {}, [0.5, 0.5, 0.5, 0.5], 99999999),
);

function mutate(record: StudyRecord, path: string, value: unknown, remove: boolean): unknown {
  const copy = structuredClone(record) as unknown as Record<string, unknown>;
  const parts = path.split('.');
  let target = copy as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    const next = target[p];
    if (next === null || typeof next !== 'object') return copy;
    target = next as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  if (remove) delete target[last]; else target[last] = value;
  return copy;
}

function renderChecked(value: unknown): void {
  const { record, held } = recordAsHeld(value as StudyRecord);
  const summary = analyseStudy(record);
  const markdown = renderMarkdown(record, summary);
  expect(markdown).not.toMatch(/NaN|Infinity|undefined|\[object /);
  expect(markdown).toContain(`**${held} seeds per arm**`);
  for (const arm of summary.arms) expect(arm.seeds).toHaveLength(held);
}

describe('study records', () => {
  it('a mutated record is refused with one line, or renders with finite numbers and its own seed count', () => {
    const base = partial();
    let refused = 0;
    fc.assert(fc.property(fc.constantFrom(...PATHS), anyValue, fc.boolean(), (path, value, remove) => {
      const mutated = mutate(base, path, value, remove);
      const issue = studyRecordIssue(mutated);
      if (issue !== null) {
        expect(issue).toMatch(/^[^\n]+$/);
        refused++;
        return;
      }
      renderChecked(mutated);
    }), { seed: 0x5eed18, numRuns: 200 });
    expect(refused).toBeGreaterThan(100);
  });

  it('a partial record states the seeds it holds, not the ones its config planned', () => {
    const record = partial();
    expect(studyRecordIssue(record)).toBeNull();
    const held = recordAsHeld(record);
    expect(held.planned).toBe(committed().definition.config.seedsPerArm);
    expect(held.planned).toBeGreaterThan(held.held);
    expect(held.held).toBe(2 * record.definition.seedsPerUnit);
    renderChecked(record);
  });

  it('renders the single-token split when every run has it, and not when one run lacks it', () => {
    const record = partial();
    withTokens(record);
    expect(studyRecordIssue(record)).toBeNull();
    const markdown = renderMarkdown(record, analyseStudy(record));
    expect(markdown).toContain('| layer 1: needle value |');
    expect(markdown).toContain('| layer 0: query key (itself) |');
    delete record.units[1].runs[2].attention!.tokenNames;
    delete record.units[1].runs[2].attention!.tokenMassByLayer;
    expect(studyRecordIssue(record)).toBeNull();
    expect(renderMarkdown(record, analyseStudy(record))).not.toContain('needle value');
  });

  it.each([
    ['a non-numeric loss', (r: StudyRecord) => { (r.units[0].runs[0].history[1] as unknown as Record<string, unknown>).valLoss = 'abc'; }, /valLoss must be a finite number/],
    ['an infinite accuracy (1e999)', (r: StudyRecord) => { r.units[0].runs[0].history[1].accByDepth[0] = Infinity; }, /accByDepth must hold 4 numbers in \[0, 1\]/],
    ['an accuracy of 2', (r: StudyRecord) => { r.units[0].runs[0].history[1].retrievalAcc = 2; }, /retrievalAcc must be a number in \[0, 1\]/],
    ['steps out of order', (r: StudyRecord) => { r.units[0].runs[0].history[1].step = 1; }, /step must be a whole number after/],
    ['a seed given twice', (r: StudyRecord) => { r.units[1].runs[0].seed = r.units[0].runs[0].seed; }, /has seed \d+ twice/],
    ['arms holding different seeds', (r: StudyRecord) => { r.units[1].runs = r.units[1].runs.filter((x) => x.arm === 0); }, /every arm must hold the same seeds/],
    ['a mask ratio that is not its arm\'s', (r: StudyRecord) => { r.units[0].runs[0].maskRatio = 0.5; }, /maskRatio 0\.5 is not arm 0's 0/],
    ['an infinite attention number', (r: StudyRecord) => { r.units[0].runs[0].attention!.scoreDecay = Infinity; }, /attention\.scoreDecay must be a finite number/],
    ['token names without their mass', (r: StudyRecord) => { r.units[0].runs[0].attention!.tokenNames = ['a']; }, /tokenMassByLayer must be 2 × 1 numbers/],
    ['token mass without names', (r: StudyRecord) => { r.units[0].runs[0].attention!.tokenMassByLayer = [[0.5], [0.5]]; }, /tokenNames must be a list of names/],
    ['a key-swap share above 1', (r: StudyRecord) => { r.units[0].runs[0].attention!.keySwap = { clean: 0.5, swapped: 1.5 }; }, /keySwap must hold two shares/],
    ['token mass of the wrong shape', (r: StudyRecord) => {
      withTokens(r);
      r.units[0].runs[0].attention!.tokenMassByLayer = [[0.5, 0.5]];
    }, /tokenMassByLayer must be 2 × 5 numbers/],
  ])('refuses %s', (_, edit, reason) => {
    const record = partial();
    edit(record);
    expect(studyRecordIssue(record)).toMatch(reason);
  });
});

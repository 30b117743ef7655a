import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, niceTicks, stripChart } from '../src/study/svg';
import { STUDY_NAMES, computeEstimate, quickDefinition, studyDefinition, unitConfig, unitCount } from '../src/study/studies';
import { answerCorrect, answerRows, textProbeSet } from '../src/data/textProbe';
import { pairedMaskPositions } from '../src/study/runner';
import { charTokenizer } from '../src/data/charTokenizer';
import { CORPUS_CHARACTERS } from '../src/data/corpus';
import { Segment } from '../src/data/needleTask';
import { preset } from '../src/config/presets';
import { validateStudyConfig } from '../src/config/validate';

describe('SVG charts', () => {
  it('escapes every piece of text', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    const svg = lineChart({
      title: 'T < 2 & "x"', xLabel: 'step <x>', yLabel: 'acc & loss',
      series: [{ label: 'MEAP <15%>', colour: '#d97706', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }],
    });
    expect(svg).toContain('T &lt; 2 &amp; &quot;x&quot;');
    expect(svg).toContain('step &lt;x&gt;');
    expect(svg).toContain('MEAP &lt;15%&gt;');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 3000, 6)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(niceTicks(-0.03, 0.012, 5)).toEqual([-0.03, -0.02, -0.01, 0, 0.01]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('draws bands, lines split at NaN, and a legend without the hidden series', () => {
    const svg = lineChart({
      title: 't', xLabel: 'x', yLabel: 'y', xDomain: { min: 0, max: 3 }, yDomain: { min: 0, max: 1 },
      series: [
        { label: 'seed 0', colour: '#2563eb', width: 1, opacity: 0.3, hideInLegend: true, points: [{ x: 0, y: 0.1 }, { x: 1, y: Number.NaN }, { x: 2, y: 0.3 }, { x: 3, y: 0.4 }] },
        { label: 'NTP', colour: '#2563eb', width: 3, points: [{ x: 0, y: 0.2 }, { x: 3, y: 0.5 }] },
      ],
      bands: [{ colour: '#2563eb', points: [{ x: 0, lo: 0.1, hi: 0.3 }, { x: 3, lo: 0.4, hi: 0.6 }] }],
    });
    expect(svg).toContain('fill-opacity="0.15"');
    // The thin line restarts after its NaN point: two "M" commands in one path.
    const thin = svg.split('\n').find((l) => l.includes('stroke-width="1" stroke-opacity="0.3"'))!;
    expect(thin.match(/M/g)).toHaveLength(2);
    expect(svg).toContain('>NTP</text>');
    expect(svg).not.toContain('>seed 0</text>');
    expect(svg).not.toMatch(/NaN/);
  });

  it('bar charts skip missing values and draw error bars; strip charts one dot per value', () => {
    const svg = barChart({
      title: 'd', yLabel: 'v', categories: ['a', 'b'],
      groups: [{ label: 'g', colour: '#111111', values: [0.5, null], lo: [0.4, null], hi: [0.6, null] }, { label: 'h', colour: '#222222', values: [-0.2, 0.1] }],
    });
    expect(svg.match(/<rect x=/g)).toHaveLength(1 + 3 + 2); // background, 3 bars (one value missing), 2 legend boxes
    expect(svg.match(/stroke="#111827" stroke-width="1.2"/g)).toHaveLength(1);
    expect(svg).not.toMatch(/NaN/);
    const strip = stripChart({ title: 's', xLabel: 'step', xDomain: { min: 0, max: 100 }, rows: [{ label: 'NTP', colour: '#2563eb', values: [10, 10, 50], note: 'never: 1 of 4' }] });
    expect(strip.match(/<circle/g)).toHaveLength(3);
    expect(strip).toContain('never: 1 of 4');
  });
});

describe('study definitions', () => {
  it('define the issue\'s studies with at least 8 seeds per arm', () => {
    expect(STUDY_NAMES).toEqual(['needle-s', 'needle-quick', 'needle-quick-protect', 'needle-quick-shared', 'needle-quick-2k', 'needle-quick-long',
      'needle-quick-needle-visible', 'needle-quick-random', 'needle-quick-filler', 'needle-quick-protect-needle-key',
      'needle-quick-protect-needle-value', 'needle-quick-protect-query-marker', 'needle-quick-fresh',
      'needle-quick-fresh-protect-query-marker', 'needle-quick-sweep', 'needle-quick-ratio-20', 'needle-quick-high-ratios', 'sweep', 'long', 'pretrain-then-probe', 'qa-finetune-quick', 'qa-finetune']);
    // Issue 17: the needle-quick family at 64 seeds per arm, 512 evaluation prompts (balanced over 4 depth buckets), 200 attention examples.
    const quick = studyDefinition('needle-quick');
    expect([quick.config.seedsPerArm, quick.config.evaluation.count, quick.config.evaluation.buckets, quick.attentionExamples]).toEqual([64, 512, 4, 200]);
    // Every study's retrieval is scored on ≥ 500 prompts and its attention over ≥ 200 examples — except the committed
    // qa-finetune-quick, whose 96 prompts (≈ 290 answer tokens) are what its report was run with.
    for (const name of STUDY_NAMES.filter((n) => n !== 'qa-finetune-quick')) {
      const d = studyDefinition(name);
      expect(d.config.zeroShotProbe?.count ?? d.config.evaluation.count, name).toBeGreaterThanOrEqual(500);
      expect(d.attentionExamples, name).toBeGreaterThanOrEqual(200);
    }
        // needle-quick-long is needle-quick's schedule continued: only steps and the schedule's end differ.
    const long = studyDefinition('needle-quick-long').config;
    expect(long.optimizer.scheduleSteps).toBe(800);
    expect({ ...long, steps: 800, optimizer: { ...long.optimizer, scheduleSteps: undefined } })
      .toEqual({ ...quick.config, optimizer: { ...quick.config.optimizer, scheduleSteps: undefined } });
    // Each control differs from needle-quick in its mask policy only.
    for (const [name, change] of [['needle-quick-needle-visible', { protect: ['needle-key', 'needle-value'] }], ['needle-quick-random', { replace: 'random' }],
      ['needle-quick-filler', { replace: 'random-filler' }], ['needle-quick-protect-query-marker', { protect: ['query-marker'] }]] as const) {
      expect(studyDefinition(name).config, name).toEqual({ ...quick.config, ...change });
      expect(quickDefinition(studyDefinition(name)).config, `${name} --quick keeps the control`).toMatchObject(change);
    }
    // The fresh-seed replications differ from their studies in baseSeed only (docs/preregistration-query-attention.md).
    for (const [fresh, from] of [['needle-quick-fresh', 'needle-quick'], ['needle-quick-fresh-protect-query-marker', 'needle-quick-protect-query-marker']]) {
      const f = studyDefinition(fresh), o = studyDefinition(from);
      expect(f.config).toEqual({ ...o.config, baseSeed: o.config.baseSeed + 1000 });
      expect({ ...f, name: o.name, title: o.title, question: o.question, config: o.config }).toEqual(o);
    }
    // needle-quick-sweep: needle-quick on the paper's grid, 32 fresh seeds per arm.
    expect(studyDefinition('needle-quick-sweep').config).toEqual({ ...quick.config, arms: [0, 0.05, 0.1, 0.15, 0.2], seedsPerArm: 32, baseSeed: quick.config.baseSeed + 2000 });
    expect(studyDefinition('needle-quick-ratio-20').config).toEqual({ ...quick.config, arms: [0, 0.15, 0.2], baseSeed: quick.config.baseSeed + 3000 });
    expect(studyDefinition('needle-quick-high-ratios').config)
      .toEqual({ ...quick.config, arms: [0, 0.15, 0.2, 0.3, 0.4], baseSeed: quick.config.baseSeed + 4000 });
    // The protectQuery variant differs from needle-quick in that option only.
    expect({ ...studyDefinition('needle-quick-protect').config, protectQuery: undefined }).toEqual({ ...studyDefinition('needle-quick').config, protectQuery: undefined });
    expect(studyDefinition('needle-quick-protect').config.protectQuery).toBe(true);
    expect({ ...studyDefinition('needle-quick-shared').config, sharedMask: false }).toEqual(studyDefinition('needle-quick').config);
    expect({ ...studyDefinition('needle-quick-2k').config, steps: 800 }).toEqual(studyDefinition('needle-quick').config);
    for (const name of STUDY_NAMES) {
      const d = studyDefinition(name);
      expect(d.config.seedsPerArm).toBeGreaterThanOrEqual(8);
      expect(d.config.arms[0]).toBe(0);
      expect(unitCount(d) * d.seedsPerUnit).toBe(d.config.seedsPerArm);
      validateStudyConfig(d.config);
      validateStudyConfig(unitConfig(d, 1));
      const q = quickDefinition(d);
      validateStudyConfig(q.config);
      expect(q.config.seedsPerArm).toBe(2);
      expect(q.config.arms).toEqual(d.config.arms);
      expect(q.config.steps).toBeLessThanOrEqual(60);
      expect(unitCount(q)).toBe(2);
    }
    expect(studyDefinition('needle-s').config.arms).toEqual([0, 0.05, 0.15]);
    expect(studyDefinition('needle-s').config.model).toEqual(preset('needle-s').model);
    expect(studyDefinition('sweep').config.arms).toEqual([0, 0.05, 0.1, 0.15, 0.2]);
    expect(studyDefinition('long').config.model.context).toBeGreaterThanOrEqual(256);
    expect(studyDefinition('pretrain-then-probe').config.task).toBe('text');
    expect(studyDefinition('pretrain-then-probe').config.zeroShotProbe?.kind).toBe('text-needle');
    expect(() => studyDefinition('huge')).toThrow(/unknown study "huge"/);
  });

  it('gives each unit its own seeds, all arms together', () => {
    const d = studyDefinition('needle-s');
    expect(unitConfig(d, 0).baseSeed).toBe(d.config.baseSeed);
    expect(unitConfig(d, 1).baseSeed).toBe(d.config.baseSeed + 1);
    expect(unitConfig(d, 1).seedsPerArm).toBe(d.seedsPerUnit);
    expect(unitConfig(d, 1).arms).toEqual(d.config.arms);
  });

  it('estimates the issue\'s ≈ 80 TFLOP for needle-s with 2 arms × 8 seeds × 3000 steps', () => {
    const d = studyDefinition('needle-s');
    const two = computeEstimate({ ...d, config: { ...d.config, arms: [0, 0.15] } });
    expect(two.runs).toBe(16);
    expect(two.trainFlops / 1e12).toBeGreaterThan(70);
    expect(two.trainFlops / 1e12).toBeLessThan(100);
  });
});

describe('zero-shot text-needle probe', () => {
  const tokenizer = charTokenizer();
  const T = 256;
  const set = textProbeSet(tokenizer, 20, T, 5, 4242, 16);

  it('writes T + 1-character prompts in the corpus language, the answer copied from the needle', () => {
    expect(textProbeSet(tokenizer, 20, T, 5, 4242, 16)).toEqual(set);
    for (let i = 0; i < set.count; i++) {
      const text = set.texts[i];
      expect(text).toHaveLength(T + 1);
      for (const ch of text) expect(CORPUS_CHARACTERS).toContain(ch);
      const ids = set.tokens.subarray(i * (T + 1), (i + 1) * (T + 1));
      expect(tokenizer.decode(ids)).toBe(text);
      const segments = Array.from(set.segments.subarray(i * (T + 1), (i + 1) * (T + 1)));
      const pick = (s: number) => text.split('').filter((_, k) => segments[k] === s).join('');
      const needle = pick(Segment.NEEDLE);
      const answer = pick(Segment.ANSWER);
      const [, name, town] = /^(\w+) lives in (\w+)\.$/.exec(needle)!;
      expect(answer).toBe(town);
      expect(pick(Segment.QUERY)).toBe(`Where does ${name} live? ${name} lives in `);
      expect(text.endsWith(answer)).toBe(true);
      expect(set.answerStart[i]).toBe(T + 1 - answer.length);
      // The target person is named only in the needle and the query.
      expect(text.split(name).length - 1).toBe(3);
      expect(set.buckets[i]).toBe(i % 5);
      expect(Math.min(4, Math.floor(set.depths[i] * 5))).toBe(set.buckets[i]);
      expect(answerRows(set, i)).toEqual(Array.from({ length: answer.length }, (_, k) => T - answer.length + k));
    }
  });

  it('scores an answer right only when every character is the argmax', () => {
    const V = tokenizer.size;
    const rows = answerRows(set, 0);
    const logits = new Float32Array(rows.length * V);
    rows.forEach((row, k) => { logits[k * V + set.tokens[row + 1]] = 5; });
    expect(answerCorrect(set, 0, logits, V)).toBe(true);
    logits[(rows.length - 1) * V + 4] = 9;
    expect(answerCorrect(set, 0, logits, V)).toBe(false);
  });

  it('the paired analysis never masks the query and masks 15% of T', () => {
    const segments = Array.from(set.segments.subarray(0, T));
    const answerPosition = set.answerStart[0] - 1;
    const masked = pairedMaskPositions(segments, answerPosition, T, 7);
    expect(masked).toHaveLength(Math.floor(0.15 * T));
    expect(new Set(masked).size).toBe(masked.length);
    for (const t of masked) {
      expect(t).toBeLessThanOrEqual(answerPosition);
      expect(segments[t]).not.toBe(Segment.QUERY);
    }
    expect(pairedMaskPositions(segments, answerPosition, T, 7)).toEqual(masked);
  });

  it('plain text (one segment throughout) still masks ⌊0.15·T⌋ positions before the answer, never the answer', () => {
    const T = 40, answerPosition = T - 1;
    const masked = pairedMaskPositions(new Array(T).fill(0), answerPosition, T, 3);
    expect(masked).toHaveLength(Math.floor(0.15 * T));
    for (const t of masked) expect(t).toBeLessThan(answerPosition);
  });
});

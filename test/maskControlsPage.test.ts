/** The mask-policy options (replace, protect) in the page's controls, URL and command line (src/store/configCodec.ts). */
import { describe, expect, it } from 'vitest';
import {
  applyEdit, changedFields, configFromQuery, configToQuery, editableValues, maskOptionsOfTask, presetConfig, PROTECT_VALUES, REPLACE_VALUES,
} from '../src/store/configCodec';
import { cliCommand } from '../src/ui/controls/cliCommand';
import { validateStudyConfig } from '../src/config/validate';
import { MASK_REPLACEMENTS } from '../src/data/maskPolicy';
import { PROTECTED_SEGMENTS } from '../src/data/protectedSegments';
import { parseCompareArgs } from '../src/cli/args';

const tiny = () => presetConfig('tiny'); // needle
/** A study preset with the page's seed limit (the studies run 64 seeds; the page's controls take 16). */
const study = (name: string) => applyEdit(name, presetConfig(name), 'seedsPerArm', 2);

describe('mask options in the codec', () => {
  it('lists the values of src/data in their order', () => {
    expect(REPLACE_VALUES).toEqual([...MASK_REPLACEMENTS]);
    expect(PROTECT_VALUES).toEqual([...PROTECTED_SEGMENTS]);
  });

  it('edits: absent means the paper\'s policy, segments in one order', () => {
    const filler = applyEdit('tiny', tiny(), 'replace', 'random-filler');
    expect(filler.replace).toBe('random-filler');
    expect(applyEdit('tiny', filler, 'replace', 'mask')).not.toHaveProperty('replace');
    const two = applyEdit('tiny', tiny(), 'protect', ['needle-value', 'needle-key', 'needle-value']);
    expect(two.protect).toEqual(['needle-key', 'needle-value']);
    expect(applyEdit('tiny', two, 'protect', [])).not.toHaveProperty('protect');
    expect(editableValues('tiny', two)).toMatchObject({ replace: 'mask', protect: ['needle-key', 'needle-value'] });
    expect(changedFields('tiny', tiny(), 'tiny', applyEdit('tiny', two, 'replace', 'random'))).toEqual(['replace', 'protect']);
    expect(() => applyEdit('tiny', tiny(), 'replace', 'blank' as never)).toThrow(/masked inputs become one of mask, random, random-filler/);
    expect(() => applyEdit('tiny', tiny(), 'protect', ['needle-key', 'haystack'] as never)).toThrow(/protected segments are/);
  });

  it('refuses a clash with the rest of the study with the validation\'s reason, whichever is set last', () => {
    const shared = applyEdit('tiny', tiny(), 'sharedMask', true);
    expect(() => applyEdit('tiny', shared, 'protect', ['needle-key'])).toThrow(/turn off sharedMask/);
    const protectedKey = applyEdit('tiny', tiny(), 'protect', ['needle-key']);
    expect(() => applyEdit('tiny', protectedKey, 'sharedMask', true)).toThrow(/turn off sharedMask/);
    expect(maskOptionsOfTask('needle')).toEqual({ filler: true, protect: true });
    expect(maskOptionsOfTask('text')).toEqual({ filler: false, protect: false });
  });

  it('a switch to the text task drops the options it lacks; random tokens stay', () => {
    const edited = applyEdit('tiny', applyEdit('tiny', tiny(), 'replace', 'random-filler'), 'protect', ['query-key']);
    const text = applyEdit('tiny', edited, 'task', 'text');
    expect(text).not.toHaveProperty('replace');
    expect(text).not.toHaveProperty('protect');
    validateStudyConfig(text);
    expect(applyEdit('tiny', applyEdit('tiny', tiny(), 'replace', 'random'), 'task', 'text').replace).toBe('random');
    expect(applyEdit('tiny', edited, 'task', 'recall')).toMatchObject({ replace: 'random-filler', protect: ['query-key'] });
  });
});

describe('mask options in the URL', () => {
  it('round-trip compactly and stay out of the paper\'s links', () => {
    expect(configToQuery('tiny', tiny())).not.toMatch(/replace|protect=/);
    const config = applyEdit('tiny', applyEdit('tiny', tiny(), 'replace', 'random-filler'), 'protect', ['needle-value', 'needle-key']);
    const query = configToQuery('tiny', config, 'replace=random&protect=query-key&head=2');
    const params = new URLSearchParams(query);
    expect(params.get('replace')).toBe('random-filler');
    expect(params.get('protect')).toBe('needle-key,needle-value');
    expect(params.get('head')).toBe('2');
    const parsed = configFromQuery(`?${query}`);
    expect(parsed.notices).toEqual([]);
    expect(parsed.config).toEqual(config);
    // Back to the paper's policy: the parameters leave the URL.
    expect(configToQuery('tiny', tiny(), query)).not.toMatch(/replace|protect=/);
  });

  it('a study preset with an option says "back to the paper" explicitly', () => {
    for (const [name, field] of [['study:needle-quick-filler', 'replace'], ['study:needle-quick-needle-visible', 'protect']] as const) {
      const paper = applyEdit(name, study(name), field, field === 'replace' ? 'mask' : []);
      const query = configToQuery(name, paper);
      expect(new URLSearchParams(query).get(field)).toBe(field === 'replace' ? 'mask' : 'none');
      const parsed = configFromQuery(`?${query}`);
      expect(parsed.notices).toEqual([]);
      expect(parsed.config).toEqual(paper);
    }
    // A shared mask instead of the needle-visible study's protected needle, the link's values in any order.
    const swapped = applyEdit('study:needle-quick-needle-visible',
      applyEdit('study:needle-quick-needle-visible', study('study:needle-quick-needle-visible'), 'protect', []), 'sharedMask', true);
    const again = configFromQuery(`?${configToQuery('study:needle-quick-needle-visible', swapped)}`);
    expect(again.notices).toEqual([]);
    expect(again.config).toEqual(swapped);
  });

  it('refuses garbage and clashes with a notice, keeping a valid study', () => {
    const bad = configFromQuery('?preset=tiny&replace=blank&protect=needle-key,haystack');
    expect(bad.notices).toEqual([
      'Ignored replace="blank" from the link: replace must be one of mask, random, random-filler.',
      'Ignored protect="needle-key,haystack" from the link: protect must be none or a list of needle-key, needle-value, query-marker, query-key.',
    ]);
    expect(bad.config).toEqual(tiny());
    const clash = configFromQuery('?preset=tiny&protect=needle-key&sharedMask=1');
    expect(clash.notices).toHaveLength(1);
    expect(clash.notices[0]).toMatch(/^Ignored protect="needle-key" from the link: protect keeps positions .* turn off sharedMask\.$/);
    expect(clash.config).toEqual(applyEdit('tiny', tiny(), 'sharedMask', true));
    const text = configFromQuery('?preset=tiny&task=text&replace=random-filler');
    expect(text.notices[0]).toMatch(/^Ignored replace="random-filler" from the link: replace: random-filler needs a task with filler words/);
    validateStudyConfig(text.config);
    // The link's sharedMask clashes with the study preset's protected needle: the link's value is refused.
    const preset = configFromQuery('?preset=study:needle-quick-needle-visible&seedsPerArm=2&sharedMask=1');
    expect(preset.notices).toHaveLength(1);
    expect(preset.notices[0]).toMatch(/^Ignored sharedMask="1" from the link: .*turn off sharedMask/);
    expect(preset.config).toEqual(study('study:needle-quick-needle-visible'));
  });
});

describe('mask options on the command line', () => {
  it('--replace MODE and --protect SEG,SEG, which npm run compare reads back to the same study', () => {
    expect(cliCommand('tiny', tiny())).not.toMatch(/--replace|--protect /);
    const config = applyEdit('tiny', applyEdit('tiny', tiny(), 'replace', 'random'), 'protect', ['query-marker', 'needle-value']);
    const command = cliCommand('tiny', config)!;
    expect(command).toContain('--replace random --protect needle-value,query-marker');
    expect(parseCompareArgs(command.replace('npm run compare -- ', '').split(' ')).config).toEqual(config);
    const filler = applyEdit('quick', presetConfig('quick'), 'replace', 'random-filler');
    expect(cliCommand('quick', filler)).toMatch(/--replace random-filler$/);
    // An edited control study (its 512-prompt evaluation is not the quick preset's 40): --eval-count carries it.
    const edited = applyEdit('study:needle-quick-filler', study('study:needle-quick-filler'), 'steps', 100);
    const line = cliCommand('study:needle-quick-filler', edited)!;
    expect(line).toContain('--eval-count 512');
    expect(line).toContain('--replace random-filler');
    expect(parseCompareArgs(line.replace('npm run compare -- ', '').split(' ')).config).toEqual(edited);
  });
});

/** The fine-tuning settings in the page's controls and URL (src/store/configCodec.ts, issue 13 item 4). */
import { describe, expect, it } from 'vitest';
import { applyEdit, changedFields, configFromQuery, configToQuery, presetConfig } from '../src/store/configCodec';
import { validateStudyConfig } from '../src/config/validate';

describe('fine-tuning fields in the URL', () => {
  it('round-trip a qa study with its fine-tuning stage and edits of every field', () => {
    let config = presetConfig('qa-tiny');
    config = applyEdit('qa-tiny', config, 'finetune', ['meap-sft-all', 'sft', 'meap-sft']);
    expect(config.finetune!.variants).toEqual(['sft', 'meap-sft', 'meap-sft-all']);
    config = applyEdit('qa-tiny', config, 'finetuneSteps', 10);
    expect(config.finetune!.warmupSteps).toBe(1);
    config = applyEdit('qa-tiny', config, 'finetuneLr', 0.002);
    config = applyEdit('qa-tiny', config, 'maskFraction', 0.25);
    config = applyEdit('qa-tiny', config, 'minAnswer', 2);
    const query = configToQuery('qa-tiny', config);
    expect(query).toContain('finetune=sft,meap-sft,meap-sft-all');
    expect(query).toContain('finetuneSteps=10');
    const parsed = configFromQuery(`?${query}`);
    expect(parsed.notices).toEqual([]);
    expect(parsed.config).toEqual(config);
    validateStudyConfig(parsed.config);
    expect(changedFields('qa-tiny', presetConfig('qa-tiny'), 'qa-tiny', config)).toEqual(['finetune', 'finetuneSteps', 'finetuneLr', 'maskFraction', 'minAnswer']);
  });

  it('finetune=none removes the stage (and says so in the URL); other tasks carry no fine-tuning fields', () => {
    const none = applyEdit('qa-tiny', presetConfig('qa-tiny'), 'finetune', []);
    expect(none.finetune).toBeUndefined();
    const query = configToQuery('qa-tiny', none, 'finetuneSteps=5&head=1');
    expect(new URLSearchParams(query).get('finetune')).toBe('none');
    expect(new URLSearchParams(query).has('finetuneSteps')).toBe(false);
    expect(configFromQuery(`?${query}`).config).toEqual(none);
    expect(() => applyEdit('qa-tiny', none, 'finetuneSteps', 5)).toThrow(/needs a fine-tuning stage/);
    // Choosing a variant again brings the preset's settings back.
    expect(applyEdit('qa-tiny', none, 'finetune', ['sft']).finetune).toEqual({ ...presetConfig('qa-tiny').finetune, variants: ['sft'] });
    const tinyQuery = configToQuery('tiny', presetConfig('tiny'), query);
    for (const field of ['finetune', 'finetuneSteps', 'finetuneLr', 'maskFraction', 'minAnswer']) expect(new URLSearchParams(tinyQuery).has(field)).toBe(false);
    expect(() => applyEdit('tiny', presetConfig('tiny'), 'finetune', ['sft'])).toThrow(/only the qa task/);
  });

  it('a link with small fine-tuning settings (what e2e/finetune.spec.ts opens), and refused values with notices', () => {
    const parsed = configFromQuery('?preset=qa-tiny&steps=20&evalEvery=10&finetuneSteps=10&finetune=sft,meap-sft');
    expect(parsed.notices).toEqual([]);
    expect(parsed.config.finetune).toMatchObject({ variants: ['sft', 'meap-sft'], steps: 10 });
    const bad = configFromQuery('?preset=qa-tiny&finetune=sft,rlhf&maskFraction=1.5&minAnswer=0&finetuneLr=x');
    expect(bad.notices).toHaveLength(4);
    expect(bad.config).toEqual(presetConfig('qa-tiny'));
    const other = configFromQuery('?preset=tiny&finetune=sft');
    expect(other.notices[0]).toMatch(/^Ignored finetune="sft" from the link: only the qa task/);
  });

  it('the task switch to qa brings the fine-tuning stage, and away from qa drops it', () => {
    const qa = applyEdit('tiny', presetConfig('tiny'), 'task', 'qa');
    expect(qa.finetune).toEqual(presetConfig('qa-tiny').finetune);
    const back = applyEdit('tiny', qa, 'task', 'needle');
    expect(back.finetune).toBeUndefined();
  });
});

describe('the page\'s command line of a qa study', () => {
  it('names the fine-tuning stage, and npm run compare builds the same config from it', async () => {
    const { cliCommand } = await import('../src/ui/controls/cliCommand');
    const { parseCompareArgs } = await import('../src/cli/args');
    let config = presetConfig('qa-tiny');
    config = applyEdit('qa-tiny', config, 'steps', 40);
    config = applyEdit('qa-tiny', config, 'finetune', ['sft', 'meap-sft-all']);
    config = applyEdit('qa-tiny', config, 'finetuneSteps', 30);
    config = applyEdit('qa-tiny', config, 'maskFraction', 0.2);
    for (const c of [config, applyEdit('qa-tiny', config, 'finetune', [])]) {
      const command = cliCommand('qa-tiny', c)!;
      expect(command).toContain(c.finetune ? '--finetune sft,meap-sft-all --finetune-steps 30' : '--finetune none');
      const argv = command.replace('npm run compare -- ', '').split(' ');
      expect(parseCompareArgs(argv).config).toEqual(c);
    }
  });
});

// The preset-link codec as the CLI uses it today (issue "Preset links" extends it for the app).
import { describe, expect, it } from 'vitest';
import { defaultConfig, FIELDS } from '../src/engine/config';
import { decodeLink, encodeLink } from '../src/share/link';
import { PRESETS } from '../src/presets';

describe('preset links', () => {
  it('encodes only non-defaults plus v, and decodes to the same config', () => {
    const config = { ...defaultConfig(), task: 'sort' as const, seed: 7, learningRate: 0.0003, adaptiveKl: true };
    const link = encodeLink(config, { hide: ['beta', 'clipEpsilon'] });
    expect(link).toBe('#v=1&task=sort&learningRate=0.0003&adaptiveKl=true&seed=7&hide=beta%2CclipEpsilon');
    const decoded = decodeLink(`https://example.org/${link}`);
    expect(decoded.config).toEqual(config);
    expect(decoded.hide).toEqual(['beta', 'clipEpsilon']);
    expect(decoded.notices).toEqual([]);
  });

  it('reads the DESIGN §6 example with its short aliases', () => {
    const decoded = decodeLink('#v=1&task=sort&algo=ppo&seed=7&lr=0.0003&hide=beta,clip');
    expect(decoded.config).toMatchObject({ task: 'sort', algorithm: 'ppo', seed: 7, learningRate: 0.0003 });
    expect(decoded.hide).toEqual(['beta', 'clipEpsilon']);
    expect(decoded.notices).toEqual([]);
  });

  it('turns unknown keys, bad numbers, out-of-range values, broken encoding and newer versions into notices', () => {
    const decoded = decodeLink(
      '#v=9&colour=red&lr=NaN&batchSize=999999&task=%E0%A4%A&seed=1&seed=2&title=<script>x</script>',
    );
    expect(decoded.config.learningRate).toBe(0.003);
    expect(decoded.config.batchSize).toBe(1024);
    expect(decoded.config.task).toBe('reverse');
    expect(decoded.config.seed).toBe(2);
    expect(decoded.title).toBe('<script>x</script>'); // plain text: the app never renders it as HTML
    const text = decoded.notices.join('\n');
    expect(text).toMatch(/newer version \(v=9\)/);
    expect(text).toMatch(/Unknown setting "colour"/);
    expect(text).toMatch(/"NaN" is not a finite number/);
    expect(text).toMatch(/999999 is outside 2…1024; using 1024/);
    expect(text).toMatch(/broken percent-encoding/);
    expect(text).toMatch(/"seed" appears more than once/);
  });

  it('every built-in preset decodes without notices', () => {
    for (const preset of PRESETS) expect(decodeLink(preset.link).notices, preset.name).toEqual([]);
  });

  it('every schema key survives a round trip at a non-default value', () => {
    for (const field of FIELDS) {
      const config = defaultConfig() as unknown as Record<string, unknown>;
      if (field.kind === 'number') config[field.key] = field.default === field.max ? field.min : field.max;
      if (field.kind === 'boolean') config[field.key] = !field.default;
      if (field.kind === 'choice') config[field.key] = field.choices.find((c) => c !== field.default);
      if (field.kind === 'string') config[field.key] = 'ab';
      const decoded = decodeLink(encodeLink(config));
      expect(decoded.config[field.key], field.key).toEqual(config[field.key]);
    }
  });
});

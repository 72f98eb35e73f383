// The preset-link codec (docs/reference.md §6): exact round trips for every knob and preset, and for each kind of
// malformed link the notice a student sees and a config that validate() accepts as it is.
import { describe, expect, it } from 'vitest';
import { defaultConfig, FIELDS, validate, type Config } from '../src/engine/config';
import {
  decodeLink,
  defaultsOfVersion,
  encodeLink,
  LINK_LIMITS,
  LINK_VERSION,
  type DecodedLink,
} from '../src/share/link';
import { PRESETS } from '../src/presets';

const UNSAFE =
  // eslint-disable-next-line no-control-regex -- notices and titles must not carry control characters
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Decodes, and checks what every decoded link must satisfy, malformed or not. */
function decodeOk(link: unknown): DecodedLink {
  const decoded = decodeLink(link as string);
  expect(validate(decoded.config).problems).toEqual([]);
  expect(Object.keys(decoded.config).sort()).toEqual(FIELDS.map((f) => f.key).sort());
  expect(decoded.title.length).toBeLessThanOrEqual(LINK_LIMITS.maxTitleLength);
  expect(decoded.notices.length).toBeLessThanOrEqual(LINK_LIMITS.maxNotices);
  for (const notice of decoded.notices) {
    expect(notice).not.toMatch(UNSAFE);
    expect(notice).not.toMatch(/could not be read/);
  }
  expect(decoded.title).not.toMatch(UNSAFE);
  return decoded;
}

const withConfig = (patch: Partial<Config>): Config => ({ ...defaultConfig(), ...patch });

describe('encoding', () => {
  it('writes only non-defaults plus v, and decodes to the same config', () => {
    const config = withConfig({ task: 'sort', seed: 7, learningRate: 0.0003, adaptiveKl: true });
    const link = encodeLink(config, { hide: ['beta', 'clipEpsilon'] });
    expect(link).toBe('#v=4&task=sort&learningRate=0.0003&adaptiveKl=true&seed=7&hide=beta,clipEpsilon');
    const decoded = decodeOk(`https://example.org/${link}`);
    expect(decoded.config).toEqual(config);
    expect(decoded.hide).toEqual(['beta', 'clipEpsilon']);
    expect(decoded.notices).toEqual([]);
  });

  it('omits defaults: the default config is just the version', () => {
    expect(encodeLink(defaultConfig())).toBe('#v=4');
    expect(encodeLink({})).toBe('#v=4');
    expect(encodeLink(defaultConfig(), { hide: [], autoplay: false, title: '' })).toBe('#v=4');
    expect(encodeLink(withConfig({ targetKl: -0 }))).toBe('#v=4');
  });

  it('writes hide (canonical, known, once each), autoplay and an escaped plain-text title', () => {
    const link = encodeLink(defaultConfig(), {
      hide: ['clip', 'beta', 'nope', 'beta'],
      autoplay: true,
      title: 'Sort & reverse (part 1): 100% ~ a+b\n\ud800',
    });
    expect(link).toBe('#v=4&hide=clipEpsilon,beta&autoplay=1&title=Sort+%26+reverse+%28part+1%29%3A+100%25+%7E+a%2Bb');
    const decoded = decodeOk(link);
    expect(decoded).toMatchObject({ hide: ['clipEpsilon', 'beta'], autoplay: true, notices: [] });
    expect(decoded.title).toBe('Sort & reverse (part 1): 100% ~ a+b');
  });

  it('reads the example of docs/reference.md §6 with its short aliases', () => {
    const decoded = decodeOk('#v=4&task=sort&algo=ppo&seed=7&lr=0.0003&hide=beta,clip');
    expect(decoded.config).toMatchObject({ task: 'sort', algorithm: 'ppo', seed: 7, learningRate: 0.0003 });
    expect(decoded.hide).toEqual(['beta', 'clipEpsilon']);
    expect(decoded.notices).toEqual([]);
  });

  it('accepts a full URL with a query, a bare query and a bare hash body', () => {
    for (const link of ['https://x.org/app/?backend=wasm#v=4&seed=7', '?v=1&seed=7', 'v=1&seed=7', '#seed=7']) {
      const decoded = decodeOk(link);
      expect(decoded.config.seed, link).toBe(7);
      expect(decoded.notices, link).toEqual([]);
    }
    expect(decodeOk('v=1&title=Why?').title).toBe('Why?');
  });
});

describe('round trips', () => {
  /** Values to try for one field: both ends of its range, or every non-default choice / boolean. */
  function valuesFor(field: (typeof FIELDS)[number]): unknown[] {
    switch (field.kind) {
      case 'number':
        return [field.min, field.max];
      case 'choice':
        return field.choices.filter((c) => c !== field.default);
      case 'boolean':
        return [!field.default];
      case 'string':
        return ['a', 'ab', 'a'.repeat(field.maxLength)];
    }
  }
  const cases = FIELDS.flatMap((field) => valuesFor(field).map((value) => [field.key, value] as const));

  it.each(cases)('%s = %s survives encode → decode exactly', (key, value) => {
    // Some ends of a range need a repair elsewhere (promptLength 12 needs more new tokens): validate first.
    const { config } = validate({ [key]: value });
    const link = encodeLink(config);
    if (config[key] !== defaultConfig()[key]) expect(link).toContain(`${key}=${String(config[key])}`);
    const decoded = decodeOk(link);
    expect(decoded.notices).toEqual([]);
    expect(decoded.config).toEqual(config);
    expect(encodeLink(decoded.config)).toBe(link);
  });

  it('covers every schema field', () => {
    expect(new Set(cases.map(([key]) => key))).toEqual(new Set(FIELDS.map((f) => f.key)));
  });

  it('keeps numbers exact (String(n) is the shortest text that reads back as n)', () => {
    const numbers: Partial<Config>[] = [
      { learningRate: 0.1 + 0.2 - 0.3 + 0.001 },
      { learningRate: 1e-6 },
      { learningRate: Math.SQRT2 / 1e5 },
      { beta: 1 / 3 },
      { gamma: 0.9999999999999999 },
      { klTarget: 5e-3 },
      { temperature: Math.PI },
      { seed: 2 ** 31 - 1 },
      { klHorizon: 1e6 },
    ];
    for (const patch of numbers) {
      const config = withConfig(patch);
      const decoded = decodeOk(encodeLink(config));
      expect(decoded.notices).toEqual([]);
      for (const [key, value] of Object.entries(patch))
        expect(Object.is(decoded.config[key as keyof Config], value)).toBe(true);
    }
  });

  it('every built-in preset decodes without notices, and decode → encode → decode gives the same config', () => {
    const links = PRESETS.flatMap((preset) => [
      [preset.name, preset.link] as const,
      ...((preset as { arms?: { label: string; link: string }[] }).arms ?? []).map(
        (arm) => [`${preset.name}/${arm.label}`, arm.link] as const,
      ),
    ]);
    expect(links.length).toBeGreaterThan(0);
    for (const [name, link] of links) {
      const first = decodeOk(link);
      expect(first.notices, name).toEqual([]);
      const again = encodeLink(first.config, { hide: first.hide, autoplay: first.autoplay, title: first.title });
      const second = decodeOk(again);
      expect(second.notices, name).toEqual([]);
      expect(second.config, name).toEqual(first.config);
      expect({ hide: second.hide, autoplay: second.autoplay, title: second.title }, name).toEqual({
        hide: first.hide,
        autoplay: first.autoplay,
        title: first.title,
      });
      expect(encodeLink(second.config, second), name).toBe(again);
    }
  });
});

describe('malformed links: a notice and a safe value', () => {
  it('an unknown key is ignored, with a hint when only the case is wrong', () => {
    expect(decodeOk('#v=4&colour=red').notices).toEqual(['Unknown setting "colour" ignored.']);
    const decoded = decodeOk('#v=4&Seed=7&LR=0.1');
    expect(decoded.config).toEqual(defaultConfig());
    expect(decoded.notices).toEqual([
      'Unknown setting "Seed" ignored; did you mean "seed"?',
      'Unknown setting "LR" ignored; did you mean "learningRate"?',
    ]);
    expect(decodeOk('#v=4&=5').notices).toEqual(['A value with no setting name ("5") was ignored.']);
  });

  it('Object.prototype names are unknown keys, not inherited properties', () => {
    const decoded = decodeOk('#v=4&constructor=1&__proto__=2&toString=3&hasOwnProperty=4&hide=constructor');
    expect(decoded.config).toEqual(defaultConfig());
    expect(decoded.hide).toEqual([]);
    expect(decoded.notices).toEqual([
      'hide: "constructor" is not a setting; ignored.',
      'Unknown setting "constructor" ignored.',
      'Unknown setting "__proto__" ignored.',
      'Unknown setting "toString" ignored.',
      'Unknown setting "hasOwnProperty" ignored.',
    ]);
  });

  it('a bad number falls back to the default', () => {
    const decoded = decodeOk('#v=4&lr=abc&seed=&batchSize=12abc');
    expect(decoded.config).toMatchObject({ learningRate: 0.001, seed: 1, batchSize: 128 });
    expect(decoded.notices).toEqual([
      'Learning rate (learningRate): "abc" is not a finite number; using 0.001.',
      'Batch size (batchSize): "12abc" is not a finite number; using 128.',
      'Seed (seed): "" is not a finite number; using 1.',
    ]);
  });

  it('NaN and ±Infinity fall back to the default', () => {
    const decoded = decodeOk('#v=4&lr=NaN&beta=Infinity&gamma=-Infinity&seed=1e999');
    expect(decoded.config).toMatchObject({ learningRate: 0.001, beta: 0.05, gamma: 1, seed: 1 });
    expect(decoded.notices).toEqual([
      'γ (discount) (gamma): "-Infinity" is not a finite number; using 1.',
      'Learning rate (learningRate): "NaN" is not a finite number; using 0.001.',
      'β (KL penalty) (beta): "Infinity" is not a finite number; using 0.05.',
      'Seed (seed): "1e999" is not a finite number; using 1.',
    ]);
  });

  it('an out-of-range value is clamped; a fraction for a whole-number setting is rounded', () => {
    const decoded = decodeOk('#v=4&batchSize=999999&lr=-1&seed=7.5');
    expect(decoded.config).toMatchObject({ batchSize: 1024, learningRate: 1e-6, seed: 8 });
    expect(decoded.notices).toEqual([
      'Learning rate (learningRate): -1 is outside 0.000001…0.1; using 0.000001.',
      'Batch size (batchSize): 999999 is outside 2…1024; using 1024.',
      'Seed (seed): 7.5 must be a whole number; using 8.',
    ]);
  });

  it('an unknown choice, a bad boolean or a bad target word falls back to the default', () => {
    const decoded = decodeOk('#v=4&task=sorting&adaptiveKl=yes&targetWord=xyz');
    expect(decoded.config).toMatchObject({ task: 'reverse', adaptiveKl: false, targetWord: 'bad' });
    expect(decoded.notices).toEqual([
      'Task (task): "sorting" is not one of target, reverse, sort, preference, guess, calculator, retry, chain; using reverse.',
      'Target word (targetWord): "xyz" is not allowed (letters a–p, at most 12); using "bad".',
      'Adaptive β (adaptiveKl): "yes" is not true or false; using false.',
    ]);
  });

  it('a value that breaks a rule between settings is repaired', () => {
    const decoded = decodeOk('#v=4&dModel=30&nHeads=4');
    expect(decoded.config).toMatchObject({ dModel: 30, nHeads: 3 });
    expect(decoded.notices).toEqual(['Attention heads (nHeads): 4 does not divide width 30; using 3.']);
  });

  it('a duplicated key (also through an alias) uses the last value, with one notice', () => {
    const decoded = decodeOk('#v=4&seed=1&seed=2&seed=3&lr=0.01&learningRate=0.02&title=a&title=b');
    expect(decoded.config).toMatchObject({ seed: 3, learningRate: 0.02 });
    expect(decoded.title).toBe('b');
    expect(decoded.notices).toEqual([
      'Seed (seed) appears 3 times; the last value ("3") was used.',
      'Learning rate (learningRate) appears 2 times; the last value ("0.02") was used.',
      'title appears 2 times; the last value ("b") was used.',
    ]);
  });

  describe('a 100 KB link', () => {
    const time = (f: () => void): number => {
      const start = performance.now();
      f();
      return performance.now() - start;
    };

    it('is cut to its first 8192 characters; the head is still read, fast', () => {
      const link = `#v=4&seed=7&title=${'A'.repeat(100_000)}`;
      let decoded: DecodedLink | undefined;
      const ms = time(() => (decoded = decodeOk(link)));
      expect(decoded!.config.seed).toBe(7);
      expect(decoded!.title).toBe('A'.repeat(LINK_LIMITS.maxTitleLength));
      expect(decoded!.notices).toEqual([
        `The link is too long (${link.length} characters); only the first 8192 were read.`,
      ]);
      expect(ms).toBeLessThan(100);
    });

    it('drops the setting cut off at the limit rather than read half of it', () => {
      const link = `#v=4&seed=7&title=${'A'.repeat(8100)}&batchSize=${'1'.repeat(100_000)}`;
      const decoded = decodeOk(link);
      expect(decoded.config).toMatchObject({ seed: 7, batchSize: 128 });
      expect(decoded.notices).toEqual([
        'The title is too long; it was cut to 120 characters.',
        `The link is too long (${link.length} characters); only the first 8192 were read, and "batchSize", cut off there, was ignored.`,
      ]);
    });

    it('of thousands of repeated or unknown keys and hidden names gives a few notices, fast', () => {
      const junk = Array.from({ length: 20_000 }, (_, i) => `k${i}=${i}&seed=${i % 7}`).join('&');
      const hide = `hide=${Array.from({ length: 20_000 }, (_, i) => `h${i}`).join(',')}`;
      for (const link of [
        `#v=4&${junk}`,
        `#v=4&${hide}`,
        `#${'%'.repeat(100_000)}`,
        `#v=4&lr=${'%E0'.repeat(40_000)}`,
      ]) {
        expect(link.length).toBeGreaterThan(100_000);
        let decoded: DecodedLink | undefined;
        const ms = time(() => (decoded = decodeOk(link)));
        expect(ms).toBeLessThan(100);
        expect(decoded!.notices.at(-1)).toMatch(
          /^The link is too long \(\d+ characters\); only the first 8192 were read/,
        );
        expect(decoded!.notices.length).toBeLessThanOrEqual(10);
      }
      const decoded = decodeOk(`#v=4&${junk}`);
      expect(decoded.notices).toContain('Unknown setting "k0" ignored.');
      expect(decoded.notices).toContain('Unknown setting "k4" ignored.');
      expect(decoded.notices.some((n) => /^\d+ more unknown settings were ignored\.$/.test(n))).toBe(true);
      expect(
        decoded.notices.some((n) => /^Seed \(seed\) appears \d+ times; the last value \("\d"\) was used\.$/.test(n)),
      ).toBe(true);
      expect(decodeOk(`#v=4&${hide}`).notices).toContain('hide: "h0" is not a setting; ignored.');
    });

    it('lists at most 20 notices, saying how many were left out', () => {
      const link = `#v=4&${FIELDS.map((f) => `${f.key}=%ZZ`).join('&')}`;
      const decoded = decodeOk(link);
      expect(decoded.notices).toHaveLength(LINK_LIMITS.maxNotices);
      expect(decoded.notices[0]).toMatch(/^\d+ more problems with this link were not listed\.$/);
    });
  });

  it('broken percent-encoding is read as typed (valid escapes around it are still decoded)', () => {
    const decoded = decodeOk('#v=4&task=%E0%A4%A&title=50%25+off+%ZZ&%zz=1&seed=7');
    expect(decoded.config).toMatchObject({ task: 'reverse', seed: 7 });
    expect(decoded.title).toBe('50% off %ZZ');
    expect(decoded.notices).toEqual([
      'Task (task): "%E0%A4%A" has broken percent-encoding; read as typed.',
      'title: "50%25+off+%ZZ" has broken percent-encoding; read as typed.',
      'Unknown setting "%zz" ignored (it has broken percent-encoding).',
      'Task (task): "%E0%A4%A" is not one of target, reverse, sort, preference, guess, calculator, retry, chain; using reverse.',
    ]);
  });

  it('unicode keys and values: emoji, RTL, NUL and lone surrogates', () => {
    const decoded = decodeOk(
      '#v=4&%F0%9F%9A%80=1&task=%F0%9F%9A%80&seed=7%00&beta=\u202e0.5&lr=\ud800&%D7%A9%D7%9C%D7%95%D7%9D=1&clip=%ED%A0%80',
    );
    expect(decoded.config).toEqual(defaultConfig());
    expect(decoded.notices).toEqual([
      'Clip ε (clipEpsilon): "%ED%A0%80" has broken percent-encoding; read as typed.',
      'Unknown setting "🚀" ignored.',
      'Unknown setting "שלום" ignored.',
      'Task (task): "🚀" is not one of target, reverse, sort, preference, guess, calculator, retry, chain; using reverse.',
      'Learning rate (learningRate): "\ufffd" is not a finite number; using 0.001.',
      'β (KL penalty) (beta): "\ufffd0.5" is not a finite number; using 0.05.',
      'Clip ε (clipEpsilon): "%ED%A0%80" is not a finite number; using 0.2.',
      'Seed (seed): "7\ufffd" is not a finite number; using 1.',
    ]);
  });

  it('a title keeps emoji and RTL text, and loses control characters and bidi overrides', () => {
    const decoded = decodeOk(`#v=4&title=${encodeURIComponent('שלום 👋🏽\u0000 a\u202eb\ncd\u0007')}`);
    expect(decoded.title).toBe('שלום 👋🏽 ab cd');
    expect(decoded.notices).toEqual(['Control characters were removed from the title.']);
  });

  it('a long title is cut at a character boundary, never inside an emoji', () => {
    const decoded = decodeOk(`#v=4&title=${encodeURIComponent('x👍🏽'.repeat(100))}`);
    expect(decoded.title).toBe('x👍🏽'.repeat(24)); // 5 UTF-16 units each: 120
    expect(decoded.notices).toEqual(['The title is too long; it was cut to 120 characters.']);
    const odd = decodeOk(`#v=4&title=${encodeURIComponent(`x${'😀'.repeat(100)}`)}`).title;
    expect(odd).toBe(`x${'😀'.repeat(59)}`);
  });

  it('script-like text in a title stays plain text, with a notice', () => {
    const decoded = decodeOk('#v=4&title=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(decoded.title).toBe('<script>alert(1)</script>'); // the app renders it as text, never as HTML
    expect(decoded.notices).toEqual(['The title contains HTML-like text ("<script"); it is shown as plain text.']);
    expect(decodeOk('#title=<img src=x onerror=alert(1)>').notices).toEqual([
      'The title contains HTML-like text ("<img"); it is shown as plain text.',
    ]);
    expect(decodeOk('#title=javascript:alert(1)').notices).toEqual([
      'The title contains HTML-like text ("javascript:"); it is shown as plain text.',
    ]);
    expect(decodeOk('#title=Why+a+<+b+and+b+>+a,+or+i<3').notices).toEqual([]);
  });

  it('hide keeps known settings once each; autoplay must be 1 or 0', () => {
    const decoded = decodeOk('#v=4&hide=beta,+clip,,nope,beta&autoplay=yes');
    expect(decoded.hide).toEqual(['beta', 'clipEpsilon']);
    expect(decoded.autoplay).toBe(false);
    expect(decoded.notices).toEqual([
      'hide: "nope" is not a setting; ignored.',
      'autoplay: "yes" is not 1 or 0; training will not start by itself.',
    ]);
    expect(decodeOk('#v=4&autoplay=1').autoplay).toBe(true);
    expect(decodeOk('#v=4&autoplay=true').autoplay).toBe(true);
    expect(decodeOk('#v=4&autoplay').autoplay).toBe(true);
    expect(decodeOk('#v=4&autoplay=0').autoplay).toBe(false);
    // explain=1 opens the update explainer; the same rules.
    expect(encodeLink(defaultConfig(), { explain: true })).toBe('#v=4&explain=1');
    expect(decodeOk('#v=4&explain=1')).toMatchObject({ explain: true, notices: [] });
    expect(decodeOk('#v=4&explain').explain).toBe(true);
    expect(decodeOk('#v=4').explain).toBe(false);
    expect(decodeOk('#v=4&explain=maybe')).toMatchObject({
      explain: false,
      notices: ['explain: "maybe" is not 1 or 0; the update explainer will not open by itself.'],
    });
  });

  it('a newer version is read as far as possible; a bad version is read as the current one', () => {
    const newer = decodeOk('#v=5&task=sort&warmup=10');
    expect(newer.version).toBe(5);
    expect(newer.config.task).toBe('sort');
    expect(newer.notices).toEqual([
      'Unknown setting "warmup" ignored.',
      'This link was made by a newer version (v=5); settings this version knows were read, others ignored.',
    ]);
    for (const v of ['abc', '0', '-1', '1.5', '']) {
      const decoded = decodeOk(`#v=${v}&seed=7`);
      expect(decoded.version).toBe(4);
      expect(decoded.config.seed).toBe(7);
      expect(decoded.notices).toEqual([`The link version "${v}" is not valid; read as version 4.`]);
    }
  });

  it('a non-string input does not throw and gives the defaults', () => {
    const throwing = {
      toString(): string {
        throw new Error('no');
      },
    };
    const inputs: [unknown, string][] = [
      [undefined, 'nothing'],
      [null, 'null'],
      [42, 'a number'],
      [NaN, 'a number'],
      [{ hash: '#v=1' }, 'an object'],
      [Object.create(null), 'an object'],
      [throwing, 'an object'],
      [['#v=1'], 'a list'],
      [Symbol('x'), 'a symbol'],
      [10n, 'a bigint'],
      [() => '#v=1', 'a function'],
    ];
    for (const [input, what] of inputs) {
      const decoded = decodeOk(input);
      expect(decoded).toEqual({
        config: defaultConfig(),
        notices: [`The link is not text (got ${what}); using the default settings.`],
        hide: [],
        autoplay: false,
        explain: false,
        title: '',
        version: 4,
        lesson: { text: '', arms: [], charts: [], limits: [] },
      });
    }
    expect(decodeOk('').notices).toEqual([]);
  });

  it('keeps all the notices of the e2e malformed link within the banner’s last five', () => {
    // The app shows the newest five notices; the ones about changed values and the link come last.
    const decoded = decodeOk(
      '?backend=wasm#v=4&lr=banana&colour=red&batchSize=0&task=%E0%A4%A&title=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    );
    const lastFive = decoded.notices.slice(-5).join('\n');
    expect(lastFive).toMatch(/banana/);
    expect(lastFive).toMatch(/colour/);
    expect(lastFive).toMatch(/Batch size \(batchSize\): 0 is outside 2…1024; using 2/);
  });
});

describe('versioned defaults: a link keeps its meaning when a default changes', () => {
  /** What every setting meant in a v1 link, frozen when v2 began: the contract a v1 link was shared under. */
  const V1_DEFAULTS = {
    task: 'reverse',
    alphabetSize: 5,
    promptLength: 3,
    targetWord: 'bad',
    scoring: 'dense',
    dModel: 32,
    nLayers: 1,
    nHeads: 2,
    contextLength: 10,
    algorithm: 'ppo',
    // Issue 15's settings: their defaults are the behaviour before them (one response per prompt; GRPO
    // did not exist), so old links keep their meaning without a version bump.
    groupSize: 1,
    baseline: 'batch-mean',
    gamma: 1,
    lambda: 0.95,
    whitenAdvantages: true,
    lossAgg: 'response',
    stdNorm: true,
    ratioLevel: 'token',
    rewardNorm: false,
    valueCoef: 0.5,
    entropyCoef: 0,
    learningRate: 0.003,
    adaptiveLr: false,
    lrKlTarget: 0.008,
    batchSize: 64,
    maxGradNorm: 1,
    // Adam's β₂ and ε became settings in v3 with the values every earlier run had used.
    adamBeta2: 0.999,
    adamEpsilon: 1e-5,
    beta: 0.02,
    klEstimator: 'k1',
    klIn: 'auto',
    adaptiveKl: false,
    klTarget: 1,
    klHorizon: 10000,
    clipEpsilon: 0.2,
    clipEpsilonHigh: 0,
    valueClip: 0.2,
    epochs: 4,
    minibatches: 4,
    targetKl: 0,
    maxKl: 0.05,
    temperature: 1,
    maxNewTokens: 5,
    sftSteps: 60,
    demonstrations: 64,
    comparisons: 256,
    labelNoise: 0,
    rmSteps: 200,
    rmRefreshEvery: 0,
    tools: true,
    toolCost: 0,
    feedback: true,
    hiddenAnswer: false,
    hops: 2,
    thinkTokens: 2,
    solvedDemos: 0,
    seed: 1,
  };

  /** v2 (learning rate, β and entropy bonus changed), frozen when v3 began. */
  const V2_DEFAULTS = { ...V1_DEFAULTS, learningRate: 0.001, beta: 0.05, entropyCoef: 0.01 };

  /** v3 (batch 128), frozen when v4 began. */
  const V3_DEFAULTS = { ...V2_DEFAULTS, batchSize: 128 };

  it('a renamed setting still reads: lengthNorm=false is lossAgg=constant (Dr. GRPO), lengthNorm=true the default', () => {
    const off = decodeOk('#v=4&algorithm=grpo&groupSize=8&lengthNorm=false');
    expect(off.config.lossAgg).toBe('constant');
    expect(off.notices).toEqual([]);
    expect(decodeOk('#v=4&lengthNorm=true').config.lossAgg).toBe('response');
    expect(encodeLink(off.config)).toBe('#v=4&algorithm=grpo&groupSize=8&lossAgg=constant');
    expect(decodeOk('#v=4&lengthNorm=0').config.lossAgg).toBe('constant');
    // Saved runs and CLI settings go through validate, which reads the old name too.
    expect(validate({ lengthNorm: false }).config.lossAgg).toBe('constant');
    expect(validate({ lengthNorm: false }).problems).toEqual([]);
    expect(validate({ lengthNorm: false, lossAgg: 'token' }).config.lossAgg).toBe('token');
    // A value the old switch never had is read as the new setting's value, with the usual notice.
    expect(decodeLink('#v=4&lengthNorm=maybe').notices.join(' ')).toMatch(/lossAgg/);
  });

  it('new links are written as v=4', () => {
    expect(LINK_VERSION).toBe(4);
    expect(encodeLink(defaultConfig())).toBe('#v=4');
  });

  it('a v3 link decodes to the v3 defaults (Adam β₂ 0.999), with no notice', () => {
    expect(defaultsOfVersion(3)).toEqual(V3_DEFAULTS);
    const bare = decodeOk('#v=3');
    expect(bare.config).toEqual(V3_DEFAULTS);
    expect(bare.notices).toEqual([]);
    expect(decodeOk('#v=3&task=sort').config).toEqual({ ...V3_DEFAULTS, task: 'sort' });
    expect(encodeLink(bare.config)).toBe('#v=4&adamBeta2=0.999');
  });

  it('a v2 link decodes to the v2 defaults (batch 64), with no notice', () => {
    expect(defaultsOfVersion(2)).toEqual(V2_DEFAULTS);
    const bare = decodeOk('#v=2');
    expect(bare.config).toEqual(V2_DEFAULTS);
    expect(bare.notices).toEqual([]);
    expect(decodeOk('#v=2&task=preference').config).toEqual({ ...V2_DEFAULTS, task: 'preference' });
  });

  it('a v1 link decodes to the v1 defaults for every setting it does not write, with no notice', () => {
    expect(defaultsOfVersion(1)).toEqual(V1_DEFAULTS);
    const bare = decodeOk('#v=1');
    expect(bare.config).toEqual(V1_DEFAULTS);
    expect(bare.notices).toEqual([]);
    const some = decodeOk('#v=1&task=sort&seed=7');
    expect(some.config).toEqual({ ...V1_DEFAULTS, task: 'sort', seed: 7 });
  });

  it('a v1, v2 or v3 link re-encoded today decodes to the same config (changed defaults are written out)', () => {
    const links = [
      '#v=1',
      '#v=1&task=target&algorithm=reinforce&batchSize=32',
      '#v=1&task=preference&beta=0',
      '#v=2',
      '#v=2&task=preference',
      '#v=3&task=sort',
    ];
    for (const link of links) {
      const old = decodeOk(link).config;
      const today = encodeLink(old);
      expect(today.startsWith('#v=4')).toBe(true);
      expect(today).toContain('adamBeta2=0.999');
      expect(decodeOk(today).config).toEqual(old);
    }
  });

  it('a bad value in a v1 link falls back to v1’s default, and says so', () => {
    const decoded = decodeOk('#v=1&beta=oops&seed=4');
    expect(decoded.config).toEqual({ ...V1_DEFAULTS, seed: 4 });
    expect(decoded.notices).toEqual(['β (KL penalty) (beta): "oops" is not a finite number; using 0.02.']);
  });

  it('a link without v, or with v=4, reads today’s defaults (Adam β₂ 0.99)', () => {
    expect(decodeOk('#seed=3').config).toEqual({ ...defaultConfig(), seed: 3 });
    expect(decodeOk('#v=4').config).toEqual(defaultConfig());
    expect(defaultConfig()).toEqual({ ...V3_DEFAULTS, adamBeta2: 0.99 });
  });
});

// The experiment schema and validate(): any input becomes a valid Config, and every repair is
// reported as a problem naming the key.
import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  FIELDS,
  TASKS,
  defaultConfig,
  requiredContextLength,
  validate,
  type Config,
  type Problem,
} from '../src/engine/config';

const problemFor = (problems: Problem[], key: string): Problem | undefined => problems.find((p) => p.key === key);

/** Checks the invariants every validated config must satisfy, independently of validate(). */
function expectValidConfig(c: Config): void {
  for (const field of FIELDS) {
    const v = (c as unknown as Record<string, unknown>)[field.key];
    switch (field.kind) {
      case 'number':
        expect(typeof v, field.key).toBe('number');
        expect(Number.isFinite(v), field.key).toBe(true);
        expect(v as number, field.key).toBeGreaterThanOrEqual(field.min);
        expect(v as number, field.key).toBeLessThanOrEqual(field.max);
        if (field.integer) expect(Number.isInteger(v), field.key).toBe(true);
        break;
      case 'choice':
        expect(field.choices, field.key).toContain(v);
        break;
      case 'boolean':
        expect(typeof v, field.key).toBe('boolean');
        break;
      case 'string':
        expect(typeof v, field.key).toBe('string');
        expect(v as string, field.key).toMatch(field.pattern);
        break;
    }
  }
  expect(Object.keys(c).sort()).toEqual(FIELDS.map((f) => f.key).sort());
  expect(c.dModel % c.nHeads).toBe(0);
  // <bos> + prompt + <sep> + maxNewTokens, written out rather than via requiredContextLength
  const prompt = c.task === 'target' ? 0 : c.promptLength;
  expect(c.contextLength).toBeGreaterThanOrEqual(2 + prompt + c.maxNewTokens);
  const letters = 'abcdefghijklmnop'.slice(0, c.alphabetSize);
  if (c.task === 'target') expect([...c.targetWord].every((ch) => letters.includes(ch))).toBe(true);
  const answer = c.task === 'target' ? c.targetWord.length : c.promptLength;
  expect(c.maxNewTokens).toBeGreaterThanOrEqual(answer + 1);
  expect(c.minibatches).toBeLessThanOrEqual(c.batchSize);
}

describe('FIELDS schema', () => {
  it('has one field per Config key, no duplicates', () => {
    const keys = FIELDS.map((f) => f.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(Object.keys(defaultConfig()).sort());
  });

  it.each(FIELDS.map((f) => [f.key, f] as const))('%s has help text, a label and `live` defined', (_key, field) => {
    expect(field.help.trim().length).toBeGreaterThan(10);
    expect(field.label.trim().length).toBeGreaterThan(0);
    expect(typeof field.live).toBe('boolean');
  });

  it.each(FIELDS.map((f) => [f.key, f] as const))('%s has a default inside its range or choices', (_key, field) => {
    switch (field.kind) {
      case 'number':
        expect(field.min).toBeLessThan(field.max);
        expect(field.default).toBeGreaterThanOrEqual(field.min);
        expect(field.default).toBeLessThanOrEqual(field.max);
        if (field.integer) expect(Number.isInteger(field.default)).toBe(true);
        break;
      case 'choice':
        expect(field.choices).toContain(field.default);
        break;
      case 'boolean':
        expect(typeof field.default).toBe('boolean');
        break;
      case 'string':
        expect(field.default).toMatch(field.pattern);
        expect(field.default.length).toBeLessThanOrEqual(field.maxLength);
        break;
    }
  });
});

describe('defaults', () => {
  it('validate with zero problems and come back unchanged', () => {
    const { config, problems } = validate(defaultConfig());
    expect(problems).toEqual([]);
    expect(config).toEqual(defaultConfig());
    expectValidConfig(config);
  });

  it('a missing config (undefined) or an empty object gives the defaults without problems', () => {
    expect(validate(undefined)).toEqual({ config: defaultConfig(), problems: [] });
    expect(validate({})).toEqual({ config: defaultConfig(), problems: [] });
  });

  it('defaultConfig returns a fresh object each time', () => {
    const a = defaultConfig();
    a.seed = 999;
    expect(defaultConfig().seed).not.toBe(999);
  });
});

describe('validate never throws on garbage', () => {
  const garbage: [string, unknown][] = [
    ['null', null],
    ['an array', [1, 2, 3]],
    ['a string', 'task=sort'],
    ['a number', 42],
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['true', true],
    ['a function', () => 1],
  ];
  it.each(garbage)('%s → defaults with one problem saying it is not an object', (_name, raw) => {
    let result: ReturnType<typeof validate> | undefined;
    expect(() => (result = validate(raw))).not.toThrow();
    expect(result!.config).toEqual(defaultConfig());
    expect(result!.problems).toHaveLength(1);
    expect(result!.problems[0].message).toMatch(/not an object/);
  });

  it('an object full of wrong types, NaN, ±Infinity and unknown keys still gives a valid config', () => {
    const raw = {
      task: 7,
      alphabetSize: Number.NaN,
      promptLength: Infinity,
      targetWord: 12,
      scoring: null,
      dModel: '1e9',
      nLayers: -Infinity,
      nHeads: {},
      contextLength: [],
      algorithm: ['ppo'],
      learningRate: 'fast',
      batchSize: true,
      gamma: '',
      adaptiveKl: 'maybe',
      whitenAdvantages: 2,
      seed: -5,
      bogus: 1,
      __proto__junk: 'x',
    };
    let result: ReturnType<typeof validate> | undefined;
    expect(() => (result = validate(raw))).not.toThrow();
    expectValidConfig(result!.config);
    const keys = new Set(result!.problems.map((p) => p.key));
    for (const key of Object.keys(raw)) expect(keys, key).toContain(key);
    // a repaired config is itself clean
    expect(validate(result!.config).problems).toEqual([]);
  });

  it('a JSON "__proto__" key is reported as unknown and does not set settings through the prototype', () => {
    const raw: unknown = JSON.parse('{"__proto__": {"seed": 5, "task": "sort"}, "constructor": 1}');
    const { config, problems } = validate(raw);
    expect(config.seed).toBe(1);
    expect(config.task).toBe('reverse');
    expect(problems.map((p) => p.key).sort()).toEqual(['__proto__', 'constructor']);
  });

  it('values that cannot be turned into a string (null-prototype objects) are rejected, not thrown on', () => {
    const odd = Object.create(null) as object;
    expect(() => validate({ seed: odd, task: odd, adaptiveKl: odd, targetWord: odd })).not.toThrow();
  });
});

describe('validate repairs and names the key', () => {
  it('reports unknown keys by name and ignores them', () => {
    const { config, problems } = validate({ lr: 0.1, seed: 3 });
    expect(config.seed).toBe(3);
    expect(config).not.toHaveProperty('lr');
    expect(problems).toHaveLength(1);
    expect(problems[0].key).toBe('lr');
    expect(problems[0].message).toContain('lr');
  });

  it.each([
    ['learningRate', 5, 0.1],
    ['learningRate', 0, 1e-6],
    ['batchSize', -3, 2],
    ['gamma', 1.5, 1],
    ['seed', 2 ** 40, 2 ** 31 - 1],
    ['temperature', 0, 0.05],
  ] as const)('clamps %s = %s to %s with a problem naming the key', (key, value, clamped) => {
    const { config, problems } = validate({ [key]: value });
    expect(config[key]).toBe(clamped);
    const problem = problemFor(problems, key);
    expect(problem).toBeDefined();
    expect(problem!.message).toContain(key);
    expect(problem!.message).toContain(String(clamped));
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['a word', 'lots'],
    ['a boolean', true],
    ['null', null],
  ])('a non-finite or non-numeric number field (%s) falls back to its default', (_name, value) => {
    const { config, problems } = validate({ beta: value });
    expect(config.beta).toBe(0.05);
    expect(problemFor(problems, 'beta')?.message).toContain('beta');
  });

  it('parses numeric strings (links and CLI flags hand in strings) without a problem', () => {
    const { config, problems } = validate({
      learningRate: '0.0003',
      batchSize: '32',
      adaptiveKl: 'true',
      task: 'sort',
    });
    expect(problems).toEqual([]);
    expect(config.learningRate).toBe(0.0003);
    expect(config.batchSize).toBe(32);
    expect(config.adaptiveKl).toBe(true);
    expect(config.task).toBe('sort');
  });

  it('rounds a fractional integer field and says so', () => {
    const { config, problems } = validate({ epochs: 2.6 });
    expect(config.epochs).toBe(3);
    expect(problemFor(problems, 'epochs')?.message).toMatch(/whole number/);
  });

  it('an unknown choice falls back to the default and the problem lists the valid choices', () => {
    const { config, problems } = validate({ task: 'summarise', algorithm: 'dqn' });
    expect(config.task).toBe('reverse');
    expect(config.algorithm).toBe('ppo');
    const taskProblem = problemFor(problems, 'task')!;
    for (const choice of TASKS) expect(taskProblem.message).toContain(choice);
    const algoProblem = problemFor(problems, 'algorithm')!;
    for (const choice of ALGORITHMS) expect(algoProblem.message).toContain(choice);
  });

  it('a bad boolean falls back to the default with a problem', () => {
    const { config, problems } = validate({ whitenAdvantages: 'yes' });
    expect(config.whitenAdvantages).toBe(true);
    expect(problemFor(problems, 'whitenAdvantages')).toBeDefined();
  });

  it('nHeads that does not divide dModel is reduced to the largest divisor below it', () => {
    // 32 % 3 ≠ 0 → 2; 24 % 5 ≠ 0 → 4 (24 = 4·6)
    const a = validate({ dModel: 32, nHeads: 3 });
    expect(a.config.nHeads).toBe(2);
    expect(problemFor(a.problems, 'nHeads')).toBeDefined();
    const b = validate({ dModel: 24, nHeads: 5 });
    expect(b.config.nHeads).toBe(4);
    expect(problemFor(b.problems, 'nHeads')?.message).toContain('24');
  });

  it('a contextLength too short for <bos>, prompt, <sep> and the response is lengthened', () => {
    // reverse, promptLength 3, maxNewTokens 5: 1 + 3 + 1 + 5 = 10
    const a = validate({ task: 'reverse', promptLength: 3, maxNewTokens: 5, contextLength: 4 });
    expect(a.config.contextLength).toBe(10);
    expect(problemFor(a.problems, 'contextLength')?.message).toContain('10');
    // target has no prompt: 1 + 0 + 1 + 5 = 7
    const b = validate({ task: 'target', maxNewTokens: 5, contextLength: 4 });
    expect(b.config.contextLength).toBe(7);
    expect(requiredContextLength(b.config)).toBe(7);
  });

  it('maxNewTokens too small for the answer and <eos> is raised to answer + 1', () => {
    const { config, problems } = validate({ task: 'reverse', promptLength: 6, maxNewTokens: 3, contextLength: 64 });
    expect(config.maxNewTokens).toBe(7);
    expect(problemFor(problems, 'maxNewTokens')).toBeDefined();
  });

  it('a target word with letters outside the alphabet is mapped into it', () => {
    // alphabet a–b; "bad" → b, a, d→(3 mod 2 = 1)→b = "bab"
    const { config, problems } = validate({ task: 'target', alphabetSize: 2, targetWord: 'bad' });
    expect(config.targetWord).toBe('bab');
    expect(problemFor(problems, 'targetWord')?.message).toContain('bab');
    expectValidConfig(config);
  });

  it('a target word with characters outside a–p falls back to the default word', () => {
    for (const word of ['BAD', 'xyz', 'a b', '', 'abcdefghijklm']) {
      const { config, problems } = validate({ task: 'target', targetWord: word });
      expect(config.targetWord, word).toBe('bad');
      expect(problemFor(problems, 'targetWord'), word).toBeDefined();
    }
  });

  it('minibatches larger than the batch are cut to the batch size', () => {
    const { config, problems } = validate({ batchSize: 8, minibatches: 64 });
    expect(config.minibatches).toBe(8);
    expect(problemFor(problems, 'minibatches')).toBeDefined();
  });

  it('every problem names a key that exists (or "" for the whole object)', () => {
    const { problems } = validate({ task: 'x', dModel: 9, nHeads: 7, contextLength: 1, unknownKnob: 1 });
    const known = new Set(['', 'unknownKnob', ...FIELDS.map((f) => f.key)]);
    expect(problems.length).toBeGreaterThanOrEqual(4);
    for (const p of problems) {
      expect(known.has(p.key), p.key).toBe(true);
      expect(p.message.length).toBeGreaterThan(0);
    }
  });
});

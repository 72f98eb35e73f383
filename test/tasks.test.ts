// The three token-level tasks (docs/reference.md §2): prompts, expected answers, format demos and scores.
// Scores are worked out by hand: dense = matches at i < min(L, n) / max(L, n), with L the length
// before the first <eos> (maxNewTokens when no <eos>); sparse = 1 iff y = x and <eos> was emitted.
import { describe, expect, it } from 'vitest';
import { validate, type Config } from '../src/engine/config';
import { Random } from '../src/engine/random';
import { createTask, type Task } from '../src/engine/tasks';
import { EOS } from '../src/engine/tokens';

/** A task from a config that validates cleanly (a roomy context so lengths need no repair). */
function makeTask(overrides: Partial<Config>): Task {
  const { config, problems } = validate({ contextLength: 64, ...overrides });
  expect(problems).toEqual([]);
  return createTask(config);
}

/** Token ids of a string of letters; '.' stands for <eos>. Letters a, b, c, … are ids 4, 5, 6, … */
function ids(s: string): number[] {
  return [...s].map((ch) => (ch === '.' ? EOS : 4 + ch.charCodeAt(0) - 97));
}

const letters = (task: Task, tokens: readonly number[]): string => task.vocab.decode(tokens).join('');

describe('vocabulary layout the tests rely on', () => {
  it('puts <eos> at id 3 and the letters a, b, c, … from id 4', () => {
    const task = makeTask({ task: 'reverse' });
    expect(task.vocab.decode([EOS])).toEqual(['<eos>']);
    expect(task.vocab.encode('abcde')).toEqual([4, 5, 6, 7, 8]);
    expect(ids('cb.a')).toEqual([6, 5, 3, 4]);
  });
});

describe.each(['dense', 'sparse'] as const)('%s scoring', (scoring) => {
  // Each case: response ('.' = <eos>), dense score by hand, sparse score by hand.
  type Case = [name: string, response: string, dense: number, sparse: number];

  describe('reverse (prompt "abc", answer "cba", maxNewTokens 5)', () => {
    const task = makeTask({ task: 'reverse', scoring, promptLength: 3, maxNewTokens: 5 });
    const prompt = ids('abc');
    const cases: Case[] = [
      ['exact', 'cba.', 3 / 3, 1],
      ['partial: c right, a/b swapped', 'cab.', 1 / 3, 0],
      ['too long: 3 matches over L = 4', 'cbaa.', 3 / 4, 0],
      ['too short: 2 matches over n = 3', 'cb.', 2 / 3, 0],
      ['empty (immediate <eos>)', '.', 0, 0],
      ['no <eos>: L = maxNewTokens = 5', 'cbaaa', 3 / 5, 0],
      ['no <eos>, right letters only: still L = 5', 'cba', 3 / 5, 0],
      ['the prompt itself is not the answer', 'abc.', 1 / 3, 0],
      ['tokens after <eos> are ignored', 'cba.dd', 1, 1],
    ];
    it.each(cases)('%s', (_name, response, dense, sparse) => {
      expect(task.score(prompt, ids(response))).toBeCloseTo(scoring === 'dense' ? dense : sparse, 12);
    });
  });

  describe('sort (prompt "dbd", answer "bdd", maxNewTokens 5)', () => {
    const task = makeTask({ task: 'sort', scoring, promptLength: 3, maxNewTokens: 5 });
    const prompt = ids('dbd');
    const cases: Case[] = [
      ['exact', 'bdd.', 1, 1],
      ['partial: last letter wrong', 'bdb.', 2 / 3, 0],
      ['too long: 3 matches over L = 4', 'bdda.', 3 / 4, 0],
      ['too short: 2 matches over n = 3', 'bd.', 2 / 3, 0],
      ['empty (immediate <eos>)', '.', 0, 0],
      ['no <eos>: L = maxNewTokens = 5', 'bddee', 3 / 5, 0],
      ['the prompt unchanged matches only its last letter', 'dbd.', 1 / 3, 0],
      ['descending order is wrong except the middle', 'ddb.', 1 / 3, 0],
    ];
    it.each(cases)('%s', (_name, response, dense, sparse) => {
      expect(task.score(prompt, ids(response))).toBeCloseTo(scoring === 'dense' ? dense : sparse, 12);
    });
  });

  describe('target (word "bad", no prompt, maxNewTokens 5)', () => {
    const task = makeTask({ task: 'target', scoring, targetWord: 'bad', maxNewTokens: 5 });
    const cases: Case[] = [
      ['exact', 'bad.', 1, 1],
      ['partial: last letter wrong', 'bac.', 2 / 3, 0],
      ['too long: 3 matches over L = 4', 'bada.', 3 / 4, 0],
      ['too short: 2 matches over n = 3', 'ba.', 2 / 3, 0],
      ['empty (immediate <eos>)', '.', 0, 0],
      ['no <eos>: L = maxNewTokens = 5', 'badba', 3 / 5, 0],
      ['matching is by position: shifted word scores 0', 'abad.', 0, 0],
    ];
    it.each(cases)('%s', (_name, response, dense, sparse) => {
      expect(task.score([], ids(response))).toBeCloseTo(scoring === 'dense' ? dense : sparse, 12);
    });
  });
});

describe('score uses the configured maxNewTokens as L when there is no <eos>', () => {
  it('reverse: "cba" without <eos> and maxNewTokens 8 scores 3/8', () => {
    const task = makeTask({ task: 'reverse', promptLength: 3, maxNewTokens: 8 });
    expect(task.score(ids('abc'), ids('cba'))).toBeCloseTo(3 / 8, 12);
    expect(task.score(ids('abc'), ids('cbaddddd'))).toBeCloseTo(3 / 8, 12);
  });

  it('target: a response of maxNewTokens letters without <eos> is never perfect', () => {
    const task = makeTask({ task: 'target', targetWord: 'cab', maxNewTokens: 4 });
    // "cabc": 3 matches over max(4, 3) = 4
    expect(task.score([], ids('cabc'))).toBeCloseTo(3 / 4, 12);
  });
});

describe('prompts', () => {
  it('are deterministic for a seeded Random', () => {
    for (const name of ['reverse', 'sort'] as const) {
      const task = makeTask({ task: name, promptLength: 5, maxNewTokens: 6 });
      const a = new Random(1234);
      const b = new Random(1234);
      const first = Array.from({ length: 20 }, () => task.prompt(a));
      const second = Array.from({ length: 20 }, () => task.prompt(b));
      expect(second).toEqual(first);
      // A different seed gives a different stream (so the check above is about the seed).
      const c = new Random(1235);
      expect(Array.from({ length: 20 }, () => task.prompt(c))).not.toEqual(first);
    }
  });

  it('have promptLength letters from the configured alphabet', () => {
    const task = makeTask({ task: 'reverse', alphabetSize: 3, promptLength: 6, maxNewTokens: 7 });
    const rng = new Random(9);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const p = letters(task, task.prompt(rng));
      expect(p).toMatch(/^[abc]{6}$/);
      for (const ch of p) seen.add(ch);
    }
    // all three letters of the alphabet occur
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('target has an empty prompt', () => {
    const task = makeTask({ task: 'target' });
    expect(task.prompt(new Random(3))).toEqual([]);
  });
});

describe('expected answers', () => {
  it('reverse reverses the prompt', () => {
    const task = makeTask({ task: 'reverse', promptLength: 4 });
    expect(letters(task, task.expected(ids('abcd')))).toBe('dcba');
    const rng = new Random(5);
    for (let i = 0; i < 50; i++) {
      const p = task.prompt(rng);
      expect(letters(task, task.expected(p))).toBe([...letters(task, p)].reverse().join(''));
    }
  });

  it('sort sorts the prompt ascending, keeping repeats', () => {
    const task = makeTask({ task: 'sort', promptLength: 5, maxNewTokens: 6 });
    expect(letters(task, task.expected(ids('ecaec')))).toBe('accee');
    const rng = new Random(6);
    for (let i = 0; i < 50; i++) {
      const p = task.prompt(rng);
      expect(letters(task, task.expected(p))).toBe([...letters(task, p)].sort().join(''));
    }
  });

  it('expected() does not modify the prompt it is given', () => {
    const p = ids('cab');
    makeTask({ task: 'sort' }).expected(p);
    makeTask({ task: 'reverse' }).expected(p);
    expect(p).toEqual(ids('cab'));
  });

  it('target expects the fixed configured word whatever the prompt', () => {
    const task = makeTask({ task: 'target', targetWord: 'ceed' });
    expect(letters(task, task.expected([]))).toBe('ceed');
    expect(letters(task, task.expected(ids('ab')))).toBe('ceed');
  });

  it('the expected answer followed by <eos> scores 1 under both scorings', () => {
    for (const scoring of ['dense', 'sparse'] as const) {
      for (const name of ['reverse', 'sort', 'target'] as const) {
        const task = makeTask({ task: name, scoring });
        const rng = new Random(11);
        for (let i = 0; i < 10; i++) {
          const p = task.prompt(rng);
          expect(task.score(p, [...task.expected(p), EOS])).toBe(1);
        }
      }
    }
  });
});

describe('formatDemo', () => {
  it.each([
    ['reverse', { task: 'reverse', promptLength: 4 }, 4],
    ['sort', { task: 'sort', promptLength: 2 }, 2],
    ['target', { task: 'target', targetWord: 'dab' }, 3],
  ] as const)('%s: answer-length letters then <eos>', (_name, overrides, answerLength) => {
    const task = makeTask(overrides);
    const rng = new Random(21);
    for (let i = 0; i < 30; i++) {
      const demo = task.formatDemo(task.prompt(rng), rng);
      expect(demo).toHaveLength(answerLength + 1);
      expect(demo.at(-1)).toBe(EOS);
      // only letters of the 5-letter default alphabet (ids 4..8) before <eos>
      expect(demo.slice(0, -1).every((id) => id >= 4 && id <= 8)).toBe(true);
    }
  });

  it('is deterministic for a seeded Random', () => {
    const task = makeTask({ task: 'reverse', promptLength: 5, maxNewTokens: 6 });
    const prompt = ids('abcde');
    const a = new Random(77);
    const b = new Random(77);
    const first = Array.from({ length: 10 }, () => task.formatDemo(prompt, a));
    expect(Array.from({ length: 10 }, () => task.formatDemo(prompt, b))).toEqual(first);
  });
});

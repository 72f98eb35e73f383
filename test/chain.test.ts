// The chain task (issue 18): the table's arrows, the <think> … </think> layout, outcome-only scores,
// format demos that never hold the chain, and the thinking metrics, on hand-made sequences.
import { describe, expect, it } from 'vitest';
import { validate, type Config } from '../src/engine/config';
import { Random } from '../src/engine/random';
import { createTask, type Task } from '../src/engine/tasks';
import { chainOf } from '../src/engine/tasks/chain';
import { EOS } from '../src/engine/tokens';
import { updateMetrics } from '../src/engine/update-metrics';
import type { Episode } from '../src/engine/episodes';

/** Alphabet 5: letters a–e are ids 4–8, <think> 9, </think> 10; '.' is <eos>, '[' <think>, ']' </think>. */
function ids(s: string): number[] {
  return [...s].map((ch) => (ch === '.' ? EOS : ch === '[' ? 9 : ch === ']' ? 10 : 4 + ch.charCodeAt(0) - 97));
}

function chainTask(over: Partial<Config> = {}): Task {
  const { config, problems } = validate({ task: 'chain', alphabetSize: 5, contextLength: 64, ...over });
  expect(problems).toEqual([]);
  return createTask(config);
}

// Table "dceab": a → d (the first letter), d → a (the fourth), a → d, …; b → c, c → e, e → b.
const TABLE = ids('dceab');

describe('chain: the arrows', () => {
  it('follows hops arrows from a: a → d → a → d for table dceab, a → c → b → e for table cebad', () => {
    expect(chainOf(TABLE, 3, ids('a')[0])).toEqual(ids('adad'));
    expect(chainOf(ids('cebad'), 3, ids('a')[0])).toEqual(ids('acbe'));
  });

  it('expects the letter where the last arrow ends, and says which letters a useful scratchpad holds', () => {
    const prompt = ids('cebad');
    expect(chainTask({ hops: 1, thinkTokens: 0 }).expected(prompt)).toEqual(ids('c'));
    expect(chainTask({ hops: 2, thinkTokens: 0 }).expected(prompt)).toEqual(ids('b'));
    const three = chainTask({ hops: 3, thinkTokens: 2, maxNewTokens: 6 });
    expect(three.expected(prompt)).toEqual(ids('e'));
    expect(three.thinking?.path(prompt)).toEqual(ids('cb'));
  });

  it('draws a table of alphabetSize letters from the alphabet, the same for the same seed', () => {
    const task = chainTask({ alphabetSize: 8, hops: 2, thinkTokens: 0 });
    const a = task.prompt(new Random(7));
    expect(a).toEqual(task.prompt(new Random(7)));
    expect(a).toHaveLength(8);
    expect(a.every((id) => task.vocab.isLetter(id))).toBe(true);
  });
});

describe('chain: scoring only the answer (hops 3, table cebad, answer e, path c b)', () => {
  const task = chainTask({ hops: 3, thinkTokens: 2, maxNewTokens: 6 });
  const prompt = ids('cebad');
  const score = (s: string) => task.score(prompt, ids(s));

  it('a right answer scores 1 whatever the scratchpad holds, an empty one included', () => {
    expect(score('[cb]e.')).toBe(1);
    expect(score('[aa]e.')).toBe(1);
    expect(score('[]e.')).toBe(1);
  });

  it('a wrong answer scores 0 even when the scratchpad holds the whole chain and the answer', () => {
    expect(score('[cb]b.')).toBe(0);
    expect(score('[cbe]c.')).toBe(0);
  });

  it('the answer written inside the scratchpad does not count', () => {
    expect(score('[e]a.')).toBe(0);
    expect(task.thinking?.tokens(ids('[e]a.'))).toBe(1);
  });

  it('malformed layouts score 0: no <think>, no </think>, a scratchpad over the budget', () => {
    expect(score('e.')).toBe(0);
    expect(score('[cbe.')).toBe(0);
    expect(score('[cbe]')).toBe(0);
    expect(task.thinking?.tokens(ids('[cbe]'))).toBe(0);
  });

  it('dense scoring of the answer: a right letter and a stray one before <eos> score 1/2; no <eos> scores 1/L', () => {
    expect(score('[c]ee.')).toBe(0.5);
    // After "[c]" three slots remain for the answer: "eee" has no <eos>, so L = 3.
    expect(score('[c]eee')).toBeCloseTo(1 / 3, 12);
    const sparse = chainTask({ hops: 3, thinkTokens: 2, maxNewTokens: 6, scoring: 'sparse' });
    expect(sparse.score(prompt, ids('[c]ee.'))).toBe(0);
    expect(sparse.score(prompt, ids('[c]e.'))).toBe(1);
  });

  it('marks the scratchpad and its tags as thinking, and tells whether it tracks the chain in order', () => {
    const t = task.thinking;
    expect(t?.marks(ids('[cb]e.'))).toEqual([true, true, true, true, false, false]);
    expect(t?.marks(ids('[cb'))).toEqual([true, true, true]);
    expect(t?.marks(ids('e.'))).toEqual([false, false]);
    expect(t?.tracks(prompt, ids('[cb]e.'))).toBe(true);
    expect(t?.tracks(prompt, ids('[bc]e.'))).toBe(false);
    expect(t?.tracks(prompt, ids('[c]e.'))).toBe(false);
    expect(t?.tracks(prompt, ids('[cb'))).toBe(false);
  });
});

describe('chain without thinking (thinkTokens 0)', () => {
  const task = chainTask({ hops: 2, thinkTokens: 0 });
  const prompt = ids('cebad');

  it('the answer comes at once: the policy cannot write <think>, and a response is scored as the answer', () => {
    expect(task.actions).not.toContain(9);
    expect(task.actions).not.toContain(10);
    expect(task.score(prompt, ids('b.'))).toBe(1);
    expect(task.score(prompt, ids('c.'))).toBe(0);
    expect(task.thinking?.tokens(ids('b.'))).toBe(0);
    expect(task.thinking?.tracks(prompt, ids('b.'))).toBe(false);
  });

  it('needs one new token for the answer and one for <eos>; thinking needs <think>, the budget and </think> more', () => {
    expect(validate({ task: 'chain', thinkTokens: 0, maxNewTokens: 2, contextLength: 64 }).problems).toEqual([]);
    const { config, problems } = validate({ task: 'chain', thinkTokens: 4, maxNewTokens: 2, contextLength: 64 });
    expect(config.maxNewTokens).toBe(8);
    expect(problems.map((p) => p.key)).toEqual(['maxNewTokens']);
  });
});

describe('chain: format pretraining shows the layout, never the chain', () => {
  it('demos are <think>, 0 … thinkTokens random letters, </think>, a random letter, <eos>', () => {
    const task = chainTask({ hops: 3, thinkTokens: 3, maxNewTokens: 7 });
    const rng = new Random(3);
    const lengths = new Set<number>();
    let right = 0;
    let tracked = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const prompt = task.prompt(rng);
      const demo = task.formatDemo(prompt, rng);
      expect(demo[0]).toBe(9);
      const close = demo.indexOf(10);
      expect(demo.slice(close + 1).map((id) => task.vocab.isLetter(id))).toEqual([true, false]);
      expect(demo.at(-1)).toBe(EOS);
      lengths.add(close - 1);
      right += task.score(prompt, demo);
      if (task.thinking?.tracks(prompt, demo)) tracked++;
    }
    expect([...lengths].sort()).toEqual([0, 1, 2, 3]);
    // Chance: a right answer 1 in 5; the two path letters in order inside a random scratchpad, rarely.
    expect(right / n).toBeGreaterThan(0.17);
    expect(right / n).toBeLessThan(0.23);
    expect(tracked / n).toBeLessThan(0.1);
  });
});

describe('chain: the thinking metrics', () => {
  it('episode/think_tokens is the mean scratchpad length and episode/think_tracks the share on the chain', () => {
    const task = chainTask({ hops: 3, thinkTokens: 2, maxNewTokens: 6 });
    const prompt = ids('cebad');
    const episodes = ['[cb]e.', '[c]e.', '[]e.', '[cbe]'].map((s) => ({ prompt, response: ids(s) }) as Episode);
    const stub = { score: 0, rewards: [], klK1Sum: 0, klK3Sum: 0, entropy: [], values: [], returns: [], positions: [] };
    const facts = {
      update: 1,
      episodes: 4,
      elapsedS: 0,
      beta: 0,
      learningRate: 0,
      rewardNorm: false,
      started: 0,
      rolledOut: 0,
      finished: 1,
      memory: { numTensors: 0, numBytes: 0 },
      hasCritic: false,
      sftLoss: 0,
    };
    const batch = episodes.map((e) => ({ ...stub, ...e }) as Episode);
    const metrics = updateMetrics(batch, {}, { ...facts, thinking: task.thinking });
    expect(metrics['episode/think_tokens']).toBe((2 + 1 + 0 + 0) / 4);
    expect(metrics['episode/think_tracks']).toBe(1 / 4);
    const withoutScratchpad = updateMetrics(batch, {}, facts);
    expect(withoutScratchpad['episode/think_tokens']).toBeNaN();
    expect(withoutScratchpad['episode/think_tracks']).toBeNaN();
  });
});

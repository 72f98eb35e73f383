// The policy writes only its task's action tokens, and the reward model reads a response where it ends.
// Sampling, log-probs, entropy and the next-token bars all use one masked distribution, so ratios and
// KL stay exact; the reward model's read position depends on <eos> alone.
import { beforeAll, describe, expect, it } from 'vitest';
import { TASKS, validate } from '../src/engine/config';
import { forward, initParams } from '../src/engine/model';
import { disposeParams, readParam } from '../src/engine/params';
import { responseEnd, responseEnds, responseOf, rollout } from '../src/engine/rollout';
import { createTask } from '../src/engine/tasks';
import { tf } from '../src/engine/tf';
import { BOS, EOS, PAD, SEP } from '../src/engine/tokens';
import { createTrainer } from '../src/engine/trainer';
import { startBackend } from './support/engine';

beforeAll(() => startBackend('cpu'));

describe('action vocabularies', () => {
  const extras: Partial<Record<string, string[]>> = { calculator: ['<calc>'], chain: ['<think>', '</think>'] };
  it.each(TASKS)(
    '%s: the letters and <eos> (calculator: also <calc>; chain: <think> and </think>), never <pad>, <bos>, <sep>',
    (name) => {
      const task = createTask(validate({ task: name }).config);
      const words = task.vocab.decode(task.actions);
      const letters = [...task.vocab.letters];
      expect(words).toEqual(['<eos>', ...letters, ...(extras[name] ?? [])]);
      for (const special of [PAD, BOS, SEP]) expect(task.actions).not.toContain(special);
    },
  );

  it('a masked policy gives exactly probability 0 to every other token, at any temperature', () => {
    const shape = { vocabSize: 9, dModel: 8, nLayers: 1, nHeads: 2, contextLength: 6 };
    const actions = [EOS, 4, 5, 6];
    const params = initParams(shape, 1, 'masked', actions);
    for (const temperature of [0.5, 1, 3]) {
      const [probs, entropy] = tf.tidy(() => {
        const tokens = tf.tensor2d([[BOS, SEP, 4, 5, 6, 7]], [1, 6], 'int32');
        const logSoftmax = tf.logSoftmax(forward(params, shape, tokens, temperature).logits);
        const p = tf.exp(logSoftmax);
        return [p.arraySync() as number[][][], tf.neg(tf.sum(tf.mul(p, logSoftmax), -1)).arraySync() as number[][]];
      });
      for (const row of probs[0]) {
        const allowed = actions.reduce((s, id) => s + row[id], 0);
        expect(allowed).toBeCloseTo(1, 6);
        for (let id = 0; id < 9; id++) if (!actions.includes(id)) expect(row[id]).toBe(0);
      }
      // Entropy of the masked distribution: finite and at most log(4 allowed tokens).
      for (const h of entropy[0]) {
        expect(Number.isFinite(h)).toBe(true);
        expect(h).toBeLessThanOrEqual(Math.log(actions.length) + 1e-6);
      }
    }
    disposeParams(params);
    // The mask is not a parameter: the unmasked model draws the same weights.
    const plain = initParams(shape, 1, 'plain');
    const masked = initParams(shape, 1, 'masked', actions);
    expect(readParam(plain, 'policyHead.b')).toEqual(readParam(masked, 'policyHead.b'));
    disposeParams(plain);
    disposeParams(masked);
  });

  it('a rollout from an untrained policy never writes a special token inside a response, and its log-probs are the masked ones', async () => {
    const config = validate({ task: 'reverse', batchSize: 64, seed: 5 }).config;
    const task = createTask(config);
    const shape = {
      vocabSize: task.vocab.size,
      dModel: 16,
      nLayers: 1,
      nHeads: 2,
      contextLength: config.contextLength,
    };
    const policy = initParams(shape, 3, 'policy', task.actions);
    const prompts = Array.from({ length: 64 }, (_, i) => [4 + (i % 5), 4 + ((i + 1) % 5), 4 + ((i + 2) % 5)]);
    const r = await rollout(policy, policy, shape, prompts, {
      batchSize: 64,
      maxNewTokens: config.maxNewTokens,
      temperature: 1,
      samplingSeed: 9,
    });
    const written = r.responses.flat();
    expect(written.length).toBeGreaterThan(64);
    for (const id of written) expect(task.actions).toContain(id);
    // Every action's log-prob is finite and ≤ 0, and π = π_ref exactly here (the same weights).
    r.responses.forEach((response, b) =>
      response.forEach((_, s) => {
        const t = b * r.time + r.responseStart - 1 + s;
        expect(r.oldLogp[t]).toBeLessThanOrEqual(0);
        expect(r.oldLogp[t]).toBeGreaterThan(-20);
        expect(r.refLogp[t]).toBe(r.oldLogp[t]);
      }),
    );
    disposeParams(policy);
  });

  it('next-token bars are zero outside the action vocabulary', async () => {
    const trainer = createTrainer({ task: 'calculator', batchSize: 8, sftSteps: 2, dModel: 16, nHeads: 2 });
    await trainer.pretrain();
    const { policy, reference } = await trainer.nextTokenDistributions([BOS, 4, 5]);
    const actions = new Set(trainer.task.actions);
    for (const p of [policy, reference])
      p.forEach((value, id) => (actions.has(id) ? expect(value).toBeGreaterThan(0) : expect(value).toBe(0)));
    trainer.dispose();
  });
});

describe('where the reward model reads a response', () => {
  const time = 10;
  const responseStart = 3;
  const maxNewTokens = 6;
  const LETTER = 4;

  /** One row: <bos> x <sep>, then `response`, then <pad>s. */
  const row = (response: number[]) => {
    const tokens = new Int32Array(time).fill(PAD);
    tokens.set([BOS, LETTER, SEP, ...response]);
    return tokens;
  };

  // Special tokens at every position of a response (impossible for a masked policy, but the read position
  // must not depend on them): each case's end is its <eos>, or the last of maxNewTokens positions.
  const cases: number[][] = [];
  for (const special of [PAD, BOS, SEP])
    for (let at = 0; at < maxNewTokens; at++) {
      const withEos = Array.from({ length: maxNewTokens }, (_, s) => (s === at ? special : LETTER));
      cases.push(withEos); // no <eos>: ends at the last position
      if (at + 1 < maxNewTokens) cases.push([...withEos.slice(0, at + 1), EOS]); // <eos> right after it
    }
  cases.push([EOS], [LETTER, EOS, PAD, PAD, PAD, PAD], [PAD, PAD, PAD, PAD, PAD, PAD]);

  it(`on the device and on the CPU alike, for ${cases.length} responses with special tokens anywhere`, () => {
    const buffer = new Int32Array(cases.length * time);
    cases.forEach((c, b) => buffer.set(row(c), b * time));
    const ends = tf.tidy(() =>
      responseEnds(tf.tensor2d(buffer, [cases.length, time], 'int32'), responseStart, maxNewTokens).arraySync(),
    ) as number[];
    cases.forEach((c, b) => {
      const response = responseOf(buffer, b, time, responseStart, maxNewTokens);
      const eosAt = c.indexOf(EOS);
      const expected = responseStart + (eosAt >= 0 ? eosAt : maxNewTokens - 1);
      expect(responseEnd(response, responseStart), c.join(' ')).toBe(expected);
      expect(ends[b], c.join(' ')).toBe(expected);
    });
  });
});

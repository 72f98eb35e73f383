// buildEpisodes on a plain hand-made rollout (no agentic fields, no reward model unless stated): which
// buffer entries it picks, the per-token KL under k1 and k3, the rewards, and score against gold.
// Buffers hold float32, so comparisons use 6 decimal places.
import { describe, expect, it } from 'vitest';
import { buildEpisodes, scaleAcrossBatch, whitenAcrossBatch, type Episode } from '../src/engine/episodes';
import type { Rollout } from '../src/engine/rollout';
import type { Task } from '../src/engine/tasks';
import { BOS, EOS, PAD, SEP } from '../src/engine/tokens';

function expectAllClose(actual: readonly number[], expected: readonly number[], digits = 6): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a, `index ${i}`).toBeCloseTo(expected[i], digits));
}

// Two rows of time 6, prompts of one letter, so responses start at 1 + 1 + 1 = 3 and the action token
// at response index s was chosen at decision position 3 − 1 + s:
//   row 0: <bos> 5 <sep> 6 7 <eos>     → positions 2, 3, 4
//   row 1: <bos> 7 <sep> 5 <eos> <pad> → positions 2, 3
const T = 6;
const SENTINEL = 99; // at every position that is not a decision of an action token: picking it shows

function buffer(row0: number[], row1: number[]): Float32Array {
  const b = new Float32Array(2 * T).fill(SENTINEL);
  b.set(row0, 2);
  b.set(row1, T + 2);
  return b;
}

function plainRollout(): Rollout {
  return {
    batchSize: 2,
    time: T,
    tokens: Int32Array.from([BOS, 5, SEP, 6, 7, EOS, BOS, 7, SEP, 5, EOS, PAD]),
    prompts: [[5], [7]],
    responses: [
      [6, 7, EOS],
      [5, EOS],
    ],
    responseStart: 3,
    oldLogp: buffer([-1.0, -0.5, -2.0], [-0.2, -0.1]),
    refLogp: buffer([-1.5, -0.5, -1.0], [-0.2, -0.4]),
    values: buffer([0.1, 0.2, 0.3], [0.4, 0.5]),
    entropy: buffer([1.1, 1.2, 1.3], [1.4, 1.5]),
  };
}

// The task's score: 1 for row 0's response, 0.25 for row 1's.
const task = {
  score: (_prompt: readonly number[], response: readonly number[]) => (response.length === 3 ? 1 : 0.25),
} as unknown as Task;

describe('buildEpisodes on a plain rollout', () => {
  it('takes prompts, responses and decision positions responseStart − 1 + s', () => {
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, 'k1');
    expect([e0.row, e1.row]).toEqual([0, 1]);
    expect([e0.prompt, e1.prompt]).toEqual([[5], [7]]);
    expect([e0.response, e1.response]).toEqual([
      [6, 7, EOS],
      [5, EOS],
    ]);
    expect([e0.positions, e1.positions]).toEqual([
      [2, 3, 4],
      [2, 3],
    ]);
    expect([e0.observed, e1.observed]).toEqual([
      [false, false, false],
      [false, false],
    ]);
  });

  it("picks each row's old and ref log-probs, values and entropy at those positions", () => {
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, 'k1');
    expectAllClose(e0.oldLogp, [-1.0, -0.5, -2.0]);
    expectAllClose(e0.refLogp, [-1.5, -0.5, -1.0]);
    expectAllClose(e0.values, [0.1, 0.2, 0.3]);
    expectAllClose(e0.entropy, [1.1, 1.2, 1.3]);
    expectAllClose(e1.oldLogp, [-0.2, -0.1]);
    expectAllClose(e1.refLogp, [-0.2, -0.4]);
    expectAllClose(e1.values, [0.4, 0.5]);
    expectAllClose(e1.entropy, [1.4, 1.5]);
  });

  it('k1: KL is old − ref per token; rewards are −β·kl with the score added on the last token', () => {
    // row 0: k1 = [−1 + 1.5, −0.5 + 0.5, −2 + 1] = [0.5, 0, −1]
    //   β = 0.1: rewards [−0.05, 0, 0.1 + 1] = [−0.05, 0, 1.1]
    // row 1: k1 = [0, −0.1 + 0.4] = [0, 0.3]; rewards [0, −0.03 + 0.25] = [0, 0.22]
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, 'k1');
    expectAllClose(e0.kl, [0.5, 0, -1]);
    expectAllClose(e0.rewards, [-0.05, 0, 1.1]);
    expectAllClose(e1.kl, [0, 0.3]);
    expectAllClose(e1.rewards, [0, 0.22]);
  });

  it('k3: KL is e^(ref−old) − (ref−old) − 1 per token, and the rewards follow it', () => {
    // row 0: ref − old = [−0.5, 0, 1] → k3 = [e^−0.5 + 0.5 − 1, 0, e − 2] = [0.1065306597, 0, 0.7182818285]
    //   rewards [−0.01065306597, 0, −0.07182818285 + 1] = [−0.0106530660, 0, 0.9281718172]
    // row 1: ref − old = [0, −0.3] → k3 = [0, e^−0.3 + 0.3 − 1] = [0, 0.0408182207]
    //   rewards [0, −0.00408182207 + 0.25] = [0, 0.2459181779]
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, 'k3');
    expectAllClose(e0.kl, [0.1065306597, 0, 0.7182818285]);
    expectAllClose(e0.rewards, [-0.010653066, 0, 0.9281718172]);
    expectAllClose(e1.kl, [0, 0.0408182207]);
    expectAllClose(e1.rewards, [0, 0.2459181779]);
  });

  it('keeps both KL sums for metrics whatever the estimator', () => {
    // row 0: k1 sum 0.5 + 0 − 1 = −0.5; k3 sum 0.1065306597 + 0.7182818285 = 0.8248124882
    // row 1: k1 sum 0.3; k3 sum 0.0408182207
    for (const estimator of ['k1', 'k3'] as const) {
      const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, estimator);
      expect(e0.klK1Sum).toBeCloseTo(-0.5, 6);
      expect(e0.klK3Sum).toBeCloseTo(0.8248124882, 6);
      expect(e1.klK1Sum).toBeCloseTo(0.3, 6);
      expect(e1.klK3Sum).toBeCloseTo(0.0408182207, 6);
    }
  });

  it("without a reward model the training score is the task's score, equal to gold", () => {
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0.1, 'k1');
    expect([e0.score, e0.gold, e1.score, e1.gold]).toEqual([1, 1, 0.25, 0.25]);
  });

  it("with a reward model the rewards use its score; gold stays the task's", () => {
    const r = { ...plainRollout(), rewardScores: Float32Array.from([0.5, -0.75]) };
    const [e0, e1] = buildEpisodes(r, task, 0.1, 'k1');
    expect([e0.score, e1.score]).toEqual([0.5, -0.75]);
    expect([e0.gold, e1.gold]).toEqual([1, 0.25]);
    // row 0: [−0.05, 0, 0.1 + 0.5]; row 1: [0, −0.03 − 0.75]
    expectAllClose(e0.rewards, [-0.05, 0, 0.6]);
    expectAllClose(e1.rewards, [0, -0.78]);
  });

  it('β = 0 leaves only the score, on the last token', () => {
    const [e0, e1] = buildEpisodes(plainRollout(), task, 0, 'k3');
    expectAllClose(e0.rewards, [0, 0, 1]);
    expectAllClose(e1.rewards, [0, 0.25]);
  });

  it('starts with empty advantages and returns: the algorithm fills them', () => {
    for (const e of buildEpisodes(plainRollout(), task, 0.1, 'k1')) {
      expect(e.advantages).toEqual([]);
      expect(e.returns).toEqual([]);
    }
  });
});

describe('batch normalisation of advantages', () => {
  const withAdvantages = (...lists: number[][]) => lists.map((advantages) => ({ advantages }) as Episode);

  it('whitenAcrossBatch: (A − mean) / std over every token of the batch, not per episode', () => {
    // [1, 2] and [3, 4]: mean 2.5, unbiased std √(5/3) = 1.2909944487
    const episodes = withAdvantages([1, 2], [3, 4]);
    whitenAcrossBatch(episodes);
    const std = Math.sqrt(5 / 3) + 1e-8;
    expectAllClose(episodes[0].advantages, [-1.5 / std, -0.5 / std], 9);
    expectAllClose(episodes[1].advantages, [0.5 / std, 1.5 / std], 9);
  });

  it('scaleAcrossBatch: A / std over every token of the batch, signs and mean kept', () => {
    // Same batch: std √(5/3); [1, 2, 3, 4] / 1.2909944487 = [0.7745966692, 1.5491933385, 2.3237900077, 3.0983866770]
    const episodes = withAdvantages([1, 2], [3, 4]);
    scaleAcrossBatch(episodes);
    expectAllClose(episodes[0].advantages, [0.7745966692, 1.5491933385], 7);
    expectAllClose(episodes[1].advantages, [2.3237900077, 3.098386677], 7);
  });

  it('scaleAcrossBatch leaves a batch with no spread, or a single token, as it is', () => {
    const constant = withAdvantages([2, 2], [2]);
    scaleAcrossBatch(constant);
    expect(constant.map((e) => e.advantages)).toEqual([[2, 2], [2]]);
    const single = withAdvantages([-3]);
    scaleAcrossBatch(single);
    expect(single[0].advantages).toEqual([-3]);
  });
});

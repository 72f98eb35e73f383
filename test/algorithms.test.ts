// Each algorithm's computeAdvantages on hand-made episodes, with every expected number worked out by
// hand below; then PPO's minibatching and its early stop (Spinning Up's 1.5 × targetKl rule), the
// epoch's approx-KL read-back, and what `hasCritic` means for each registered algorithm's update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM_REGISTRY } from '../src/engine/algorithms';
import {
  EpochKl,
  minibatchRows,
  shuffledMinibatches,
  type AlgorithmState,
  type UpdateContext,
} from '../src/engine/algorithms/common';
import { validate, type Config } from '../src/engine/config';
import { DeviceAverages } from '../src/engine/device-averages';
import { buildEpisodes, type Episode } from '../src/engine/episodes';
import { disposeParams, forward, initParams, type ModelShape } from '../src/engine/model';
import { readParam } from '../src/engine/params';
import { Adam } from '../src/engine/optimizer';
import { Random } from '../src/engine/random';
import { nextTokens, tokenLogProbs } from '../src/engine/log-probs';
import type { Rollout } from '../src/engine/rollout';
import type { Task } from '../src/engine/tasks';
import { tf, type Tensor2D } from '../src/engine/tf';
import { BOS, EOS, PAD, SEP } from '../src/engine/tokens';
import { startBackend } from './support/engine';

function expectAllClose(actual: readonly number[], expected: readonly number[], digits = 9): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a, `index ${i}`).toBeCloseTo(expected[i], digits));
}

/** An episode with only what computeAdvantages reads: rewards and the critic's values. */
function episode(rewards: number[], values: number[] = rewards.map(() => 0)): Episode {
  const zeros = rewards.map(() => 0);
  return {
    row: 0,
    prompt: [],
    response: [],
    score: 0,
    outcome: 0,
    gold: 0,
    observed: rewards.map(() => false),
    positions: rewards.map((_, t) => t),
    oldLogp: zeros,
    refLogp: zeros,
    values,
    entropy: zeros,
    kl: zeros,
    klK1Sum: 0,
    klK3Sum: 0,
    rewards,
    advantages: [],
    returns: [],
  };
}

function configOf(settings: Record<string, unknown>): Config {
  const { config, problems } = validate(settings);
  expect(problems).toEqual([]);
  return config;
}

const flatAdvantages = (episodes: Episode[]) => episodes.flatMap((e) => e.advantages);

describe('REINFORCE computeAdvantages', () => {
  // γ = 0.5. Batch 1: r = [0, 1], [0, 0], [0.5] → G = [0.5, 1], [0, 0], [0.5]
  //   flat G = [0.5, 1, 0, 0, 0.5], mean 2/5 = 0.4
  //   deviations [0.1, 0.6, −0.4, −0.4, 0.1], squares sum 0.7, unbiased variance 0.7/4 = 0.175
  // Batch 2: r = [0, 0], [0, 1], [1] → G = [0, 0], [0.5, 1], [1]
  //   flat G = [0, 0, 0.5, 1, 1], mean 0.5, deviations [−0.5, −0.5, 0, 0.5, 0.5], variance 1/4, std 0.5
  // The critic's values are set to nonsense: REINFORCE must not read them.
  const batch1 = () => [episode([0, 1], [9, 9]), episode([0, 0], [9, 9]), episode([0.5], [9])];
  const batch2 = () => [episode([0, 0], [9, 9]), episode([0, 1], [9, 9]), episode([1], [9])];
  // Whitening divides by std + 1e-8 (the guard against a zero std), so the expected values do too.
  const std1 = Math.sqrt(0.175) + 1e-8;
  const run = (baseline: string, whiten: boolean, batches: Array<() => Episode[]>) => {
    const config = configOf({ algorithm: 'reinforce', baseline, whitenAdvantages: whiten, gamma: 0.5 });
    const state: AlgorithmState = {};
    return batches.map((make) => {
      const episodes = make();
      ALGORITHM_REGISTRY.reinforce.computeAdvantages(episodes, config, state);
      return { episodes, advantages: flatAdvantages(episodes), state: { ...state } };
    });
  };

  it('returns are the discounted reward-to-go, whatever the baseline', () => {
    for (const baseline of ['none', 'batch-mean', 'moving-average']) {
      const [{ episodes }] = run(baseline, true, [batch1]);
      expect(episodes.map((e) => e.returns)).toEqual([[0.5, 1], [0, 0], [0.5]]);
    }
  });

  it('without whitening: none is G, batch-mean is G − 0.4', () => {
    expectAllClose(run('none', false, [batch1])[0].advantages, [0.5, 1, 0, 0, 0.5]);
    expectAllClose(run('batch-mean', false, [batch1])[0].advantages, [0.1, 0.6, -0.4, -0.4, 0.1]);
  });

  it('moving average: 0 on the first batch, then the mean of earlier batches moving at rate 0.1', () => {
    // Batch 1: no history, baseline 0 → A = G; the average starts at batch 1's mean, 0.4.
    // Batch 2: baseline 0.4 → A = G − 0.4 = [−0.4, −0.4, 0.1, 0.6, 0.6]; average 0.4 + 0.1·(0.5 − 0.4) = 0.41.
    const [first, second] = run('moving-average', false, [batch1, batch2]);
    expectAllClose(first.advantages, [0.5, 1, 0, 0, 0.5]);
    expect(first.state.movingAverageReturn).toBeCloseTo(0.4, 12);
    expectAllClose(second.advantages, [-0.4, -0.4, 0.1, 0.6, 0.6]);
    expect(second.state.movingAverageReturn).toBeCloseTo(0.41, 12);
  });

  it('whitening divides by the batch std only: the baseline still centres', () => {
    // none: G / √0.175 = [1.1952286093, 2.3904572187, 0, 0, 1.1952286093] — all ≥ 0, nothing pushed down
    const none = run('none', true, [batch1])[0].advantages;
    expectAllClose(none, [0.5 / std1, 1 / std1, 0, 0, 0.5 / std1], 7);
    expect(none[0]).toBeCloseTo(1.1952286093, 7);
    // batch-mean: (G − 0.4) / √0.175 = [0.2390457219, 1.4342743312, −0.9561828875, −0.9561828875, 0.2390457219]
    const batchMean = run('batch-mean', true, [batch1])[0].advantages;
    expectAllClose(batchMean, [0.1 / std1, 0.6 / std1, -0.4 / std1, -0.4 / std1, 0.1 / std1], 7);
    expect(batchMean[2]).toBeCloseTo(-0.9561828875, 7);
    // moving average, batch 2: (G − 0.4) / 0.5 (std of A = std of G: a constant shift keeps the spread)
    const [, moving] = run('moving-average', true, [batch1, batch2]);
    expectAllClose(moving.advantages, [-0.8, -0.8, 0.2, 1.2, 1.2], 7);
  });

  it('with whitening on, the three baselines give three different advantages (the bug: they were equal)', () => {
    const second = (baseline: string) => run(baseline, true, [batch1, batch2])[1].advantages;
    // Batch 2: none = G/0.5 = [0, 0, 1, 2, 2]; batch-mean = (G − 0.5)/0.5 = [−1, −1, 0, 1, 1];
    // moving average = (G − 0.4)/0.5 = [−0.8, −0.8, 0.2, 1.2, 1.2].
    expectAllClose(second('none'), [0, 0, 1, 2, 2], 7);
    expectAllClose(second('batch-mean'), [-1, -1, 0, 1, 1], 7);
    expectAllClose(second('moving-average'), [-0.8, -0.8, 0.2, 1.2, 1.2], 7);
  });

  it('whitening leaves a constant batch as it is rather than dividing by a zero std', () => {
    // Every return 1, no baseline: std 0; an advantage of 1 must not become 1/1e-8.
    const episodes = [episode([1]), episode([0, 1])];
    const config = configOf({ algorithm: 'reinforce', baseline: 'none', whitenAdvantages: true, gamma: 1 });
    ALGORITHM_REGISTRY.reinforce.computeAdvantages(episodes, config, {});
    expect(flatAdvantages(episodes)).toEqual([1, 1, 1]);
  });
});

describe.each(['actor-critic', 'ppo'] as const)('%s computeAdvantages (GAE, CleanRL whitening)', (algorithm) => {
  // γ = 0.9, λ = 0.5 (γλ = 0.45), V after the last action = 0.
  // Episode 1: r = [0, 1], V = [0.5, 0.8]
  //   δ1 = 1 − 0.8 = 0.2;  δ0 = 0 + 0.9·0.8 − 0.5 = 0.22
  //   A = [0.22 + 0.45·0.2, 0.2] = [0.31, 0.2];  R = A + V = [0.81, 1.0]
  // Episode 2: r = [0, 0, 0], V = [0.2, 0.1, 0.4]
  //   δ2 = −0.4;  δ1 = 0.9·0.4 − 0.1 = 0.26;  δ0 = 0.9·0.1 − 0.2 = −0.11
  //   A2 = −0.4;  A1 = 0.26 + 0.45·(−0.4) = 0.08;  A0 = −0.11 + 0.45·0.08 = −0.074
  //   R = [0.126, 0.18, 0]
  const make = () => [episode([0, 1], [0.5, 0.8]), episode([0, 0, 0], [0.2, 0.1, 0.4])];
  const run = (whiten: boolean) => {
    const episodes = make();
    const config = configOf({ algorithm, whitenAdvantages: whiten, gamma: 0.9, lambda: 0.5 });
    ALGORITHM_REGISTRY[algorithm].computeAdvantages(episodes, config, {});
    return episodes;
  };

  it('GAE advantages and value targets without whitening', () => {
    const episodes = run(false);
    expectAllClose(flatAdvantages(episodes), [0.31, 0.2, -0.074, 0.08, -0.4]);
    expectAllClose(
      episodes.flatMap((e) => e.returns),
      [0.81, 1.0, 0.126, 0.18, 0],
    );
  });

  it('whitening subtracts the batch mean and divides by the std; value targets keep their scale', () => {
    // flat A = [0.31, 0.2, −0.074, 0.08, −0.4]: mean 0.116/5 = 0.0232
    // deviations [0.2868, 0.1768, −0.0972, 0.0568, −0.4232], squares sum 0.3052848, variance /4 = 0.0763212
    // whitened = [1.0381414612, 0.6399700500, −0.3518387379, 0.2056012378, −1.5318740110]
    const episodes = run(true);
    const std = Math.sqrt(0.0763212) + 1e-8;
    expectAllClose(
      flatAdvantages(episodes),
      [0.2868 / std, 0.1768 / std, -0.0972 / std, 0.0568 / std, -0.4232 / std],
      7,
    );
    expect(flatAdvantages(episodes)[4]).toBeCloseTo(-1.531874011, 7);
    expectAllClose(
      episodes.flatMap((e) => e.returns),
      [0.81, 1.0, 0.126, 0.18, 0],
    );
  });
});

describe('PPO minibatches', () => {
  it('each epoch uses every episode exactly once, in exactly `minibatches` slices within one of each other in size', () => {
    const rng = new Random(7);
    for (const [n, minibatches, sizes] of [
      [8, 4, [2, 2, 2, 2]],
      [64, 4, [16, 16, 16, 16]],
      [10, 4, [2, 3, 2, 3]],
      [32, 9, [3, 4, 3, 4, 3, 4, 3, 4, 4]],
      [32, 10, [3, 3, 3, 3, 4, 3, 3, 3, 3, 4]],
      [5, 1, [5]],
    ] as const) {
      for (let epoch = 0; epoch < 3; epoch++) {
        const rows = minibatchRows(n, minibatches, rng);
        expect(rows.map((r) => r.length)).toEqual(sizes);
        expect(
          rows.flat().sort((a, b) => a - b),
          `n=${n} epoch ${epoch}`,
        ).toEqual(Array.from({ length: n }, (_, i) => i));
      }
    }
  });

  it('shuffles afresh each epoch, and the same seed replays the same shuffles', () => {
    const epochs = (seed: number) => {
      const rng = new Random(seed);
      return Array.from({ length: 4 }, () => minibatchRows(16, 4, rng).flat());
    };
    const orders = epochs(3);
    // Four epochs, four different orders (16! orders: equal ones would mean the generator was reused).
    expect(new Set(orders.map((o) => o.join(','))).size).toBe(4);
    expect(orders[0]).not.toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(epochs(3)).toEqual(orders);
    expect(epochs(4)[0]).not.toEqual(orders[0]);
  });

  it("shuffledMinibatches hands out the episodes at minibatchRows' indices, drawing the same shuffle", () => {
    const episodes = ['a', 'b', 'c', 'd', 'e'];
    const rows = minibatchRows(5, 2, new Random(3));
    const minibatches = shuffledMinibatches(episodes, 2, new Random(3));
    expect(minibatches).toEqual(rows.map((r) => r.map((i) => episodes[i])));
    expect(minibatches.map((m) => m.length)).toEqual([2, 3]);
  });
});

describe('EpochKl', () => {
  beforeAll(async () => {
    await startBackend('cpu');
  });

  const loss = (kl: number) => ({ total: tf.scalar(0), report: { 'policy/approx_kl': tf.scalar(kl) } });

  it("reads back the mean of the watched steps' approx-KL and frees what it kept", async () => {
    const before = tf.memory().numTensors;
    const epoch = new EpochKl(true);
    const losses = [0.1, 0.2, 0.6].map(loss);
    // watch passes each loss through untouched
    losses.forEach((l) => expect(epoch.watch(l)).toBe(l));
    losses.forEach((l) => tf.dispose([l.total, l.report['policy/approx_kl']]));
    expect(await epoch.read()).toBeCloseTo(0.3, 6); // (0.1 + 0.2 + 0.6) / 3
    expect(tf.memory().numTensors).toBe(before);
  });

  it('when off, keeps nothing and reads NaN', async () => {
    const before = tf.memory().numTensors;
    const epoch = new EpochKl(false);
    const l = loss(5);
    epoch.watch(l);
    tf.dispose([l.total, l.report['policy/approx_kl']]);
    expect(tf.memory().numTensors).toBe(before);
    expect(await epoch.read()).toBeNaN();
  });
});

describe('one update on a hand-made rollout', () => {
  // A tiny model and a hand-made rollout of 4 episodes whose old log-probs are the model's own, so the
  // first minibatch step of a fresh model sees a ratio of exactly 1 (approx-KL 0).
  const shape: ModelShape = { vocabSize: 8, dModel: 8, nLayers: 1, nHeads: 2, contextLength: 8 };
  const responses = [
    [4, 5, EOS],
    [5, 4, EOS],
    [6, 7, EOS],
    [7, 7, EOS],
  ];
  const prompts = [[4], [5], [6], [7]];
  const scores = [1, 0, 0.5, 0];
  const task = { score: (_p: readonly number[], r: readonly number[]) => scores[responses.indexOf(r as number[])] };
  let tensorsBefore = 0;

  beforeAll(async () => {
    await startBackend('cpu');
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  /**
   * Runs one update (PPO unless `algorithm` says otherwise) from a fresh model, same seed every time;
   * returns optimizer steps, metrics, and whether the value head's weights moved.
   */
  async function runUpdate(settings: Record<string, unknown>) {
    const config = configOf({ algorithm: 'ppo', batchSize: 4, learningRate: 0.01, groupSize: 2, ...settings });
    const algorithm = ALGORITHM_REGISTRY[config.algorithm];
    const params = initParams(shape, 11);
    const time = shape.contextLength;
    const tokens = new Int32Array(prompts.length * time).fill(PAD);
    prompts.forEach((p, b) => tokens.set([BOS, ...p, SEP, ...responses[b]], b * time));
    const [oldLogp, values] = tf.tidy(() => {
      const t = tf.tensor2d(tokens, [prompts.length, time], 'int32');
      const out = forward(params, shape, t, config.temperature);
      return [tokenLogProbs(out.logits, nextTokens(t)).logp, out.values as Tensor2D];
    });
    const rollout: Rollout = {
      batchSize: prompts.length,
      time,
      tokens,
      prompts,
      responses,
      responseStart: 3,
      oldLogp: oldLogp.dataSync() as Float32Array,
      refLogp: oldLogp.dataSync() as Float32Array,
      values: values.dataSync() as Float32Array,
      entropy: new Float32Array(prompts.length * time),
    };
    tf.dispose([oldLogp, values]);
    const episodes = buildEpisodes(rollout, task as unknown as Task, 0, 'k1');
    algorithm.computeAdvantages(episodes, config, {});
    const optimizer = new Adam(params);
    const ctx: UpdateContext = { config, params, shape, optimizer, metrics: new DeviceAverages(), shuffleSeed: 5 };
    const valueHead = () => [...readParam(params, 'valueHead.w'), ...readParam(params, 'valueHead.b')];
    const valueHeadBefore = valueHead();
    await algorithm.update(ctx, rollout, episodes);
    const valueHeadMoved = valueHead().some((w, i) => w !== valueHeadBefore[i]);
    const metrics = await ctx.metrics.read();
    const steps = optimizer.step;
    optimizer.dispose();
    disposeParams(params);
    return { steps, metrics, valueHeadMoved };
  }

  it.each(Object.keys(ALGORITHM_REGISTRY))(
    '%s: spec.hasCritic says whether the update trains the value head (and reports a value loss)',
    async (name) => {
      // Without a critic the value head gets a gradient of exactly 0, and Adam moves a weight by
      // m̂/(√v̂ + ε) = 0; with one, the value loss moves it away from its initial 0.
      const { valueHeadMoved, metrics } = await runUpdate({ algorithm: name, epochs: 1, minibatches: 1 });
      const { hasCritic } = ALGORITHM_REGISTRY[name as keyof typeof ALGORITHM_REGISTRY].spec;
      expect(valueHeadMoved).toBe(hasCritic);
      expect('loss/value' in metrics).toBe(hasCritic);
    },
  );

  describe('PPO early stop', () => {
    it('without a target every epoch runs every minibatch', async () => {
      expect((await runUpdate({ epochs: 3, minibatches: 2, targetKl: 0 })).steps).toBe(6);
      expect((await runUpdate({ epochs: 3, minibatches: 2, targetKl: 10 })).steps).toBe(6);
    });

    it('stops the remaining epochs once the epoch mean approx-KL exceeds 1.5 × targetKl, not 1×', async () => {
      // The first epoch alone: its mean approx-KL k is what the rule compares (reported as a metric).
      const first = await runUpdate({ epochs: 1, minibatches: 2, targetKl: 0 });
      const k = first.metrics['policy/approx_kl'];
      expect(first.steps).toBe(2);
      expect(k).toBeGreaterThan(1e-7);
      // targetKl = k / 1.4: k > targetKl (a 1× rule would stop here) but k < 1.5·targetKl, so epoch 2 runs;
      // its KL, further from the old policy, then passes 1.5·targetKl: 2 epochs × 2 minibatches.
      expect((await runUpdate({ epochs: 3, minibatches: 2, targetKl: k / 1.4 })).steps).toBe(4);
      // targetKl = k / 1.6: k > 1.5·targetKl → stop after the first epoch's 2 steps.
      expect((await runUpdate({ epochs: 3, minibatches: 2, targetKl: k / 1.6 })).steps).toBe(2);
    });

    it('measures KL before each step: one minibatch per epoch sees KL 0 in epoch 1 and stops after epoch 2', async () => {
      // Epoch 1's only minibatch is evaluated with the untouched weights: ratio 1, approx-KL exactly 0, no
      // stop. Epoch 2 sees the weights after one step, so a tiny target stops it there: 2 of 4 steps.
      expect((await runUpdate({ epochs: 4, minibatches: 1, targetKl: 1e-9 })).steps).toBe(2);
    });
  });
});

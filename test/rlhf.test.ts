// The RLHF pipeline's parts: the hidden human's score, demonstrations, labelled comparisons, rank
// agreement, and a reward model that learns the human's preferences from comparisons.
import { beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../src/engine/config';
import { Random } from '../src/engine/random';
import { RewardModel } from '../src/engine/reward-model';
import { demonstrationSet, labelPairs, rankAgreement } from '../src/engine/rlhf';
import type { Rollout } from '../src/engine/rollout';
import type { Metrics } from '../src/engine/metrics';
import { createTask } from '../src/engine/tasks';
import { goldScore, likedLetters } from '../src/engine/tasks/preference';
import { tf } from '../src/engine/tf';
import { createTrainer, type Trainer } from '../src/engine/trainer';
import { findPreset } from '../src/presets';
import { decodeLink } from '../src/share/link';
import { startBackend } from './support/engine';

const task = createTask(validate({ task: 'preference' }).config);
const ids = (text: string) => text.split(' ').map((t) => task.vocab.id(t));
const liked = likedLetters(task.vocab);

describe('the hidden human (preference task)', () => {
  it('likes a, b and c of five letters', () => {
    expect(liked).toEqual(ids('a b c'));
  });

  it.each([
    ['a b c <eos>', 1],
    ['c a b <eos>', 1],
    ['a a a <eos>', (1 + 1 / 3) / 2],
    ['d e <eos>', (0 + 2 / 3) / 2],
    ['a b c d <eos>', (3 / 4 + 2 / 3) / 2],
    ['a b c d e', 0.6 / 2],
    ['<eos>', 0],
  ])('scores "%s" as %f = (taste + style) / 2', (response, expected) => {
    expect(goldScore(ids(response), liked)).toBeCloseTo(expected, 10);
    expect(task.score([], ids(response))).toBeCloseTo(expected, 10);
  });

  it('writes demonstrations better than random responses: the best of four', () => {
    const demos = demonstrationSet(task, 400, 1);
    const mean = demos.reduce((a, d) => a + task.score([], d), 0) / demos.length;
    const rng = new Random(2);
    const random = Array.from({ length: 400 }, () => {
      const length = 1 + rng.int(4);
      return [...Array.from({ length }, () => 4 + rng.int(5)), 3];
    });
    const randomMean = random.reduce((a, r) => a + task.score([], r), 0) / random.length;
    expect(mean).toBeGreaterThan(randomMean + 0.1);
    expect(demos.every((d) => d.at(-1) === task.vocab.id('<eos>'))).toBe(true);
  });
});

describe('comparisons', () => {
  const rollout = (responses: string[]): Rollout => {
    const time = 8;
    const tokens = new Int32Array(responses.length * time);
    const parsed = responses.map(ids);
    parsed.forEach((r, b) => tokens.set([1, 2, ...r], b * time));
    const zeros = new Float32Array(responses.length * time);
    return {
      batchSize: responses.length,
      time,
      tokens,
      prompts: responses.map(() => []),
      responses: parsed,
      responseStart: 2,
      oldLogp: zeros,
      refLogp: zeros,
      values: zeros,
      entropy: zeros,
    };
  };

  it('pair rows 2i and 2i+1, the better one chosen, ties skipped, ends at the last token', () => {
    const pairs = labelPairs(rollout(['a a a <eos>', 'a b c <eos>', 'd <eos>', 'd <eos>']), task, 0, new Random(1));
    expect(pairs).toHaveLength(1);
    expect(Array.from(pairs[0].chosen.slice(2, 6))).toEqual(ids('a b c <eos>'));
    expect(pairs[0].chosenEnd).toBe(5);
    expect(Array.from(pairs[0].rejected.slice(2, 6))).toEqual(ids('a a a <eos>'));
  });

  it('label noise 0.3 flips about 30% of 2,000 labels', () => {
    const rows = Array.from({ length: 4000 }, (_, i) => (i % 2 === 0 ? 'a b c <eos>' : 'd d <eos>'));
    const pairs = labelPairs(rollout(rows), task, 0.3, new Random(3));
    const flipped = pairs.filter((p) => p.chosen[2] === task.vocab.id('d')).length / pairs.length;
    expect(flipped).toBeGreaterThan(0.27);
    expect(flipped).toBeLessThan(0.33);
  });

  it('rank agreement counts concordant pairs, skipping gold ties', () => {
    expect(rankAgreement([3, 2, 1], [0.9, 0.5, 0.1])).toBe(1);
    expect(rankAgreement([1, 2, 3], [0.9, 0.5, 0.1])).toBe(0);
    // pairs (0,1) agree, (0,2) disagree, (1,2) is a gold tie
    expect(rankAgreement([2, 1, 3], [0.9, 0.5, 0.5])).toBe(0.5);
    expect(rankAgreement([1, 2], [0.5, 0.5])).toBeNaN();
  });
});

describe('the reward model', () => {
  beforeAll(() => startBackend('wasm'));

  it('reaches ≥ 0.8 accuracy on held-out comparisons (seed 1, default settings)', async () => {
    const trainer = createTrainer({ task: 'preference', seed: 1 });
    await trainer.pretrain();
    const { metrics } = await trainer.step();
    trainer.dispose();
    console.log(`reward model: held-out accuracy ${metrics['rm/accuracy']}, loss ${metrics['rm/loss']}`);
    expect(metrics['rm/accuracy']).toBeGreaterThanOrEqual(0.8);
    expect(metrics['rm/loss']).toBeLessThan(Math.log(2));
    expect(Number.isFinite(metrics['reward/gold'])).toBe(true);
  });

  it('bootstrapping: every rmRefreshEvery updates, labelled pairs of the current batch join the training set', async () => {
    const trainer = createTrainer({
      task: 'preference',
      seed: 1,
      sftSteps: 10,
      rmSteps: 20,
      comparisons: 40,
      rmRefreshEvery: 2,
      batchSize: 64,
    });
    await trainer.pretrain();
    const initial = trainer.comparisonsTrained;
    expect(initial).toBe(32); // 40 pairs, every fifth held out
    await trainer.step();
    expect(trainer.comparisonsTrained).toBe(initial);
    const { metrics } = await trainer.step();
    const added = trainer.comparisonsTrained - initial;
    trainer.dispose();
    // 64 samples make 32 pairs; pairs the human scores equal are skipped.
    expect(added).toBeGreaterThan(10);
    expect(added).toBeLessThanOrEqual(32);
    expect(Number.isFinite(metrics['rm/loss'])).toBe(true);
  });
});

describe('reward-model upkeep', () => {
  beforeAll(() => startBackend('wasm'));
  const SMALL = { task: 'preference', seed: 1, sftSteps: 10, rmSteps: 20, comparisons: 40, batchSize: 16 } as const;
  /** The trainer's private reward model, for checks the metrics do not show. */
  const modelOf = (trainer: Trainer) => trainer.rewardModel as RewardModel;

  /** Mean and standard deviation of the normalised scores of every response in the comparisons. */
  async function normalisedStats(model: RewardModel): Promise<{ mean: number; std: number }> {
    const pairs = [...model.train, ...model.heldOut];
    const time = pairs[0].chosen.length;
    const rows = pairs.flatMap((p) => [
      [p.chosen, p.chosenEnd],
      [p.rejected, p.rejectedEnd],
    ]) as [Int32Array, number][];
    const tokens = new Int32Array(rows.length * time);
    rows.forEach(([r], i) => tokens.set(r, i * time));
    const scores = tf.tidy(() =>
      model.scoreTensor(
        tf.tensor2d(tokens, [rows.length, time], 'int32'),
        tf.tensor1d(
          rows.map(([, end]) => end),
          'int32',
        ),
      ),
    );
    const values = Array.from(await scores.data());
    scores.dispose();
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
  }

  it('the proxy is renormalised to mean 0, std 1 on the comparisons after every bootstrapping refit', async () => {
    const trainer = createTrainer({ ...SMALL, rmRefreshEvery: 1 });
    await trainer.pretrain();
    const before = await normalisedStats(modelOf(trainer));
    expect(before.mean).toBeCloseTo(0, 4);
    expect(before.std).toBeCloseTo(1, 4);
    await trainer.step(); // adds this batch's pairs and refits
    const after = await normalisedStats(modelOf(trainer));
    trainer.dispose();
    expect(after.mean).toBeCloseTo(0, 4);
    expect(after.std).toBeCloseTo(1, 4);
  });

  it('a reward-model fit that goes NaN is undone and reported with the next update', async () => {
    const poisoned = createTrainer(SMALL, { injectRewardModelNaN: true });
    await poisoned.pretrain();
    const model = modelOf(poisoned);
    // The poisoned loss makes every gradient NaN; without the guard every weight would now be NaN.
    const weights = Array.from(await model.params.flat.data());
    expect(weights.every(Number.isFinite)).toBe(true);
    const { divergence, metrics } = await poisoned.step();
    expect(divergence?.quantity).toBe('rm/loss');
    expect(divergence?.message).toMatch(/rm\/loss became NaN while fitting the reward model; the fit was undone/);
    expect(Number.isFinite(metrics['reward/score'])).toBe(true);
    expect((await poisoned.step()).divergence).toBeUndefined();
    poisoned.dispose();
  });

  it('re-running RL undoes bootstrapping refits: the reward model is the one stage 2 left', async () => {
    const trainer = createTrainer({ ...SMALL, rmRefreshEvery: 1 });
    await trainer.pretrain();
    const model = modelOf(trainer);
    const pairs = trainer.comparisonsTrained;
    const weights = Array.from(await model.params.flat.data());
    await trainer.step();
    await trainer.step();
    expect(trainer.comparisonsTrained).toBeGreaterThan(pairs);
    expect(Array.from(await model.params.flat.data())).not.toEqual(weights);
    trainer.rerunRl();
    expect(trainer.comparisonsTrained).toBe(pairs);
    expect(Array.from(await model.params.flat.data())).toEqual(weights);
    expect(await normalisedStats(model)).toEqual({ mean: expect.closeTo(0, 4), std: expect.closeTo(1, 4) });
    trainer.dispose();
  });

  it('re-running RL resets the algorithm state (REINFORCE’s moving-average baseline)', async () => {
    const trainer = createTrainer({
      task: 'target',
      algorithm: 'reinforce',
      baseline: 'moving-average',
      batchSize: 8,
      sftSteps: 3,
    });
    const state = () => (trainer as unknown as { algorithmState: { movingAverageReturn?: number } }).algorithmState;
    await trainer.step();
    await trainer.step();
    expect(state().movingAverageReturn).toEqual(expect.any(Number));
    trainer.rerunRl();
    expect(state().movingAverageReturn).toBeUndefined();
    expect(trainer.update).toBe(0);
    trainer.dispose();
  });
});

describe('the RLHF pipeline preset', () => {
  beforeAll(() => startBackend('wasm'));

  // Seeds 1–5 with the RLHF pipeline preset (v2's defaults, batch 64; npm run train -- --preset
  // rlhf-pipeline): entropy over the last 20 of 200 updates 0.35–0.73, gold 0.82–0.87 at the end against
  // 0.74–0.77 after SFT. At v1's defaults (learning rate 0.003, β = 0.02, no entropy bonus) seed 2
  // collapsed onto `a<eos>` (entropy 0.02, gold 0.80 → 0.67); at batch 128 onto `ca<eos>` (entropy 0.03,
  // gold 0.78 → 0.83): lessons/DEFAULTS.md.
  it('stays healthy for 200 updates on seed 2: entropy > 0.05 at the end and gold no worse than after SFT', async () => {
    const preset = decodeLink(findPreset('rlhf-pipeline')?.link ?? '').config;
    const trainer = createTrainer({ ...preset, seed: 2 });
    const history: Metrics[] = [];
    for (let i = 0; i < 200; i++) history.push((await trainer.step()).metrics);
    trainer.dispose();
    const mean = (rows: Metrics[], name: 'policy/entropy' | 'reward/gold') =>
      rows.reduce((a, m) => a + m[name], 0) / rows.length;
    const entropy = mean(history.slice(-20), 'policy/entropy');
    const [goldStart, goldEnd] = [mean(history.slice(0, 5), 'reward/gold'), mean(history.slice(-5), 'reward/gold')];
    console.log(
      `default RLHF run, seed 2: entropy (last 20) ${entropy.toFixed(3)}, gold ${goldStart.toFixed(3)} → ${goldEnd.toFixed(3)}`,
    );
    expect(entropy).toBeGreaterThan(0.05);
    expect(goldEnd).toBeGreaterThanOrEqual(goldStart);
  });
});

// The seed's training practices as switches: running reward normalisation and the KL-adaptive learning
// rate (plain numbers by hand, then in the trainer), and where the KL goes (klIn).
import { beforeAll, describe, expect, it } from 'vitest';
import type { AlgorithmState } from '../src/engine/algorithms/common';
import { klInReward } from '../src/engine/algorithms/specs';
import { validate } from '../src/engine/config';
import { createTrainer } from '../src/engine/trainer';
import { ADAPTIVE_LR_BOUNDS, klAdaptiveLearningRate, normaliseScores } from '../src/engine/training-practices';
import { startBackend } from './support/engine';

describe('reward normalisation (plain numbers)', () => {
  it('the first batch by its own mean and std; the next by the running statistics of both', () => {
    const state: AlgorithmState = {};
    // [0, 1]: mean 0.5, population std 0.5.
    const first = normaliseScores([0, 1], state);
    expect(first[0]).toBeCloseTo(-1, 6);
    expect(first[1]).toBeCloseTo(1, 6);
    // Running over [0, 1, 1, 1]: mean 0.75, variance (0.5625 + 3·0.0625)/4 = 0.1875.
    const second = normaliseScores([1, 1], state);
    const std = Math.sqrt(0.1875);
    expect(state.scoreCount).toBe(4);
    expect(state.scoreMean).toBeCloseTo(0.75, 12);
    expect(second[0]).toBeCloseTo(0.25 / std, 6);
    expect(second[1]).toBeCloseTo(0.5773503, 6);
  });

  it('a constant first batch maps to (about) 0, not NaN', () => {
    for (const x of normaliseScores([0.4, 0.4, 0.4], {})) expect(Math.abs(x)).toBeLessThan(1e-7);
  });
});

describe('KL-adaptive learning rate (plain numbers)', () => {
  it('halves above 2× the target, ×1.5 below ½×, keeps it between, and stays within the bounds', () => {
    expect(klAdaptiveLearningRate(0.001, 0.02, 0.008)).toBeCloseTo(0.0005, 12);
    expect(klAdaptiveLearningRate(0.001, 0.001, 0.008)).toBeCloseTo(0.0015, 12);
    expect(klAdaptiveLearningRate(0.001, 0.008, 0.008)).toBe(0.001);
    expect(klAdaptiveLearningRate(0.001, 0.016, 0.008)).toBe(0.001);
    expect(klAdaptiveLearningRate(0.009, 0, 0.008)).toBe(ADAPTIVE_LR_BOUNDS.max);
    expect(klAdaptiveLearningRate(1.5e-6, 1, 0.008)).toBe(ADAPTIVE_LR_BOUNDS.min);
    expect(klAdaptiveLearningRate(0.001, Number.NaN, 0.008)).toBe(0.001);
    // A rate set above the bounds is kept while the KL is in the band or low.
    expect(klAdaptiveLearningRate(0.05, 0.008, 0.008)).toBe(0.05);
    expect(klAdaptiveLearningRate(0.05, 0, 0.008)).toBe(0.05);
    // A move lands inside the bounds.
    expect(klAdaptiveLearningRate(0.05, 1, 0.008)).toBe(0.01);
  });
});

describe('where the KL goes', () => {
  it('auto is the algorithm’s own place: the loss for GRPO, the reward for the others', () => {
    const place = (algorithm: string, klIn: string) => klInReward(validate({ algorithm, klIn, groupSize: 2 }).config);
    expect(place('grpo', 'auto')).toBe(false);
    expect(place('ppo', 'auto')).toBe(true);
    expect(place('rloo', 'auto')).toBe(true);
    expect(place('ppo', 'loss')).toBe(false);
    expect(place('grpo', 'reward')).toBe(true);
  });
});

describe('in the trainer (wasm)', () => {
  beforeAll(() => startBackend('wasm'));
  const tiny = { task: 'reverse', dModel: 16, batchSize: 16, sftSteps: 5, seed: 3 };

  it('rewardNorm: reward/normalised is the batch mean of normalised scores (0 on update 1); the score chart keeps raw scores', async () => {
    const plain = createTrainer(tiny);
    const normalised = createTrainer({ ...tiny, rewardNorm: true });
    try {
      const a = (await plain.step()).metrics;
      const b = (await normalised.step()).metrics;
      expect(Number.isNaN(a['reward/normalised'])).toBe(true);
      expect(b['reward/normalised']).toBeCloseTo(0, 6);
      // Same seed, same first rollout: the raw scores agree; the rewards do not.
      expect(b['reward/score']).toBe(a['reward/score']);
      expect(b['reward/total']).not.toBeCloseTo(a['reward/total'], 3);
    } finally {
      plain.dispose();
      normalised.dispose();
    }
  });

  it('adaptiveLr: optim/lr follows the rule from each update’s approx-KL', async () => {
    const trainer = createTrainer({ ...tiny, adaptiveLr: true, learningRate: 0.003, lrKlTarget: 0.008 });
    try {
      let lr = 0.003;
      for (let u = 1; u <= 6; u++) {
        const { metrics } = await trainer.step();
        expect(metrics['optim/lr']).toBeCloseTo(lr, 12);
        lr = klAdaptiveLearningRate(lr, metrics['policy/approx_kl'], 0.008);
      }
      // It moved: the rule is not a no-op on this run.
      expect(lr).not.toBeCloseTo(0.003, 6);
      // Setting the learning rate restarts the adaptive rate from it.
      expect(trainer.set('learningRate', 0.002)).toBeUndefined();
      expect((await trainer.step()).metrics['optim/lr']).toBe(0.002);
    } finally {
      trainer.dispose();
    }
  });

  it('klIn loss: PPO’s rewards carry no KL penalty (total = score) while KL to the reference is still reported', async () => {
    const trainer = createTrainer({ ...tiny, klIn: 'loss', beta: 0.5 });
    try {
      await trainer.step();
      const { metrics } = await trainer.step();
      expect(Math.abs(metrics['kl/ref'])).toBeGreaterThan(1e-4);
      expect(metrics['reward/total']).toBeCloseTo(metrics['reward/score'], 12);
    } finally {
      trainer.dispose();
    }
  });
});

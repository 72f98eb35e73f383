// The trainer's contracts: determinism, no leaked tensors, the NaN guard, mid-run settings, bad input.
import { beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHMS } from '../src/engine/config';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import type { Params } from '../src/engine/params';
import { createTrainer } from '../src/engine/trainer';
import { tf } from '../src/engine/tf';
import { startBackend, tensorCounts } from './support/engine';

/** A small, quick configuration; the contracts do not depend on size. */
const SMALL = { batchSize: 16, sftSteps: 10, epochs: 2, minibatches: 2 };
const TIMING = new Set<string>([
  'time_s',
  'perf/update_ms',
  'perf/tokens_per_s',
  'perf/rollout_ms',
  'perf/optimize_ms',
]);

function withoutTiming(m: Metrics): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !TIMING.has(k)));
}

describe('trainer on the cpu backend', () => {
  beforeAll(() => startBackend('cpu'));

  it('gives identical metrics for 6 updates when run twice with the same seed', async () => {
    const runs: Record<string, number>[][] = [];
    for (let r = 0; r < 2; r++) {
      const trainer = createTrainer({ ...SMALL, seed: 42 });
      const rows: Record<string, number>[] = [];
      for (let i = 0; i < 6; i++) rows.push(withoutTiming((await trainer.step()).metrics));
      trainer.dispose();
      runs.push(rows);
    }
    expect(runs[1]).toEqual(runs[0]);
    // And the run is not trivially constant: scores move.
    expect(new Set(runs[0].map((m) => m['reward/score'])).size).toBeGreaterThan(3);
  });

  it('gives different numbers for a different seed', async () => {
    const scores: number[][] = [];
    for (const seed of [1, 2]) {
      const trainer = createTrainer({ ...SMALL, sftSteps: 0, seed });
      const rows: number[] = [];
      for (let i = 0; i < 3; i++) rows.push((await trainer.step()).metrics['reward/score']);
      trainer.dispose();
      scores.push(rows);
    }
    expect(scores[0]).not.toEqual(scores[1]);
  });
});

describe('trainer on the wasm backend', () => {
  beforeAll(() => startBackend('wasm'));

  it.each(ALGORITHMS)(
    '%s keeps tf.memory().numTensors equal at update 10 and update 60 (TRPO: 30)',
    async (algorithm) => {
      // targetKl, adaptive KL, reward normalisation and the KL-adaptive learning rate on, so those paths
      // are covered too.
      const [atTen, atEnd] = await tensorCounts(
        {
          algorithm,
          batchSize: 8,
          sftSteps: 5,
          minibatches: 2,
          targetKl: 0.01,
          adaptiveKl: true,
          rewardNorm: true,
          adaptiveLr: true,
        },
        // TRPO's update costs ~10 others' (conjugate gradient, line search): 30 updates keep the file fast.
        algorithm === 'trpo' ? 30 : 60,
        10,
      );
      expect(atEnd).toBe(atTen);
    },
  );

  it('frees every tensor it made on dispose', async () => {
    const before = tf.memory().numTensors;
    const trainer = createTrainer(SMALL);
    await trainer.step();
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports every metric name of docs/reference.md §5 each update, finite for PPO (rm/* only with a reward model, trpo/* only for TRPO, reward/normalised only with rewardNorm)', async () => {
    const trainer = createTrainer(SMALL);
    await trainer.step();
    const { metrics } = await trainer.step();
    trainer.dispose();
    expect(Object.keys(metrics).sort()).toEqual([...METRIC_NAMES].sort());
    const notForThisRun = (name: string) =>
      name.startsWith('rm/') ||
      name.startsWith('trpo/') ||
      name === 'reward/normalised' ||
      // Only tasks with a scratchpad (chain) write think tokens.
      name.startsWith('episode/think_');
    for (const name of METRIC_NAMES) expect(Number.isFinite(metrics[name]), name).toBe(!notForThisRun(name));
    // At update 2 most answers are still wrong: their mean length is between 1 and maxNewTokens.
    expect(metrics['episode/failed_length']).toBeGreaterThanOrEqual(1);
    expect(metrics['episode/failed_length']).toBeLessThanOrEqual(5);
    // The KL the whole update moved the policy, estimated after its last step.
    expect(metrics['policy/update_kl']).toBeGreaterThan(0);
    // Without a reward model the training score is the task's own score.
    expect(metrics['reward/gold']).toBe(metrics['reward/score']);
    expect(metrics.update).toBe(2);
    expect(metrics.episodes).toBe(32);
    expect(metrics['policy/clipfrac']).toBeGreaterThanOrEqual(0);
    expect(metrics['policy/clipfrac']).toBeLessThanOrEqual(1);
  });

  it('skips an update whose loss is NaN, keeps the last good weights and names the quantity', async () => {
    const trainer = createTrainer({ ...SMALL, seed: 3 }, { injectNaNAtUpdate: 3 });
    await trainer.step();
    await trainer.step();
    const weightsBefore = snapshotWeights(trainer);
    const poisoned = await trainer.step();
    expect(poisoned.divergence?.update).toBe(3);
    expect(poisoned.divergence?.quantity).toBe('loss/policy');
    expect(poisoned.divergence?.message).toMatch(/loss\/policy became NaN at update 3/);
    expect(snapshotWeights(trainer)).toEqual(weightsBefore);
    // Training carries on with finite numbers.
    const next = await trainer.step();
    expect(next.divergence).toBeUndefined();
    expect(Number.isFinite(next.metrics['loss/policy'])).toBe(true);
    expect(snapshotWeights(trainer)).not.toEqual(weightsBefore);
    trainer.dispose();
  });

  it('applies a live setting on the next update and refuses structural ones', async () => {
    const trainer = createTrainer(SMALL);
    const first = await trainer.step();
    expect(first.metrics['optim/lr']).toBe(0.001);
    expect(trainer.set('learningRate', 0.0005)).toBeUndefined();
    expect(trainer.set('beta', '0.5')).toBeUndefined();
    const second = await trainer.step();
    expect(second.metrics['optim/lr']).toBe(0.0005);
    expect(second.metrics['kl/beta']).toBe(0.5);
    expect(trainer.set('task', 'sort')?.message).toMatch(/start a new run/);
    expect(trainer.set('learningRate', 'fast')?.message).toMatch(/not a finite number/);
    expect(trainer.set('learningRate', 5)?.message).toMatch(/outside/);
    expect(trainer.set('nope', 1)?.message).toMatch(/Unknown setting/);
    expect(trainer.settings.learningRate).toBe(0.0005);
    trainer.dispose();
  });

  it('reports bad config values through validate instead of throwing from inside', async () => {
    const trainer = createTrainer({
      ...SMALL,
      algorithm: 'dqn',
      batchSize: -3,
      dModel: 30,
      nHeads: 4,
      temperature: Number.NaN,
    });
    const keys = trainer.problems.map((p) => p.key);
    expect(keys).toEqual(expect.arrayContaining(['algorithm', 'batchSize', 'nHeads', 'temperature']));
    expect(trainer.settings.algorithm).toBe('ppo');
    expect(trainer.settings.batchSize).toBe(2);
    expect(trainer.settings.nHeads).toBe(3);
    const { metrics } = await trainer.step();
    expect(Number.isFinite(metrics['reward/score'])).toBe(true);
    trainer.dispose();
  });

  it('returns decoded samples with per-token log-prob, advantage and KL', async () => {
    const trainer = createTrainer({ ...SMALL, task: 'reverse' });
    const { samples } = await trainer.step();
    trainer.dispose();
    expect(samples).toHaveLength(4);
    for (const s of samples) {
      expect(s.prompt).toHaveLength(3);
      expect(s.expected).toEqual([...s.prompt].reverse());
      expect(s.logp).toHaveLength(s.response.length);
      expect(s.advantage).toHaveLength(s.response.length);
      expect(s.kl).toHaveLength(s.response.length);
      for (const lp of s.logp) expect(lp).toBeLessThanOrEqual(0);
    }
  });
});

function snapshotWeights(trainer: unknown): number[] {
  const params = (trainer as { policy: Params }).policy;
  return Array.from(params.flat.dataSync());
}

describe('next-token distributions for the inspector', () => {
  beforeAll(() => startBackend('wasm'));

  it('are probability vectors, equal for policy and reference before RL, apart after learning', async () => {
    const trainer = createTrainer({ ...SMALL, task: 'target', beta: 0 });
    await trainer.pretrain();
    const prefix = [1, 2]; // <bos> <sep>: the first answer letter is next
    const before = await trainer.nextTokenDistributions(prefix);
    expect(before.policy).toHaveLength(trainer.task.vocab.size);
    expect(before.policy.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(before.policy).toEqual(before.reference);
    for (let i = 0; i < 15; i++) await trainer.step();
    const after = await trainer.nextTokenDistributions(prefix);
    const b = trainer.task.vocab.id('b'); // the target word is "bad"
    expect(after.policy[b]).toBeGreaterThan(after.reference[b] + 0.2);
    await expect(trainer.nextTokenDistributions([])).rejects.toThrow(/prefix needs 1 to 10 tokens/);
    trainer.dispose();
  });
});

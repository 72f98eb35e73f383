// Runs survive a reload (issue 14): a trainer saved to plain data and restored continues with exactly
// the numbers it would have given uninterrupted, and a bad snapshot fails cleanly.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/engine/config';
import type { Metrics } from '../src/engine/metrics';
import { SNAPSHOT_FORMAT, type TrainerSnapshot } from '../src/engine/snapshot';
import { createTrainer, Trainer } from '../src/engine/trainer';
import { tf } from '../src/engine/tf';
import { startBackend } from './support/engine';

const PPO = { task: 'reverse', algorithm: 'ppo', batchSize: 16, sftSteps: 10, epochs: 2, minibatches: 2, seed: 7 };
const REINFORCE = {
  task: 'reverse',
  algorithm: 'reinforce',
  baseline: 'moving-average',
  adaptiveKl: true,
  klTarget: 0.5,
  klHorizon: 200,
  batchSize: 16,
  sftSteps: 10,
  seed: 3,
};
// Half the default width and few comparisons: the reward model's refits dominate the time.
const PREFERENCE = {
  task: 'preference',
  dModel: 16,
  batchSize: 16,
  sftSteps: 10,
  rmSteps: 20,
  comparisons: 24,
  rmRefreshEvery: 3,
  seed: 1,
};

type Row = Record<string, number>;

/** Every metric but wall-clock ones (time_s, perf/*), which differ run to run. */
function comparable(m: Metrics): Row {
  return Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'time_s' && !k.startsWith('perf/')));
}

async function run(trainer: Trainer, updates: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < updates; i++) rows.push(comparable((await trainer.step()).metrics));
  return rows;
}

/** Snapshots `trainer`, disposes it, and restores the snapshot (after `transform`) into a new one. */
async function reload(trainer: Trainer, transform = (s: TrainerSnapshot) => s): Promise<Trainer> {
  const snapshot = await trainer.snapshot();
  trainer.dispose();
  return Trainer.restore(transform(snapshot));
}

/**
 * Runs `before + after` updates straight, then `before`, a reload, and `after`: the last `after`
 * updates must match metric for metric, and no tensor may be left behind.
 */
async function expectSameAfterReload(
  config: Record<string, unknown>,
  before: number,
  after: number,
  midway: (t: Trainer) => void = () => {},
): Promise<Row[]> {
  const tensors = tf.memory().numTensors;
  const straight = createTrainer(config);
  const expected = await run(straight, before);
  midway(straight);
  expected.push(...(await run(straight, after)));
  straight.dispose();

  const first = createTrainer(config);
  await run(first, before);
  midway(first);
  const restored = await reload(first);
  expect(restored.update).toBe(before);
  const actual = await run(restored, after);
  restored.dispose();

  expect(actual).toEqual(expected.slice(before));
  expect(tf.memory().numTensors).toBe(tensors);
  return expected;
}

describe('a saved and restored trainer continues identically (wasm)', () => {
  beforeAll(() => startBackend('wasm'));

  it('(a) PPO on reverse: updates 7–12 after a reload at 6 equal an uninterrupted run', async () => {
    const rows = await expectSameAfterReload(PPO, 6, 6);
    // Not a run that stands still: scores and the clipped fraction move after the reload.
    expect(new Set(rows.slice(6).map((m) => m['reward/score'])).size).toBeGreaterThan(3);
    expect(rows[8]['policy/clipfrac']).toBeGreaterThan(0);
  });

  it('(b) REINFORCE with the moving-average baseline, adaptive KL and a live learning-rate change', async () => {
    // The learning rate changes before the save, so the saved config must carry the live setting.
    const rows = await expectSameAfterReload(REINFORCE, 6, 6, (t) =>
      expect(t.set('learningRate', 0.003)).toBe(undefined),
    );
    expect(rows[6]['optim/lr']).toBe(0.003);
    // β moves every update (adaptive), so a β not saved would show.
    expect(new Set(rows.map((m) => m['kl/beta'])).size).toBe(12);

    // The baseline's state matters: the same snapshot without it gives a different next update.
    const trainer = createTrainer(REINFORCE);
    await run(trainer, 6);
    const snapshot = await trainer.snapshot();
    trainer.dispose();
    expect(snapshot.algorithmState.movingAverageReturn).toEqual(expect.any(Number));
    const withBaseline = Trainer.restore(snapshot);
    const withoutBaseline = Trainer.restore({ ...snapshot, algorithmState: {} });
    const [a] = await run(withBaseline, 1);
    const [b] = await run(withoutBaseline, 1);
    withBaseline.dispose();
    withoutBaseline.dispose();
    expect(b['loss/policy']).not.toBe(a['loss/policy']);
  });

  it('(c) preference with bootstrapping: refits after the reload, then a re-run of RL, match', async () => {
    const tensors = tf.memory().numTensors;
    // Training pairs after stage 2, at the save (update 6), after update 12 and after the re-run of RL.
    const pairs = (t: Trainer) => t.comparisonsTrained;
    const straight = createTrainer(PREFERENCE);
    const expected = await run(straight, 12);
    const expectedPairs = [pairs(straight)];
    straight.rerunRl();
    expected.push(...(await run(straight, 2)));
    expectedPairs.push(pairs(straight));
    straight.dispose();

    const first = createTrainer(PREFERENCE);
    await first.pretrain();
    const afterStage2 = pairs(first);
    await run(first, 6);
    const atSave = pairs(first);
    const restored = await reload(first);
    expect(pairs(restored)).toBe(atSave);
    const actual = await run(restored, 6);
    const actualPairs = [pairs(restored)];
    // Back to the reward model as stage 2 left it: the checkpoint survived the reload.
    restored.rerunRl();
    actual.push(...(await run(restored, 2)));
    actualPairs.push(pairs(restored));
    restored.dispose();

    expect(actual).toEqual(expected.slice(6));
    expect(actualPairs).toEqual(expectedPairs);
    // Refits at updates 3 and 6 added pairs before the save, at 9 and 12 after it; the re-run drops them.
    expect(atSave).toBeGreaterThan(afterStage2);
    expect(expectedPairs[0]).toBeGreaterThan(atSave);
    expect(expectedPairs[1]).toBe(afterStage2);
    expect(new Set(expected.slice(6, 12).map((m) => m['rm/loss'])).size).toBeGreaterThan(1);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('(d) a save during format pretraining, and one during the reward-model fit, finish identically', async () => {
    const tensors = tf.memory().numTensors;
    const straight = createTrainer(PPO);
    await straight.pretrain(3);
    const expected = await run(straight, 3);
    straight.dispose();

    const first = createTrainer(PPO);
    await first.pretrain(3);
    const restored = await reload(first);
    expect(restored.stage).toBe('sft');
    expect(restored.stageProgress).toBeCloseTo(0.3, 12);
    expect(restored.sftLoss).toBe(first.sftLoss);
    const actual = await run(restored, 3);
    restored.dispose();
    expect(actual).toEqual(expected);
    expect(actual[0]['sft/loss']).toBeGreaterThan(0);

    // Preference: 10 SFT steps and 5 of the 20 reward-model steps, then a reload in stage 2 (the
    // minibatch generator's state and the comparisons carry the fit on).
    const config = { ...PREFERENCE, rmRefreshEvery: 0 };
    const straightRm = createTrainer(config);
    await straightRm.pretrain(15);
    const expectedRm = await run(straightRm, 2);
    straightRm.dispose();

    const firstRm = createTrainer(config);
    await firstRm.pretrain(15);
    const restoredRm = await reload(firstRm);
    expect(restoredRm.stage).toBe('reward-model');
    expect(restoredRm.stageProgress).toBe(5 / 20);
    const actualRm = await run(restoredRm, 2);
    restoredRm.dispose();
    expect(actualRm).toEqual(expectedRm);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('(e) a structured clone of the snapshot (what IndexedDB stores) restores too, and is plain data', async () => {
    const straight = createTrainer(PREFERENCE);
    const expected = await run(straight, 5);
    straight.dispose();

    const first = createTrainer(PREFERENCE);
    await run(first, 3);
    const snapshot = await first.snapshot();
    first.dispose();
    expectPlainData(snapshot, 'snapshot');
    expect(snapshot.format).toBe(1);
    expect(snapshot.rewardModelStage?.model?.checkpoint).toBeDefined();

    const restored = Trainer.restore(structuredClone(snapshot));
    const actual = await run(restored, 2);
    restored.dispose();
    expect(actual).toEqual(expected.slice(3));
  });

  it('a run saved before lengthNorm became lossAgg restores, reading lengthNorm: false as lossAgg constant', async () => {
    const trainer = createTrainer({ ...PPO, sftSteps: 2 });
    await run(trainer, 1);
    const snapshot = await trainer.snapshot();
    trainer.dispose();
    const older: Record<string, unknown> = { ...snapshot.config, lengthNorm: false };
    delete older.lossAgg;
    const restored = Trainer.restore({ ...snapshot, config: older as unknown as Config });
    expect(restored.settings.lossAgg).toBe('constant');
    restored.dispose();
  });

  it('(f) a snapshot of another format, with bad settings or a short array throws a clear message and leaks nothing', async () => {
    const trainer = createTrainer({ ...PPO, sftSteps: 2 });
    await run(trainer, 1);
    const snapshot = await trainer.snapshot();
    trainer.dispose();
    const tensors = tf.memory().numTensors;
    const n = snapshot.policy.length;

    expect(() => Trainer.restore({ ...snapshot, format: 2 })).toThrow(
      'This saved run cannot be restored: it has format 2, and this version reads format 1.',
    );
    expect(() => Trainer.restore({ ...snapshot, policy: snapshot.policy.slice(1) })).toThrow(
      `This saved run cannot be restored: policy has ${n - 1} values where this model has ${n}.`,
    );
    expect(() => Trainer.restore({ ...snapshot, config: { ...snapshot.config, learningRate: 'fast' } })).toThrow(
      /^This saved run cannot be restored: its settings do not validate \(Learning rate/,
    );
    const badAdam = { ...snapshot, optimizer: { ...snapshot.optimizer, v: new Float32Array(3) } };
    expect(() => Trainer.restore(badAdam)).toThrow('optimizer.v has 3 values where this model has');
    expect(() => Trainer.restore({ ...snapshot, reference: undefined })).toThrow(
      'it has RL updates but no reference policy',
    );
    expect(() => Trainer.restore(null)).toThrow('the snapshot is not an object');
    expect(tf.memory().numTensors).toBe(tensors);
    expect(SNAPSHOT_FORMAT).toBe(1);
  });

  it('(g) no tensor leaks: a preference run saved twice, restored and disposed leaves the count where it was', async () => {
    const tensors = tf.memory().numTensors;
    const trainer = createTrainer(PREFERENCE);
    await run(trainer, 2);
    await trainer.snapshot();
    const restored = await reload(trainer);
    await run(restored, 1);
    await restored.snapshot();
    restored.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

/** Only what structuredClone and IndexedDB keep as is, and each typed array in a buffer of its own. */
function expectPlainData(value: unknown, path: string): void {
  if (value === null || ['number', 'string', 'boolean'].includes(typeof value)) return;
  if (value instanceof Float32Array || value instanceof Int32Array) {
    // A view into a larger buffer would drag the whole buffer into the store.
    expect(value.buffer.byteLength, path).toBe(value.byteLength);
    return;
  }
  if (Array.isArray(value)) return value.forEach((v, i) => expectPlainData(v, `${path}[${i}]`));
  expect(Object.getPrototypeOf(value), path).toBe(Object.prototype);
  for (const [k, v] of Object.entries(value as object)) expectPlainData(v, `${path}.${k}`);
}

describe('a saved and restored trainer continues identically (cpu)', () => {
  beforeAll(() => startBackend('cpu'));

  it('PPO on reverse, batch 8: updates 4–6 after a reload at 3 equal an uninterrupted run', async () => {
    await expectSameAfterReload({ ...PPO, batchSize: 8, sftSteps: 4 }, 3, 3);
  });
});

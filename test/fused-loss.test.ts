// The fused per-token loss (src/engine/algorithms/fused-loss.ts) against the same losses written with
// tfjs ops and autodiff: the total, every reported term and the gradient with respect to every weight,
// for PPO (value clip on and off, the KL in the loss, entropy bonus on and off), GRPO (each loss
// aggregation, clip-higher), REINFORCE and actor-critic, on a real rollout with the weights moved off those that sampled it (so ratios are not 1
// and some tokens clip). On wasm the loss runs as one kernel (src/engine/kernels/wasm-fused.ts): the same
// numbers as the tfjs composite to 1e-5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorCriticLoss, actorCriticLossByAutodiff } from '../src/engine/algorithms/actor-critic';
import {
  batchTensors,
  disposeBatch,
  type EpisodeBatch,
  type Loss,
  type UpdateContext,
} from '../src/engine/algorithms/common';
import { grpoLoss, grpoLossByAutodiff } from '../src/engine/algorithms/grpo';
import { ppoLoss, ppoLossByAutodiff } from '../src/engine/algorithms/ppo';
import { ALGORITHM_REGISTRY } from '../src/engine/algorithms';
import { DEFAULT_FUSED_OPS, FUSED_OPS, KERNELS, setFusedOps } from '../src/engine/kernels/wasm-fused';
import { reinforceLoss, reinforceLossByAutodiff } from '../src/engine/algorithms/reinforce';
import { validate, type Config } from '../src/engine/config';
import { buildEpisodes } from '../src/engine/episodes';
import { initParams, type ModelShape, type Params } from '../src/engine/model';
import { Random } from '../src/engine/random';
import { rollout } from '../src/engine/rollout';
import { createTask } from '../src/engine/tasks';
import { tf } from '../src/engine/tf';
import { startBackend } from './support/engine';

interface Fixture {
  config: Config;
  params: Params;
  shape: ModelShape;
  batch: EpisodeBatch;
  dispose(): void;
}

/** A rollout of `raw`'s settings, its advantages by `algorithm`, and weights nudged away from the sampling ones. */
async function fixture(raw: Record<string, unknown>): Promise<Fixture> {
  const { config } = validate({ batchSize: 16, seed: 5, ...raw });
  const task = createTask(config);
  const shape = {
    vocabSize: task.vocab.size,
    dModel: config.dModel,
    nLayers: config.nLayers,
    nHeads: config.nHeads,
    contextLength: config.contextLength,
  };
  const params = initParams(shape, 11, 'fused', task.actions);
  const reference = initParams(shape, 12, 'fusedRef', task.actions);
  const rng = new Random(3);
  const nudge = (p: Params, size: number) =>
    tf.tidy(() =>
      p.flat.assign(tf.add(p.flat, tf.tensor1d(Float32Array.from({ length: p.flat.size }, () => size * rng.normal())))),
    );
  nudge(params, 0.05); // the value head starts at 0: give it values to regress
  const prompts = Array.from({ length: config.batchSize }, () => task.prompt(rng));
  const r = await rollout(params, reference, shape, prompts, {
    batchSize: config.batchSize,
    maxNewTokens: config.maxNewTokens,
    temperature: config.temperature,
    samplingSeed: 9,
  });
  const episodes = buildEpisodes(r, task, config.beta, config.klEstimator);
  ALGORITHM_REGISTRY[config.algorithm].computeAdvantages(episodes, config, {});
  const batch = batchTensors(r, episodes);
  r.logSoftmax?.dispose();
  // Moved off the sampling weights, so ratios differ from 1 and PPO's clips bite.
  nudge(params, 0.03);
  return {
    config,
    params,
    shape,
    batch,
    dispose() {
      disposeBatch(batch);
      tf.dispose([params.flat, reference.flat, params.logitMask, reference.logitMask].filter((t) => t !== undefined));
    },
  };
}

/** The loss's total, reported terms and gradient with respect to the weights, read back. */
async function evaluateLoss(f: Fixture, lossOf: (ctx: UpdateContext, batch: EpisodeBatch) => Loss) {
  const ctx = { config: f.config, params: f.params, shape: f.shape, beta: f.config.beta } as UpdateContext;
  let report: Loss['report'] = {};
  const { value, grads } = tf.variableGrads(() => {
    const loss = lossOf(ctx, f.batch);
    report = loss.report;
    for (const t of Object.values(report)) if (t) tf.keep(t);
    return loss.total;
  }, [f.params.flat]);
  const gradient = await grads[f.params.flat.name].data();
  const terms: Record<string, number> = Object.fromEntries(
    await Promise.all(Object.entries(report).map(async ([k, t]) => [k, (await (t as tf.Scalar).data())[0]] as const)),
  );
  const total = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads), ...Object.values(report).filter((t) => t !== undefined)]);
  return { total, terms, gradient: Array.from(gradient) };
}

async function expectSame(
  raw: Record<string, unknown>,
  autodiff: (ctx: UpdateContext, b: EpisodeBatch) => Loss,
  fused: (ctx: UpdateContext, b: EpisodeBatch) => Loss = ppoLoss,
) {
  const f = await fixture(raw);
  try {
    const a = await evaluateLoss(f, autodiff);
    const b = await evaluateLoss(f, fused);
    expect(b.total).toBeCloseTo(a.total, 5);
    expect(Object.keys(b.terms).sort()).toEqual(Object.keys(a.terms).sort());
    for (const [k, v] of Object.entries(a.terms)) expect(b.terms[k], k).toBeCloseTo(v, 5);
    const scale = Math.max(...a.gradient.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-4);
    const worst = Math.max(...a.gradient.map((g, i) => Math.abs(g - b.gradient[i])));
    expect(worst / scale).toBeLessThan(1e-4);
    return a.terms;
  } finally {
    f.dispose();
  }
}

describe('fused per-token loss = autodiff loss (cpu)', () => {
  beforeAll(() => startBackend('cpu'));
  const before = { tensors: 0 };
  beforeAll(() => (before.tensors = tf.memory().numTensors));
  afterAll(() => expect(tf.memory().numTensors).toBe(before.tensors));

  it('PPO with the value clip and the entropy bonus: some tokens clip', async () => {
    const terms = await expectSame({ algorithm: 'ppo', entropyCoef: 0.01, valueClip: 0.2 }, ppoLossByAutodiff);
    expect(terms['policy/clipfrac']).toBeGreaterThan(0);
    expect(terms['value/clipfrac']).toBeGreaterThan(0);
  });

  it('PPO without the value clip or the entropy bonus, with the KL in the loss', async () => {
    await expectSame({ algorithm: 'ppo', entropyCoef: 0, valueClip: 0, klIn: 'loss', beta: 0.1 }, ppoLossByAutodiff);
  });

  it('PPO at c_v = 0 still reports its value loss and value clip fraction, without training the critic', async () => {
    const terms = await expectSame({ algorithm: 'ppo', valueCoef: 0 }, ppoLossByAutodiff);
    expect(terms['loss/value']).toBeGreaterThan(0);
  });

  it('REINFORCE, with and without the KL in the loss', async () => {
    await expectSame({ algorithm: 'reinforce', entropyCoef: 0.01 }, reinforceLossByAutodiff, reinforceLoss);
    await expectSame({ algorithm: 'reinforce', klIn: 'loss', beta: 0.1 }, reinforceLossByAutodiff, reinforceLoss);
  });

  it('GRPO with each loss aggregation, clip-higher, and the KL in the loss or in the reward', async () => {
    const grpo = { algorithm: 'grpo', groupSize: 4, entropyCoef: 0.01, clipEpsilonHigh: 0.28 };
    const terms = await expectSame({ ...grpo, lossAgg: 'response', beta: 0.1 }, grpoLossByAutodiff, grpoLoss);
    expect(terms['policy/clipfrac']).toBeGreaterThan(0);
    await expectSame({ ...grpo, lossAgg: 'token', beta: 0.1 }, grpoLossByAutodiff, grpoLoss);
    await expectSame({ ...grpo, lossAgg: 'constant', klIn: 'reward' }, grpoLossByAutodiff, grpoLoss);
  });

  it('actor-critic with a value term', async () => {
    await expectSame(
      { algorithm: 'actor-critic', entropyCoef: 0.01, valueCoef: 0.5 },
      actorCriticLossByAutodiff,
      actorCriticLoss,
    );
  });
});

const GRPO = { algorithm: 'grpo', groupSize: 4, entropyCoef: 0.01 };

describe('the single-kernel loss = the composite loss (wasm)', () => {
  beforeAll(() => startBackend('wasm'));
  const before = { tensors: 0 };
  beforeAll(() => (before.tensors = tf.memory().numTensors));
  afterAll(() => {
    setFusedOps(DEFAULT_FUSED_OPS);
    expect(tf.memory().numTensors).toBe(before.tensors);
  });

  it.each([
    [{ algorithm: 'ppo', entropyCoef: 0.01, valueClip: 0.2 }, ppoLoss],
    [{ algorithm: 'ppo', entropyCoef: 0, valueClip: 0, klIn: 'loss', beta: 0.1 }, ppoLoss],
    [{ algorithm: 'ppo', valueCoef: 0 }, ppoLoss],
    [{ algorithm: 'reinforce', entropyCoef: 0.01 }, reinforceLoss],
    [{ algorithm: 'reinforce', klIn: 'loss', beta: 0.1 }, reinforceLoss],
    [{ algorithm: 'actor-critic', entropyCoef: 0.01, valueCoef: 0.5 }, actorCriticLoss],
    [{ ...GRPO, lossAgg: 'response', beta: 0.1, clipEpsilonHigh: 0.28 }, grpoLoss],
    [{ ...GRPO, lossAgg: 'token', beta: 0.1 }, grpoLoss],
    [{ ...GRPO, lossAgg: 'constant', klIn: 'reward', clipEpsilonHigh: 0.28 }, grpoLoss],
  ] as [Record<string, unknown>, (ctx: UpdateContext, b: EpisodeBatch) => Loss][])('%j', async (raw, lossOf) => {
    const f = await fixture(raw);
    try {
      setFusedOps(FUSED_OPS.filter((op) => op !== 'loss'));
      const a = await evaluateLoss(f, lossOf);
      setFusedOps(FUSED_OPS);
      const kernels = await tf.profile(async () => void (await evaluateLoss(f, lossOf)));
      expect(kernels.kernels.filter((k) => k.name === KERNELS.tokenLoss)).toHaveLength(1);
      const b = await evaluateLoss(f, lossOf);
      // The clip bites on some tokens, so the clipped branch and its gradient are covered.
      if (raw.algorithm === 'ppo' || raw.algorithm === 'grpo') expect(a.terms['policy/clipfrac']).toBeGreaterThan(0);
      expect(Math.abs(b.total - a.total)).toBeLessThan(1e-5);
      expect(Object.keys(b.terms).sort()).toEqual(Object.keys(a.terms).sort());
      for (const [k, v] of Object.entries(a.terms)) expect(Math.abs(b.terms[k] - v), k).toBeLessThan(1e-5);
      const worst = Math.max(...a.gradient.map((g, i) => Math.abs(g - b.gradient[i])));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      f.dispose();
    }
  });
});

// The forward pass a sampler records while it samples (src/engine/sampling.ts with `record`, the cache's
// kernel in kernels/wasm-model-cache.ts): REINFORCE's, actor-critic's and RLOO's one step reads its logits,
// values and gradient from the recording instead of running the pass. It must be the pass's floats: the
// loss, the gradient, and the logits and values at every position a decision reads, bit for bit; and it
// must never be read once the weights changed or a newer recording overwrote it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM_REGISTRY } from '../src/engine/algorithms';
import { DEFAULT_FUSED_OPS, setFusedOps } from '../src/engine/kernels/wasm-fused';
import { modelKernelStats } from '../src/engine/kernels/wasm-model';
import { disposeParams, forward, initParams, type ModelShape, type Params } from '../src/engine/model';
import { rollout, promptBuffer, type Rollout } from '../src/engine/rollout';
import { GumbelSampler } from '../src/engine/sampling';
import { tf, type Tensor } from '../src/engine/tf';
import { metricsOfUpdates, startBackend } from './support/engine';

interface Case {
  name: string;
  shape: ModelShape;
  batch: number;
  promptLength: number;
  maxNewTokens: number;
  temperature: number;
}

const CASES: Case[] = [
  {
    name: 'one block, the default width',
    shape: { vocabSize: 9, dModel: 32, nLayers: 1, nHeads: 2, contextLength: 10 },
    batch: 16,
    promptLength: 3,
    maxNewTokens: 4,
    temperature: 1,
  },
  {
    name: 'two blocks, temperature 0.7',
    shape: { vocabSize: 10, dModel: 64, nLayers: 2, nHeads: 4, contextLength: 12 },
    batch: 8,
    promptLength: 4,
    maxNewTokens: 5,
    temperature: 0.7,
  },
  {
    // More logits a row than 4·d floats, and a long buffer after the last sampled position.
    name: 'a wide vocabulary on a narrow model',
    shape: { vocabSize: 37, dModel: 8, nLayers: 2, nHeads: 2, contextLength: 30 },
    batch: 4,
    promptLength: 6,
    maxNewTokens: 7,
    temperature: 1,
  },
];

/** A policy away from its initial constants (zero value head, unit gains), so every term is exercised. */
function perturbed(shape: ModelShape, seed: number): Params {
  const actions = Array.from({ length: shape.vocabSize - 3 }, (_, i) => i + 3);
  const params = initParams(shape, seed, `recorded-${seed}`, actions);
  tf.tidy(() => params.flat.assign(tf.add(params.flat, tf.randomNormal(params.flat.shape, 0, 0.3, 'float32', seed))));
  return params;
}

/** Runs `body` with a perturbed policy and reference of the case's shape, and frees both after. */
async function withModels(
  c: Case,
  seeds: [number, number],
  body: (policy: Params, reference: Params) => Promise<void>,
): Promise<void> {
  const policy = perturbed(c.shape, seeds[0]);
  const reference = perturbed(c.shape, seeds[1]);
  try {
    await body(policy, reference);
  } finally {
    disposeParams(policy);
    disposeParams(reference);
  }
}

function promptsOf(c: Case, seed: number): number[][] {
  return Array.from({ length: c.batch }, (_, b) =>
    Array.from({ length: c.promptLength }, (_, i) => 4 + ((b * 5 + i * 3 + seed) % (c.shape.vocabSize - 4))),
  );
}

async function sampled(c: Case, policy: Params, reference: Params, seed: number, record = true): Promise<Rollout> {
  const settings = {
    batchSize: c.batch,
    maxNewTokens: c.maxNewTokens,
    temperature: c.temperature,
    samplingSeed: seed,
    recordForward: record,
  };
  return rollout(policy, reference, c.shape, promptsOf(c, seed), settings);
}

/** The loss (log-probs and values at decision positions, random weights), its gradient, logits and values. */
function pass(c: Case, policy: Params, r: Rollout, useRecording: boolean): Float32Array[] {
  const time = c.shape.contextLength;
  const keepFrom = r.responseStart - 1;
  const lastSampled = r.responseStart + c.maxNewTokens - 1;
  const tokens = tf.tensor2d(r.tokens, [c.batch, time], 'int32');
  const read = tf.tensor2d(
    Array.from({ length: c.batch * time }, (_, i) => (i % time >= keepFrom && i % time < lastSampled ? 1 : 0)),
    [c.batch, time],
  );
  const recorded = useRecording ? r.recorded : undefined;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(policy, c.shape, tokens, c.temperature, keepFrom, recorded);
      const weights = tf.mul(tf.randomNormal(out.logits.shape, 0, 1, 'float32', 11), tf.expandDims(read, 2));
      const policyTerm = tf.sum(tf.mul(tf.logSoftmax(out.logits), weights));
      return tf.add(policyTerm, tf.sum(tf.mul(tf.square(tf.sub(out.values, 0.3)), read))) as tf.Scalar;
    }, [policy.flat]);
    const outputs = tf.tidy(() => {
      const out = forward(policy, c.shape, tokens, c.temperature, keepFrom, recorded);
      return [out.logits, out.values];
    });
    const all: Tensor[] = [value, grads[policy.flat.name], ...outputs];
    const result = all.map((t) => t.dataSync() as Float32Array);
    tf.dispose(all);
    return result;
  } finally {
    tf.dispose([tokens, read]);
  }
}

function differing(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('the forward pass recorded while sampling', () => {
  beforeAll(async () => {
    await startBackend('wasm');
    setFusedOps(DEFAULT_FUSED_OPS);
  });
  afterAll(() => setFusedOps(DEFAULT_FUSED_OPS));

  it.each(CASES)('$name: the same loss, gradient, logits and values as the pass', async (c) => {
    await withModels(c, [3, 4], async (policy, reference) => {
      const r = await sampled(c, policy, reference, 7);
      expect(r.recorded).toBeDefined();
      r.logSoftmax?.dispose();
      const ran = pass(c, policy, r, false);
      const before = { ...modelKernelStats };
      const tensorsBefore = tf.memory().numTensors;
      const read = pass(c, policy, r, true);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      // Both passes of `pass` read the recording; the gradient is the one backward kernel.
      expect(modelKernelStats.recorded - before.recorded).toBe(2);
      expect(modelKernelStats.forward - before.forward).toBe(0);
      expect(modelKernelStats.backward - before.backward).toBe(1);

      const [loss, gradient, logits, values] = read;
      expect(differing(loss, ran[0]), 'loss').toBe(0);
      expect(differing(gradient, ran[1]), 'gradient').toBe(0);
      expect(gradient.reduce((n, g) => n + (g !== 0 ? 1 : 0), 0)).toBeGreaterThan(gradient.length * 0.5);
      // Every position up to the last sampled one (whose token was written after its row was computed).
      const time = c.shape.contextLength;
      const v = c.shape.vocabSize;
      const lastSampled = r.responseStart + c.maxNewTokens - 1;
      let compared = 0;
      logits.forEach((x, i) => {
        if (Math.floor(i / v) % time >= lastSampled) return;
        expect(x, `logit ${i}`).toBe(ran[2][i]);
        compared++;
      });
      values.forEach((x, i) => {
        if (i % time >= lastSampled) return;
        expect(x, `value ${i}`).toBe(ran[3][i]);
        compared++;
      });
      expect(compared).toBe(c.batch * lastSampled * (v + 1));
    });
  });

  it('is not read once the weights changed, or once a newer rollout recorded', async () => {
    const c = CASES[1];
    await withModels(c, [5, 6], async (policy, reference) => {
      const first = await sampled(c, policy, reference, 8);
      first.logSoftmax?.dispose();
      const second = await sampled(c, policy, reference, 9);
      second.logSoftmax?.dispose();
      // The first recording was overwritten: its pass runs (and gives the pass's numbers).
      let before = { ...modelKernelStats };
      const stale = pass(c, policy, first, true);
      expect(modelKernelStats.recorded - before.recorded).toBe(0);
      expect(differing(stale[1], pass(c, policy, first, false)[1])).toBe(0);
      // The second is current until the weights change.
      before = { ...modelKernelStats };
      pass(c, policy, second, true);
      expect(modelKernelStats.recorded - before.recorded).toBe(2);
      tf.tidy(() => policy.flat.assign(tf.add(policy.flat, 0.01)));
      before = { ...modelKernelStats };
      const moved = pass(c, policy, second, true);
      expect(modelKernelStats.recorded - before.recorded).toBe(0);
      expect(differing(moved[1], pass(c, policy, second, false)[1])).toBe(0);
    });
  });

  it('is not offered when the rollout was not asked, or when observations reloaded the buffer', async () => {
    const c = CASES[0];
    await withModels(c, [5, 6], async (policy, reference) => {
      const plain = await sampled(c, policy, reference, 8, false);
      plain.logSoftmax?.dispose();
      expect(plain.recorded).toBeUndefined();
      const { tokens, responseStart } = promptBuffer(promptsOf(c, 8), c.shape.contextLength);
      const sampler = new GumbelSampler(policy, c.shape, 1, c.maxNewTokens, 8, tokens, true);
      try {
        sampler.sample(responseStart);
        const buffer = Int32Array.from((await sampler.tokens.data()) as Int32Array);
        sampler.load(buffer, Uint8Array.from(await sampler.done.data()));
        for (let s = 1; s < c.maxNewTokens; s++) sampler.sample(responseStart + s);
        expect(sampler.recorded).toBeUndefined();
      } finally {
        sampler.dispose();
      }
    });
  });

  it('stops a recording sampler whose buffer a newer recording took, rather than write into it', () => {
    const c = CASES[0];
    const policy = perturbed(c.shape, 5);
    const { tokens, responseStart } = promptBuffer(promptsOf(c, 8), c.shape.contextLength);
    const first = new GumbelSampler(policy, c.shape, 1, c.maxNewTokens, 8, tokens, true);
    const second = new GumbelSampler(policy, c.shape, 1, c.maxNewTokens, 9, tokens, true);
    try {
      first.sample(responseStart);
      second.sample(responseStart);
      expect(() => first.sample(responseStart + 1)).toThrow(/interleaved/);
      second.sample(responseStart + 1);
    } finally {
      first.dispose();
      second.dispose();
      disposeParams(policy);
    }
  });

  // End to end: the algorithms that read it train to the same numbers with it as without.
  it.each(['reinforce', 'actor-critic', 'rloo'] as const)(
    '%s: three updates give the same metrics with the recording as with the pass',
    async (algorithm) => {
      const spec = ALGORITHM_REGISTRY[algorithm] as { readsRecordedForward?: boolean };
      const run = async (reads: boolean) => {
        spec.readsRecordedForward = reads;
        const config = { algorithm, batchSize: 32, sftSteps: 10, seed: 4, nLayers: 2, groupSize: 4, temperature: 0.9 };
        try {
          return await metricsOfUpdates(algorithm === 'rloo' ? config : { ...config, groupSize: 1 }, 3);
        } finally {
          spec.readsRecordedForward = true;
        }
      };
      const ran = await run(false);
      const before = modelKernelStats.recorded;
      const read = await run(true);
      // One read a step (the loss's pass); the update's KL after the step runs the pass at the new weights.
      expect(modelKernelStats.recorded - before).toBe(3);
      expect(read).toEqual(ran);
      expect(Object.keys(read[0]).length).toBeGreaterThan(10);
    },
  );
});

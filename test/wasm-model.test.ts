// The whole model as one kernel each way (src/engine/kernels/wasm-model.ts) against the per-layer ops
// it replaces (layers.ts): logits, values, the loss and the flat gradient must be the same floats, bit
// for bit, since every lesson's numbers were measured on the per-layer path. Also: which path runs when.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasModelKernel } from '../src/engine/fused-model';
import { DEFAULT_FUSED_OPS, FUSED_OPS, setFusedOps } from '../src/engine/kernels/wasm-fused';
import { modelKernelStats } from '../src/engine/kernels/wasm-model';
import { forward, initParams, disposeParams, type ModelShape } from '../src/engine/model';
import { FORBIDDEN } from '../src/engine/params';
import { tf, type Tensor } from '../src/engine/tf';
import { metricsOfUpdates, startBackend } from './support/engine';

type Uses = 'both' | 'logits' | 'values';

interface Case {
  name: string;
  shape: ModelShape;
  batch: number;
  time: number;
  temperature: number;
  uses: Uses;
}

const CASES: Case[] = [
  {
    name: 'default width, one block, both heads',
    shape: { vocabSize: 9, dModel: 32, nLayers: 1, nHeads: 2, contextLength: 10 },
    batch: 32,
    time: 10,
    temperature: 1,
    uses: 'both',
  },
  {
    name: 'two blocks, temperature 0.7, a prefix, the logits only',
    shape: { vocabSize: 9, dModel: 64, nLayers: 2, nHeads: 4, contextLength: 12 },
    batch: 7,
    time: 6,
    temperature: 0.7,
    uses: 'logits',
  },
  {
    name: 'three blocks, odd time, the values only (a reward model)',
    shape: { vocabSize: 11, dModel: 16, nLayers: 3, nHeads: 4, contextLength: 16 },
    batch: 5,
    time: 13,
    temperature: 1,
    uses: 'values',
  },
  {
    // More logits a row than 4·d floats: the kept rows' dLogits once overflowed a buffer sized by d.
    name: 'a wide vocabulary on a narrow model',
    shape: { vocabSize: 37, dModel: 8, nLayers: 2, nHeads: 2, contextLength: 30 },
    batch: 4,
    time: 29,
    temperature: 1,
    uses: 'both',
  },
];

/**
 * Loss value, flat gradient, logits and values of one forward and backward pass. With `keepFrom`, the
 * loss reads positions from there on only, and the forward passes are told so.
 */
function pass(c: Case, seed: number, keepFrom = 0, tellForward = true): Float32Array[] {
  const params = initParams(c.shape, seed, 'model-test', [1, 2, 3, 4, 5]);
  // Away from the initial constants (zero value head, unit LayerNorm gains), so every term is exercised.
  tf.tidy(() => params.flat.assign(tf.add(params.flat, tf.randomNormal(params.flat.shape, 0, 0.05, 'float32', seed))));
  const ids = Int32Array.from({ length: c.batch * c.time }, (_, i) => (i * 7 + (i >> 3)) % c.shape.vocabSize);
  const tokens = tf.tensor2d(ids, [c.batch, c.time], 'int32');
  try {
    const from = tellForward ? keepFrom : 0;
    const read = tf.tensor2d(
      Array.from({ length: c.batch * c.time }, (_, i) => (i % c.time >= keepFrom ? 1 : 0)),
      [c.batch, c.time],
    );
    const { value, grads } = tf.variableGrads(() => {
      const out = forward(params, c.shape, tokens, c.temperature, from);
      const weights = tf.mul(tf.randomNormal(out.logits.shape, 0, 1, 'float32', seed + 1), tf.expandDims(read, 2));
      const policy = tf.sum(tf.mul(tf.logSoftmax(out.logits), weights));
      const critic = tf.sum(tf.mul(tf.square(tf.sub(out.values, 0.3)), read));
      return (c.uses === 'both' ? tf.add(policy, critic) : c.uses === 'logits' ? policy : critic) as tf.Scalar;
    }, [params.flat]);
    const outputs = tf.tidy(() => {
      const out = forward(params, c.shape, tokens, c.temperature, from);
      return [out.logits, out.values];
    });
    read.dispose();
    const all: Tensor[] = [value, grads[params.flat.name], ...outputs];
    const result = all.map((t) => t.dataSync() as Float32Array);
    tf.dispose(all);
    return result;
  } finally {
    tokens.dispose();
    disposeParams(params);
  }
}

/** Positions where two arrays' floats differ (NaN equals NaN). */
function differing(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) n++;
  return n;
}

describe('the model as one wasm kernel each way', () => {
  beforeAll(() => startBackend('wasm'));
  afterAll(() => setFusedOps(DEFAULT_FUSED_OPS));

  it.each(CASES)('$name: the same floats as the per-layer ops', (c) => {
    setFusedOps(FUSED_OPS.filter((op) => op !== 'model'));
    const before = { ...modelKernelStats };
    const layered = pass(c, 3);
    expect(modelKernelStats).toEqual(before);

    setFusedOps(FUSED_OPS);
    const tensorsBefore = tf.memory().numTensors;
    const whole = pass(c, 3);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // One forward kernel in the gradient pass and one in the plain pass, one backward kernel.
    expect(modelKernelStats.forward - before.forward).toBe(2);
    expect(modelKernelStats.backward - before.backward).toBe(1);

    const names = ['loss', 'gradient', 'logits', 'values'];
    whole.forEach((values, i) => {
      expect(values.length, names[i]).toBe(layered[i].length);
      expect(differing(values, layered[i]), names[i]).toBe(0);
    });
    // Not a vacuous comparison: the gradient reaches every block's weights and both embeddings.
    const nonzero = whole[1].reduce((n, g) => n + (g !== 0 ? 1 : 0), 0);
    expect(nonzero).toBeGreaterThan(whole[1].length * 0.5);
  });

  // keepFrom: the last block after its attention and the heads run on the kept positions alone.
  it.each(CASES)('$name: kept positions from 3 on give the same loss, gradient, logits and values, the rest 0', (c) => {
    setFusedOps(FUSED_OPS);
    const keepFrom = 3;
    const everyRow = pass(c, 5, keepFrom, false);
    const tensorsBefore = tf.memory().numTensors;
    const kept = pass(c, 5, keepFrom);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const [loss, gradient, logits, values] = kept;
    expect(differing(loss, everyRow[0]), 'loss').toBe(0);
    expect(differing(gradient, everyRow[1]), 'gradient').toBe(0);
    const v = c.shape.vocabSize;
    const position = (i: number, width: number) => Math.floor(i / width) % c.time;
    // Earlier positions: raw logits and values of 0, so the logits are the action mask (0 where allowed).
    const mask = Array.from({ length: v }, (_, id) => ([1, 2, 3, 4, 5].includes(id) ? 0 : FORBIDDEN));
    let earlier = 0;
    logits.forEach((x, i) => {
      if (position(i, v) >= keepFrom) expect(x, `logit ${i}`).toBe(everyRow[2][i]);
      else earlier += x === Math.fround(mask[i % v] / c.temperature) || x === mask[i % v] ? 1 : 0;
    });
    values.forEach((x, i) => {
      if (position(i, 1) >= keepFrom) expect(x, `value ${i}`).toBe(everyRow[3][i]);
      else earlier += x === 0 ? 1 : 0;
    });
    expect(earlier).toBe(c.batch * keepFrom * (v + 1));
    // The gradient still reaches the earlier positions through the last block's keys and values.
    expect(gradient.reduce((n, g) => n + (g !== 0 ? 1 : 0), 0)).toBeGreaterThan(gradient.length * 0.5);
  });

  // End to end: the whole-model kernels with everything they bring (the sampler's cache, its one-kernel
  // steps, the kept positions of every update pass) against the per-layer ops, which compute every
  // position: three updates' metrics must be the same numbers.
  it.each(['ppo', 'reinforce'] as const)(
    '%s: three updates give the same metrics as the per-layer ops',
    async (algorithm) => {
      const run = () => metricsOfUpdates({ algorithm, batchSize: 32, sftSteps: 10, seed: 4, nLayers: 2 }, 3);
      setFusedOps(FUSED_OPS.filter((op) => op !== 'model'));
      const layered = await run();
      setFusedOps(FUSED_OPS);
      const before = modelKernelStats.forward;
      const whole = await run();
      expect(modelKernelStats.forward).toBeGreaterThan(before);
      expect(whole).toEqual(layered);
      expect(Object.keys(whole[0]).length).toBeGreaterThan(10);
    },
  );

  it('runs only where each op it chains runs, and the attention kernel takes the head size', () => {
    setFusedOps(FUSED_OPS);
    expect(hasModelKernel(32, 2)).toBe(true);
    // A head size of 6 is not a multiple of 4: the attention composite runs, so the per-layer path does.
    expect(hasModelKernel(18, 3)).toBe(false);
    for (const off of ['model', 'dense', 'layerNorm', 'gelu', 'attention'] as const) {
      setFusedOps(FUSED_OPS.filter((op) => op !== off));
      expect(hasModelKernel(32, 2), off).toBe(false);
    }
    setFusedOps(FUSED_OPS);
  });

  it('keeps no tape when no gradient is recorded', () => {
    setFusedOps(FUSED_OPS);
    const shape = CASES[0].shape;
    const params = initParams(shape, 1, 'model-test');
    const tokens = tf.zeros([4, 10], 'int32') as tf.Tensor2D;
    const before = tf.memory();
    const out = forward(params, shape, tokens, 1);
    // The logits and the values, nothing else (the tape went to scratch).
    expect(tf.memory().numTensors - before.numTensors).toBe(2);
    expect(tf.memory().numBytes - before.numBytes).toBe(4 * (4 * 10 * 9 + 4 * 10));
    tf.dispose([out.logits, out.values, tokens]);
    disposeParams(params);
  });
});

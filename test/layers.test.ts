// The fused layers' hand-written gradients equal tfjs's automatic differentiation of the same math,
// on random inputs and a random upstream gradient, to 1e-4, on cpu and on wasm (the app's usual backend,
// with its own Slice and SplitV kernels).
import { beforeAll, describe, expect, it } from 'vitest';
import { causalSelfAttention, dense, gelu, layerNorm, matMul2d } from '../src/engine/layers';
import { Random } from '../src/engine/random';
import { tf, type Tensor, type Tensor2D } from '../src/engine/tf';
import { startBackend } from './support/engine';

function random(shape: number[], seed: number, scale = 1): Tensor {
  const rng = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rng.normal() * scale),
    shape,
  );
}

/** Gradients of Σ(f(inputs) · upstream) for every input, as plain arrays. */
function gradients(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], upstream: Tensor): number[][] {
  return tf.tidy(() => {
    const grads = tf.grads((...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), upstream)))(inputs);
    return grads.map((g) => Array.from(g.dataSync()));
  });
}

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.length).toBe(expected[i].length);
    a.forEach((v, j) => expect(Math.abs(v - expected[i][j]), `input ${i}, element ${j}`).toBeLessThan(1e-4));
  });
}

function expectSameValues(a: Tensor, b: Tensor): void {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-5));
}

describe.each(['cpu', 'wasm'] as const)('fused layers match automatic differentiation on %s', (backend) => {
  beforeAll(() => startBackend(backend));

  it('matMul2d with a flat weight', () => {
    const a = random([6, 4], 1);
    const w = random([12], 2);
    const up = random([6, 3], 3);
    const reference = (a: Tensor, w: Tensor) => tf.matMul(a as Tensor2D, tf.reshape(w, [4, 3]) as Tensor2D);
    expectSameValues(matMul2d(a, w), reference(a, w));
    expectClose(gradients(matMul2d, [a, w], up), gradients(reference, [a, w], up));
  });

  it('dense (x·w + b) with a flat weight', () => {
    const x = random([6, 4], 4);
    const w = random([20], 5);
    const b = random([5], 6);
    const up = random([6, 5], 7);
    const reference = (x: Tensor, w: Tensor, b: Tensor) =>
      tf.add(tf.matMul(x as Tensor2D, tf.reshape(w, [4, 5]) as Tensor2D), b);
    expectSameValues(dense(x, w, b), reference(x, w, b));
    expectClose(gradients(dense, [x, w, b], up), gradients(reference, [x, w, b], up));
  });

  it('layerNorm', () => {
    const x = random([5, 8], 8, 3);
    const gamma = random([8], 9);
    const beta = random([8], 10);
    const up = random([5, 8], 11);
    const reference = (x: Tensor, gamma: Tensor, beta: Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
    };
    expectSameValues(layerNorm(x, gamma, beta), reference(x, gamma, beta));
    expectClose(gradients(layerNorm, [x, gamma, beta], up), gradients(reference, [x, gamma, beta], up));
  });

  it('gelu equals the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))', () => {
    const x = random([4, 16], 12, 2);
    const up = random([4, 16], 13);
    const reference = (x: Tensor) => {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    };
    expectSameValues(gelu(x), reference(x));
    expectClose(gradients(gelu, [x], up), gradients(reference, [x], up));
  });

  it.each([
    [3, 5, 2, 8],
    [2, 1, 1, 4],
    [4, 7, 4, 16],
  ])(
    'causal self-attention (batch %i, time %i, %i heads, d %i) equals the textbook per-head computation',
    (batch, time, heads, d) => {
      const headDim = d / heads;
      const qkv = random([batch * time, 3 * d], 14);
      const up = random([batch * time, d], 15);
      const reference = (qkv: Tensor) => {
        // [B, T, 3, H, hd] -> per (which, head) slices, the straightforward way
        const x = tf.reshape(qkv, [batch, time, 3, heads, headDim]);
        const part = (which: number, h: number) =>
          tf.reshape(tf.slice(x, [0, 0, which, h, 0], [batch, time, 1, 1, headDim]), [batch, time, headDim]);
        const mask = tf.tensor2d(
          Array.from({ length: time * time }, (_, i) => (i % time > Math.floor(i / time) ? -1e9 : 0)),
          [time, time],
        );
        const outputs = Array.from({ length: heads }, (_, h) => {
          const scores = tf.add(tf.div(tf.matMul(part(0, h), part(1, h), false, true), Math.sqrt(headDim)), mask);
          return tf.matMul(tf.softmax(scores, -1), part(2, h));
        });
        return tf.reshape(tf.concat(outputs, 2), [batch * time, d]);
      };
      const attention = (qkv: Tensor) => causalSelfAttention(qkv, { batch, time, heads });
      expectSameValues(attention(qkv), reference(qkv));
      expectClose(gradients(attention, [qkv], up), gradients(reference, [qkv], up));
    },
  );
});

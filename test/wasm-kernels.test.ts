// Our wasm Slice and SplitV (src/engine/kernels/wasm-slice.ts) give the same values as the cpu backend
// for contiguous and strided slices of every rank the engine uses; our Identity (wasm-identity.ts) shares
// its input's buffer and frees it with the last tensor; the SIMD BatchMatMul and Add match cpu; the fused SIMD
// kernels (src/engine/kernels/wasm-fused.ts) match the tfjs composites they replace.
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_FUSED_OPS,
  FUSED_OPS,
  hasFusedKernel,
  setFusedOps,
  type FusedOp,
} from '../src/engine/kernels/wasm-fused';
import { causalSelfAttention, dense, gelu, layerNorm } from '../src/engine/layers';
import { Adam } from '../src/engine/optimizer';
import { createParams, disposeParams } from '../src/engine/params';
import { tf, type Tensor } from '../src/engine/tf';
import { createTrainer } from '../src/engine/trainer';
import { DENSE_KERNEL, hasDenseKernel, simdMatMulStats } from '../src/engine/kernels/wasm-matmul';
import { wasmAddStats } from '../src/engine/kernels/wasm-add';
import { modelKernelStats } from '../src/engine/kernels/wasm-model';
import { startBackend } from './support/engine';

const CASES: { shape: number[]; begin: number[]; size: number[] }[] = [
  { shape: [20], begin: [3], size: [11] },
  { shape: [6, 5], begin: [1, 0], size: [3, 5] },
  { shape: [6, 5], begin: [0, 2], size: [6, 2] },
  { shape: [4, 3, 5], begin: [1, 1, 0], size: [2, 2, 5] },
  { shape: [4, 3, 5], begin: [0, 0, 4], size: [4, 3, 1] },
  { shape: [3, 4, 2, 6], begin: [1, 0, 1, 2], size: [2, 4, 1, 3] },
  { shape: [2, 3, 2, 2, 3], begin: [0, 1, 0, 1, 0], size: [2, 2, 2, 1, 3] },
  { shape: [5, 4], begin: [2, 1], size: [0, 3] },
];

async function onBackend<T>(name: 'cpu' | 'wasm', work: () => T): Promise<T> {
  await startBackend(name);
  return work();
}

describe('wasm slice kernels', () => {
  it.each(CASES)('slice $shape at $begin size $size matches cpu', async ({ shape, begin, size }) => {
    const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3);
    const run = () => tf.tidy(() => Array.from(tf.slice(tf.tensor(values, shape), begin, size).dataSync()));
    const expected = await onBackend('cpu', run);
    expect(await onBackend('wasm', run)).toEqual(expected);
  });

  it('split into uneven parts along each axis matches cpu', async () => {
    const shape = [4, 6, 5];
    const values = Array.from({ length: 120 }, (_, i) => i);
    const run = () =>
      tf.tidy(() =>
        [0, 1, 2].map((axis) => {
          const sizes = axis === 1 ? [1, 3, 2] : axis === 0 ? [3, 1] : [2, 2, 1];
          return tf.split(tf.tensor(values, shape, 'int32'), sizes, axis).map((t) => Array.from(t.dataSync()));
        }),
      );
    const expected = await onBackend('cpu', run);
    expect(await onBackend('wasm', run)).toEqual(expected);
  });
});

describe('wasm Identity without a copy', () => {
  it('a clone shares its buffer, keeps its values after the original is disposed, and frees it last', async () => {
    await startBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = { tensors: tf.memory().numTensors, buffers: backend.numDataIds() };
    const x = tf.tensor([1.5, -2, 3.25, 4], [2, 2]);
    const copy = tf.clone(x);
    // One buffer, two tensors.
    expect(backend.numDataIds()).toBe(before.buffers + 1);
    expect(tf.memory().numTensors).toBe(before.tensors + 2);
    x.dispose();
    expect(Array.from(await copy.data())).toEqual([1.5, -2, 3.25, 4]);
    expect(copy.shape).toEqual([2, 2]);
    copy.dispose();
    expect(backend.numDataIds()).toBe(before.buffers);
    expect(tf.memory().numTensors).toBe(before.tensors);
  });

  it('PPO with every SIMD kernel holds tensors and heap buffers flat over 30 updates', async () => {
    await startBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const trainer = createTrainer({ batchSize: 16, sftSteps: 5, seed: 3 });
    try {
      await trainer.step();
      const after1 = { tensors: tf.memory().numTensors, buffers: backend.numDataIds() };
      for (let update = 2; update <= 30; update++) await trainer.step();
      // A clone counts a reference to its input's buffer: a missed release would leave buffers behind.
      expect({ tensors: tf.memory().numTensors, buffers: backend.numDataIds() }).toEqual(after1);
      // Every rollout's key/value cache (malloc'ed on the heap, outside tfjs's accounting) was freed.
      expect(modelKernelStats.openCaches).toBe(0);
      expect(modelKernelStats.extend).toBeGreaterThan(0);
    } finally {
      trainer.dispose();
    }
  });

  it('gradients that save their inputs (clones) stay correct: d/dx sum(x·x·y) = 2xy', async () => {
    await startBackend('wasm');
    const x = tf.tensor([1, 2, 3]);
    const y = tf.tensor([0.5, -1, 2]);
    const grad = tf.grad((a: Tensor) => tf.sum(tf.mul(tf.mul(a, a), y)))(x);
    expect(Array.from(await grad.data())).toEqual([1, -4, 12]);
    tf.dispose([x, y, grad]);
  });
});

// The SIMD BatchMatMul (src/engine/kernels/wasm-matmul.ts) against the cpu backend: every transpose
// combination, batch broadcasts either way, widths that are and are not multiples of 4, the engine's shapes.
describe('wasm SIMD BatchMatMul', () => {
  const shapes = (m: number, k: number, n: number, tA: boolean, tB: boolean, batchA: number[], batchB: number[]) => [
    [...batchA, ...(tA ? [k, m] : [m, k])],
    [...batchB, ...(tB ? [n, k] : [k, n])],
  ];
  const CASES: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [];
  for (const tA of [false, true])
    for (const tB of [false, true])
      for (const [m, k, n, batchA, batchB] of [
        [7, 5, 13, [3], [3]],
        [7, 5, 13, [], [3]],
        [7, 5, 13, [3], []],
        [7, 5, 13, [1], [2, 3]],
        [1, 1, 1, [], []],
        [10, 16, 10, [64], [64]],
        [33, 17, 31, [2], [2]],
        [320, 32, 9, [], []],
        [32, 320, 1, [], []],
      ] as [number, number, number, number[], number[]][]) {
        const [a, b] = shapes(m, k, n, tA, tB, batchA, batchB);
        CASES.push({ a, b, tA, tB });
      }
  it.each(CASES)('[$a]·[$b] transposeA $tA transposeB $tB matches cpu to 1e-5', async ({ a, b, tA, tB }) => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.randomUniform(a, -1, 1, 'float32', 1);
        const y = tf.randomUniform(b, -1, 1, 'float32', 2);
        const out = tf.matMul(x, y, tA, tB);
        return { shape: out.shape, values: Array.from(out.dataSync()) };
      });
    const expected = await onBackend('cpu', run);
    const before = simdMatMulStats.calls;
    const got = await onBackend('wasm', run);
    expect(simdMatMulStats.calls).toBe(before + 1);
    expect(got.shape).toEqual(expected.shape);
    const worst = got.values.reduce((w, v, i) => Math.max(w, Math.abs(v - expected.values[i])), 0);
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

// A weight gradient's product xᵀ·dy (transposed A, k = a batch's rows) runs k in blocks that resume their
// sums (assembly/matmul.ts, productInKBlocks): every sum must still be taken in k order, so the result
// equals float32 multiply-then-add in k order exactly; m and n that the blocked path does not take too.
describe('wasm SIMD BatchMatMul with a long k', () => {
  it.each([
    [64, 1000, 32],
    [16, 300, 8],
    [12, 700, 20],
  ])('xᵀ [%i × k %i] · dy [·, %i] equals the sums in k order bit for bit', async (m, k, n) => {
    await startBackend('wasm');
    const x = tf.randomUniform([k, m], -1, 1, 'float32', 4);
    const y = tf.randomUniform([k, n], -1, 1, 'float32', 5);
    const got = tf.matMul(x, y, true, false);
    const [xs, ys, out] = [await x.data(), await y.data(), await got.data()];
    const expected = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum = Math.fround(sum + Math.fround(xs[p * m + i] * ys[p * n + j]));
        expected[i * n + j] = sum;
      }
    expect(Array.from(out)).toEqual(Array.from(expected));
    tf.dispose([x, y, got]);
  });
});

// The dense kernel (x·W + b in one call) against BatchMatMul followed by Add on wasm: bit for bit, since it
// adds the bias to each finished sum as the Add would; widths n of every remainder mod 4, rows likewise.
describe('wasm dense kernel', () => {
  it.each([
    [1280, 32, 96],
    [7, 5, 13],
    [9, 32, 9],
    [5, 32, 1],
    [6, 3, 2],
    [3, 16, 8],
  ])('x [%i, %i] · W [·, %i] + b equals matMul then add exactly, and runs as one kernel', async (rows, k, n) => {
    await startBackend('wasm');
    expect(hasDenseKernel()).toBe(true);
    const x = tf.randomUniform([rows, k], -1, 1, 'float32', 1);
    const w = tf.randomUniform([k * n], -1, 1, 'float32', 2);
    const b = tf.randomUniform([n], -1, 1, 'float32', 3);
    const separate = tf.tidy(() => tf.add(tf.matMul(x, tf.reshape(w, [k, n]) as tf.Tensor2D), b));
    const profile = await tf.profile(() => tf.engine().runKernel(DENSE_KERNEL, { x, w, b }) as tf.Tensor[]);
    const [fusedOut] = profile.result as tf.Tensor[];
    expect(profile.kernels.map((kernel) => kernel.name)).toEqual([DENSE_KERNEL]);
    expect(fusedOut.shape).toEqual([rows, n]);
    expect(Array.from(await fusedOut.data())).toEqual(Array.from(await separate.data()));
    tf.dispose([x, w, b, separate, fusedOut]);
  });
});

// Our Add (src/engine/kernels/wasm-add.ts) against the cpu backend, bit for bit: one shape, a tensor plus one
// repeated over its leading axes (either operand first, runs of every remainder mod 4, leading 1s), and the
// cases it hands to tfjs's kernel (general broadcasting, int32).
describe('wasm Add', () => {
  it.each([
    { a: [320, 64], b: [320, 64], simd: true },
    { a: [7, 5], b: [7, 5], simd: true },
    { a: [32, 10, 64], b: [10, 64], simd: true },
    { a: [3, 5, 7], b: [7], simd: true },
    { a: [6], b: [4, 6], simd: true },
    { a: [4, 3, 2], b: [1, 3, 2], simd: true },
    { a: [5], b: [1, 5], simd: true },
    { a: [5, 1], b: [1, 5], simd: false },
    { a: [3, 1, 4], b: [5, 4], simd: false },
  ])('[$a] + [$b] equals cpu exactly (SIMD path: $simd)', async ({ a, b, simd }) => {
    const size = (shape: number[]) => shape.reduce((p, n) => p * n, 1);
    const values = (shape: number[], seed: number) =>
      Array.from({ length: size(shape) }, (_, i) => Math.sin(seed * 1000 + i * 1.7) * 10 ** ((i % 7) - 3));
    const run = () =>
      tf.tidy(() => {
        const sum = tf.add(tf.tensor(values(a, 1), a), tf.tensor(values(b, 2), b));
        return { shape: sum.shape, values: Array.from(sum.dataSync()) };
      });
    const expected = await onBackend('cpu', run);
    await startBackend('wasm');
    const before = { ...wasmAddStats };
    expect(run()).toEqual(expected);
    expect(wasmAddStats.simd - before.simd).toBe(simd ? 1 : 0);
    expect(wasmAddStats.tfjs - before.tfjs).toBe(simd ? 0 : 1);
  });

  it('int32 tensors run tfjs kernel, with the same sums', async () => {
    await startBackend('wasm');
    const before = wasmAddStats.tfjs;
    const sum = tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([10, 20, 30], [3], 'int32'));
    expect(Array.from(await sum.data())).toEqual([11, 22, 33]);
    expect(sum.dtype).toBe('int32');
    expect(wasmAddStats.tfjs - before).toBe(1);
    sum.dispose();
  });
});

// Each fused SIMD kernel (src/engine/kernels/wasm-fused.ts) against the tfjs composite it replaces, both on
// wasm: values and every input's gradient (of Σ f(x)·upstream) to 1e-5, on the engine's shapes and on
// widths that are not multiples of 4; no tensor left behind.
describe('wasm fused SIMD kernels', () => {
  afterAll(() => setFusedOps(DEFAULT_FUSED_OPS));

  const random = (shape: number[], seed: number, scale = 1) =>
    tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
  /** The value and the gradients of f on wasm, with `op` fused or not. */
  function run(op: FusedOp, fused: boolean, f: (...xs: Tensor[]) => Tensor, inputs: () => Tensor[], up: () => Tensor) {
    setFusedOps(fused ? [op] : []);
    expect(hasFusedKernel(op)).toBe(fused);
    return tf.tidy(() => {
      const xs = inputs();
      const u = up();
      const value = Array.from(f(...xs).dataSync());
      const grads = tf.grads((...ys: Tensor[]) => tf.sum(tf.mul(f(...ys), u)))(xs);
      return [value, ...grads.map((g) => Array.from(g.dataSync()))];
    });
  }
  async function expectFusedMatches(
    op: FusedOp,
    f: (...xs: Tensor[]) => Tensor,
    inputs: () => Tensor[],
    up: () => Tensor,
  ): Promise<void> {
    await onBackend('wasm', () => undefined);
    const tensors = tf.memory().numTensors;
    const expected = run(op, false, f, inputs, up);
    const got = run(op, true, f, inputs, up);
    expect(tf.memory().numTensors).toBe(tensors);
    got.forEach((values, i) => {
      expect(values.length).toBe(expected[i].length);
      const worst = values.reduce((w, v, j) => Math.max(w, Math.abs(v - expected[i][j])), 0);
      expect(worst, `output ${i}`).toBeLessThanOrEqual(1e-5);
    });
  }

  it('are registered for wasm only', async () => {
    setFusedOps(FUSED_OPS);
    await onBackend('cpu', () => undefined);
    expect(FUSED_OPS.some(hasFusedKernel)).toBe(false);
    await onBackend('wasm', () => undefined);
    expect(FUSED_OPS.every(hasFusedKernel)).toBe(true);
  });

  it.each([
    [320, 32],
    [320, 64],
    [7, 13],
    [1, 3],
  ])('LayerNorm [%i, %i] and its gradient', (n, d) =>
    expectFusedMatches(
      'layerNorm',
      layerNorm,
      () => [random([n, d], 1, 3), random([d], 2), random([d], 3)],
      () => random([n, d], 4),
    ),
  );

  it.each([[[320, 128]], [[5, 7]], [[3]]])('GELU %j and its gradient', (shape) =>
    expectFusedMatches(
      'gelu',
      gelu,
      () => [random(shape, 5, 3)],
      () => random(shape, 6),
    ),
  );

  it.each([
    [32, 10, 2, 32],
    [32, 10, 4, 64],
    [3, 5, 2, 8],
    [2, 1, 1, 4],
    [4, 7, 4, 16],
  ])('causal attention (batch %i, time %i, %i heads, d %i) and its gradient', (batch, time, heads, d) =>
    expectFusedMatches(
      'attention',
      (qkv) => causalSelfAttention(qkv, { batch, time, heads }),
      () => [random([batch * time, 3 * d], 7)],
      () => random([batch * time, d], 8),
    ),
  );

  it.each([
    [320, 32, 96],
    [320, 128, 32],
    [320, 32, 1],
    [7, 5, 3],
  ])('the gradient of a dense layer [%i, %i]·[·, %i] + b', (rows, inW, outW) =>
    expectFusedMatches(
      'dense',
      dense,
      () => [random([rows, inW], 9), random([inW * outW], 10, 0.1), random([outW], 11)],
      () => random([rows, outW], 12),
    ),
  );

  it.each([
    [13, 1],
    [12_998, 1],
    [12_998, 0],
    [4_000, 1e-3],
  ])('an Adam step on %i parameters (clip %d) gives the same parameters, moments and norm', async (size, clip) => {
    await onBackend('wasm', () => undefined);
    const tensors = tf.memory().numTensors;
    const steps = (fused: boolean) => {
      setFusedOps(fused ? ['adam'] : []);
      const params = createParams([{ name: 'w', shape: [size], init: { normal: 0.5 } }], 3, 'adam-fused');
      const adam = new Adam(params, { beta1: 0.9, beta2: 0.99, epsilon: 1e-5 });
      const norms: number[] = [];
      for (let t = 0; t < 3; t++) {
        const grad = tf.tidy(() => tf.mul(tf.randomNormal([size], 0, 1, 'float32', 10 + t), 0.3));
        const norm = adam.apply(grad, 0.01, clip);
        norms.push(norm.dataSync()[0]);
        tf.dispose([grad, norm]);
      }
      const out = [params.flat, ...adam.moments].map((t) => Array.from(t.dataSync()));
      adam.dispose();
      disposeParams(params);
      return { norms, out };
    };
    const expected = steps(false);
    const got = steps(true);
    expect(tf.memory().numTensors).toBe(tensors);
    got.norms.forEach((n, i) => expect(Math.abs(n - expected.norms[i]) / expected.norms[i]).toBeLessThan(1e-5));
    got.out.forEach((values, i) => {
      const worst = values.reduce((w, v, j) => Math.max(w, Math.abs(v - expected.out[i][j])), 0);
      expect(worst, ['parameters', 'm', 'v'][i]).toBeLessThanOrEqual(1e-5);
    });
  });
});

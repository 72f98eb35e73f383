// Our wasm Slice and SplitV (src/engine/kernels/wasm-slice.ts) give the same values as the cpu backend
// for contiguous and strided slices of every rank the engine uses.
import { describe, expect, it } from 'vitest';
import { tf } from '../src/engine/tf';
import { simdMatMulStats } from '../src/engine/kernels/wasm-matmul';
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

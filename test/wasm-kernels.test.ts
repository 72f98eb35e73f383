// Our wasm Slice and SplitV (src/engine/kernels/wasm-slice.ts) give the same values as the cpu backend
// for contiguous and strided slices of every rank the engine uses.
import { describe, expect, it } from 'vitest';
import { tf } from '../src/engine/tf';
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

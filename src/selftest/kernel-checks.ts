// Single ops at small shapes, run on each backend and compared with cpu by the self-test page. They
// cover every program webgpu-barrier-free.ts replaces and its edge cases: matmuls with and without
// transposes, batched, a batch of 1 broadcast on either side, shapes that are not multiples of 4, fused
// bias and activations; reductions over the last axis and over axis 0 (a transpose first); a 2-D
// transpose; softmax of rank 2 and 3; broadcast binary ops with a rank-1 operand on either side.
import { tf, type Tensor } from '../engine/tf';

export interface KernelCheck {
  name: string;
  run(): Tensor;
}

/** Deterministic values in [-1, 1) (a small LCG), so every backend sees the same inputs. */
function values(shape: number[], seed: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let state = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return tf.tensor(data, shape);
}

type Rank2 = tf.Tensor2D;
type Rank3 = tf.Tensor3D;
const v2 = (shape: [number, number], seed: number) => values(shape, seed) as Rank2;
const v3 = (shape: [number, number, number], seed: number) => values(shape, seed) as Rank3;

export const KERNEL_CHECKS: readonly KernelCheck[] = [
  { name: 'matMul [64,32]x[32,16]', run: () => tf.matMul(v2([64, 32], 1), v2([32, 16], 2)) },
  { name: 'matMul [256,32]x[32,96]', run: () => tf.matMul(v2([256, 32], 3), v2([32, 96], 4)) },
  { name: 'matMul tA [32,64]x[32,16]', run: () => tf.matMul(v2([32, 64], 5), v2([32, 16], 6), true, false) },
  { name: 'matMul tB [64,32]x[16,32]', run: () => tf.matMul(v2([64, 32], 7), v2([16, 32], 8), false, true) },
  { name: 'matMul tA tB [32,64]x[16,32]', run: () => tf.matMul(v2([32, 64], 9), v2([16, 32], 10), true, true) },
  { name: 'matMul [7,5]x[5,3]', run: () => tf.matMul(v2([7, 5], 11), v2([5, 3], 12)) },
  { name: 'matMul [33,17]x[17,9]', run: () => tf.matMul(v2([33, 17], 13), v2([17, 9], 14)) },
  { name: 'matMul tA [17,33]x[17,9]', run: () => tf.matMul(v2([17, 33], 15), v2([17, 9], 16), true, false) },
  { name: 'batchMatMul [6,12,8]x[6,8,16]', run: () => tf.matMul(v3([6, 12, 8], 17), v3([6, 8, 16], 18)) },
  { name: 'batchMatMul [6,12,8]x[1,8,16]', run: () => tf.matMul(v3([6, 12, 8], 19), v3([1, 8, 16], 20)) },
  {
    name: 'batchMatMul tA [1,8,12]x[6,8,16]',
    run: () => tf.matMul(v3([1, 8, 12], 21), v3([6, 8, 16], 22), true, false),
  },
  {
    name: 'batchMatMul tB [6,10,16]x[6,10,16]',
    run: () => tf.matMul(v3([6, 10, 16], 23), v3([6, 10, 16], 24), false, true),
  },
  {
    name: 'fused matMul + bias, relu [64,32]x[32,16]',
    run: () =>
      tf.fused.matMul({ a: v2([64, 32], 25), b: v2([32, 16], 26), bias: values([16], 27), activation: 'relu' }),
  },
  {
    name: 'fused matMul + bias, leakyrelu [64,32]x[32,16]',
    run: () =>
      tf.fused.matMul({
        a: v2([64, 32], 28),
        b: v2([32, 16], 29),
        bias: values([16], 30),
        activation: 'leakyrelu',
        leakyreluAlpha: 0.3,
      }),
  },
  {
    name: 'fused matMul + prelu [33,17]x[17,9]',
    run: () =>
      tf.fused.matMul({
        a: v2([33, 17], 31),
        b: v2([17, 9], 32),
        activation: 'prelu',
        preluActivationWeights: values([9], 33),
      }),
  },
  ...(['sum', 'mean', 'max', 'min'] as const).flatMap((op, i): KernelCheck[] => [
    { name: `${op} last axis [64,30]`, run: () => tf[op](values([64, 30], 40 + i), -1) },
    { name: `${op} axis 0 [64,30]`, run: () => tf[op](values([64, 30], 50 + i), 0) },
  ]),
  { name: 'sum all [1000]', run: () => tf.sum(values([1000], 60)) },
  { name: 'transpose [40,24]', run: () => tf.transpose(values([40, 24], 61)) },
  { name: 'softmax [50,10]', run: () => tf.softmax(values([50, 10], 62)) },
  { name: 'softmax [4,6,10]', run: () => tf.softmax(values([4, 6, 10], 63)) },
  { name: 'add [64,32]+[32]', run: () => tf.add(values([64, 32], 64), values([32], 65)) },
  { name: 'sub [30]-[64,30]', run: () => tf.sub(values([30], 66), values([64, 30], 67)) },
  { name: 'mul [64,32]*[1]', run: () => tf.mul(values([64, 32], 68), values([1], 69)) },
];

/** Each check's output, read back as plain numbers; the inputs and outputs are disposed. */
export async function runKernelChecks(): Promise<number[][]> {
  const outputs: number[][] = [];
  for (const check of KERNEL_CHECKS) {
    const result = tf.tidy(check.run);
    outputs.push(Array.from(await result.data()));
    result.dispose();
  }
  return outputs;
}

/**
 * The largest difference of an output from the reference, relative to the reference's size where that
 * is above 1 (float32 keeps ~7 significant digits, so a sum of magnitude 10 differs by ~1e-6).
 */
export function kernelDifference(output: readonly number[], reference: readonly number[]): number {
  if (output.length !== reference.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < output.length; i++) {
    const difference = Math.abs(output[i] - reference[i]) / Math.max(1, Math.abs(reference[i]));
    worst = Number.isNaN(difference) ? Infinity : Math.max(worst, difference);
  }
  return worst;
}

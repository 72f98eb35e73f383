// Add for the wasm backend on float32 tensors of one shape, or a tensor plus one repeated over its
// leading axes (a bias, the position embedding): one SIMD pass (assembly/fused.ts addRepeated) instead of
// tfjs-backend-wasm 4.22's Add, which computes a broadcast index per element (~3 ns a float: the
// residual stream's adds took ~20 ms of a larger-config PPO update). Each float is the same a + b, so
// results are bit-identical; any other case (other dtypes, general broadcasting) runs tfjs's kernel.
// Registered over the original when the fused module loads.
import { tf } from '../tf';
import { heapAddress, type TensorInfo, type WasmBackend } from './wasm-heap';

type AddOnHeap = (a: number, b: number, out: number, count: number, bCount: number) => void;

/**
 * How many floats one copy of `small` covers when it repeats over `big`'s leading axes (its shape, less
 * leading 1s, ends `big`'s, and it has no more axes: the sum then has big's shape); undefined otherwise.
 */
export function repeatedCount(big: readonly number[], small: readonly number[]): number | undefined {
  if (small.length > big.length) return undefined;
  let first = 0;
  while (first < small.length && small[first] === 1) first++;
  const tail = big.slice(big.length - (small.length - first));
  if (tail.some((n, i) => n !== small[first + i])) return undefined;
  return tail.reduce((p, n) => p * n, 1);
}

/** Adds run by each path since the kernel was registered (tests check which one ran). */
export const wasmAddStats = { simd: 0, tfjs: 0 };

let registered = false;

export function registerWasmAddKernel(module: (backend: WasmBackend) => { addRepeated: AddOnHeap }): void {
  if (registered) return;
  const original = tf.getKernel('Add', 'wasm');
  if (!original) return;
  registered = true;
  tf.unregisterKernel('Add', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
      if (a.dtype === 'float32' && b.dtype === 'float32') {
        // a + b = b + a exactly, so either may be the one repeated.
        const bFirst =
          b.shape.length > a.shape.length || tf.util.sizeFromShape(b.shape) > tf.util.sizeFromShape(a.shape);
        const [big, small] = bFirst ? [b, a] : [a, b];
        const count = tf.util.sizeFromShape(big.shape);
        const bCount = repeatedCount(big.shape, small.shape);
        if (bCount !== undefined && bCount > 0 && count > 0 && count % bCount === 0) {
          const be = args.backend as unknown as WasmBackend;
          const out = be.makeOutput(big.shape, 'float32');
          module(be).addRepeated(heapAddress(be, big), heapAddress(be, small), heapAddress(be, out), count, bCount);
          wasmAddStats.simd++;
          return out as tf.TensorInfo;
        }
      }
      wasmAddStats.tfjs++;
      return original.kernelFunc(args);
    },
  });
}

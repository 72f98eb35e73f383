// BatchMatMul for the wasm backend with a 128-bit SIMD kernel compiled from AssemblyScript
// (assembly/matmul.ts, built by `npm run build:simd` into matmul-simd-wasm.ts as base64). The module
// imports tfjs-backend-wasm's own WebAssembly.Memory, so it reads A and B and writes C in place on the
// backend's heap: no copies. tfjs-backend-wasm 4.22 runs batched and transposed-A products in a plain
// C++ loop outside XNNPACK (~0.7 GFLOP/s for the attention's 64 × [10, 10]·[10, 16]); 2-D products go to
// XNNPACK, which re-packs B into a new operator every call. Shapes the kernel does not handle (non-float,
// empty, batch broadcasts other than 1 against n) fall back to tfjs's kernel. The same module also runs a
// dense layer's forward pass, x·W + b, as one kernel (TrlDense, used by layers.ts).
import { tf } from '../tf';
import { MATMUL_SIMD_WASM } from './matmul-simd-wasm';
import {
  HeapScratch,
  heapAddress,
  instantiateOnHeap,
  type Shape,
  type TensorInfo,
  type WasmBackend,
} from './wasm-heap';
type MatMulExport = (
  a: number,
  b: number,
  c: number,
  batch: number,
  aBatch: number,
  bBatch: number,
  m: number,
  k: number,
  n: number,
  ars: number,
  acs: number,
  brs: number,
  bcs: number,
  scratch: number,
  /** The bias's address, or 0 for none. */
  bias: number,
) => void;

/** Which products the SIMD kernel takes: all of them, only batched or transposed-A ones, or none. */
export type SimdMatMulMode = 'all' | 'batched' | 'off';
let mode: SimdMatMulMode = 'all';
export function setSimdMatMulMode(m: SimdMatMulMode): void {
  mode = m;
}

let matmul: MatMulExport | undefined;
/** The heap the module was instantiated against (a re-created wasm backend has a new one). */
let boundMemory: WebAssembly.Memory | undefined;
const scratch = new HeapScratch();

function instantiate(backend: WasmBackend): MatMulExport {
  boundMemory = backend.wasm.asm.memory;
  return instantiateOnHeap(MATMUL_SIMD_WASM, backend).matmul as MatMulExport;
}

/** Binds the module to this backend's heap if it is a new one (the old scratch belonged to the old heap). */
function bind(backend: WasmBackend): void {
  if (backend.wasm.asm.memory === boundMemory) return;
  matmul = instantiate(backend);
  scratch.reset();
}

const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

function simdBatchMatMul(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backend: WasmBackend,
): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
  const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
  const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
  if (k !== kB || m === 0 || n === 0 || k === 0) return undefined;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const batch = Math.max(batchA, batchB);
  if (mode === 'off' || (mode === 'batched' && batch === 1 && !transposeA)) return undefined;
  bind(backend);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (sizeOf(outer) !== batch) return undefined;

  simdMatMulStats.calls++;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (transposeB || n % 4 !== 0) scratch.reserve(backend, k * (((n + 3) & ~3) * 4));
  matmul!(
    heapAddress(backend, a),
    heapAddress(backend, b),
    heapAddress(backend, out),
    batch,
    batchA === 1 ? 0 : m * k * 4,
    batchB === 1 ? 0 : k * n * 4,
    m,
    k,
    n,
    transposeA ? 4 : k * 4,
    transposeA ? m * 4 : 4,
    transposeB ? 4 : n * 4,
    transposeB ? k * 4 : 4,
    scratch.address,
    0,
  );
  return out;
}

/** The dense-layer kernel's name: x [rows, k] · w (flat [k·n], row-major) + b [n], one call. */
export const DENSE_KERNEL = 'TrlDense';

/**
 * x·W + b in one kernel: the same products and the same rounding as BatchMatMul followed by Add (the bias
 * is added to each finished sum), without the reshape of the flat weight, the add's launch and its pass
 * over the output.
 */
function denseForward(x: TensorInfo, w: TensorInfo, b: TensorInfo, backend: WasmBackend): TensorInfo {
  const [rows, k] = x.shape;
  const n = b.shape[0];
  const out = backend.makeOutput([rows, n], 'float32');
  const offset = (t: TensorInfo) => heapAddress(backend, t);
  denseOnHeap(backend, offset(x), offset(w), offset(b), offset(out), rows, k, n);
  return out;
}

/** x [rows, k] · w [k, n] + b [n] into out, all addresses on the backend's heap (also wasm-model.ts's). */
export function denseOnHeap(
  backend: WasmBackend,
  x: number,
  w: number,
  b: number,
  out: number,
  rows: number,
  k: number,
  n: number,
): void {
  bind(backend);
  if (n % 4 !== 0) scratch.reserve(backend, k * (((n + 3) & ~3) * 4));
  simdMatMulStats.calls++;
  matmul!(x, w, out, 1, 0, 0, rows, k, n, k * 4, 4, n * 4, 4, scratch.address, b);
}

/** Whether the dense kernel runs here (wasm, the module loaded, the SIMD kernels on). */
export function hasDenseKernel(): boolean {
  return matmul !== undefined && mode !== 'off' && tf.getBackend() === 'wasm';
}

let original: tf.KernelConfig | undefined;
/** Products the SIMD kernel ran (diagnostics: the browser check reads it in the worker). */
export const simdMatMulStats = { calls: 0, loadError: '' };

/**
 * Registers the SIMD BatchMatMul over tfjs's for the wasm backend, once the backend is running. Leaves
 * tfjs's kernel in place when the module cannot load: no SIMD in this browser (tfjs then runs its plain
 * binary too), or the threaded build's shared memory (the module imports an unshared one).
 */
export function registerWasmMatMulKernel(): void {
  if (original || matmul) return;
  const config = tf.getKernel('BatchMatMul', 'wasm');
  if (!config) return;
  try {
    matmul = instantiate(tf.findBackend('wasm') as unknown as WasmBackend);
  } catch (error) {
    simdMatMulStats.loadError = error instanceof Error ? error.message : String(error);
    return;
  }
  original = config;
  const fallback = config.kernelFunc;
  (globalThis as { __simdMatMulStats?: typeof simdMatMulStats }).__simdMatMulStats = simdMatMulStats;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const out = simdBatchMatMul(a, b, !!transposeA, !!transposeB, args.backend as unknown as WasmBackend);
      return (out as tf.TensorInfo | undefined) ?? fallback(args);
    },
  });
  tf.registerKernel({
    kernelName: DENSE_KERNEL,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, w, b } = args.inputs as unknown as { x: TensorInfo; w: TensorInfo; b: TensorInfo };
      // An array, as the fused kernels return (layers.ts reads runKernel's result as a list).
      return [denseForward(x, w, b, args.backend as unknown as WasmBackend)] as tf.TensorInfo[];
    },
  });
}

/** tfjs-backend-wasm's own kernel (after registering), for tests and benchmarks. */
export function originalBatchMatMul(): tf.KernelConfig | undefined {
  return original;
}

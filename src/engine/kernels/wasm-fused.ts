// LayerNorm, GELU and the causal attention core (each way), a dense layer's gradient, the Adam step and
// the per-token policy loss (value, reported terms and gradient) as single kernels for the
// wasm backend, running 128-bit SIMD code compiled from AssemblyScript (assembly/fused.ts, built by
// `npm run build:simd` into fused-simd-wasm.ts) on tfjs-backend-wasm's own heap, as wasm-matmul.ts
// does. Each replaces 6–20 tfjs launches, which at this model's sizes cost more than their arithmetic.
// (An earlier try wrote them in plain JS, whose arithmetic was slower than the launches it saved; see
// bench/README.md.) Registered under new kernel names for wasm only: layers.ts and optimizer.ts run
// them where hasFusedKernel says so and their tfjs composites everywhere else.
import { tf } from '../tf';
import { FUSED_SIMD_WASM } from './fused-simd-wasm';
import { registerWasmAddKernel } from './wasm-add';
import { HeapScratch, heapAddress, instantiateOnHeap, type TensorInfo, type WasmBackend } from './wasm-heap';

/** The fused module's exports (wasm-model.ts calls them directly). */
export interface FusedExports {
  layerNorm(...args: number[]): void;
  layerNormGrad(...args: number[]): void;
  gelu(...args: number[]): void;
  geluGrad(...args: number[]): void;
  attention(...args: number[]): void;
  attentionGrad(...args: number[]): void;
  adam(...args: number[]): number;
  tokenLoss(...args: number[]): void;
  denseGrad(...args: number[]): void;
  addRepeated(a: number, b: number, out: number, count: number, bCount: number): void;
  embed(...args: number[]): void;
  geluKeepingSigmoid(...args: number[]): void;
  geluGradFromSigmoid(...args: number[]): void;
  embedGrad(...args: number[]): void;
  copyRows(...args: number[]): void;
  copyRowRange(...args: number[]): void;
}

/** Kernel names; `tf.engine().runKernel(KERNELS.x, …)` runs one where it is registered. */
export const KERNELS = {
  layerNorm: 'TrlLayerNorm',
  layerNormGrad: 'TrlLayerNormGrad',
  gelu: 'TrlGelu',
  geluGrad: 'TrlGeluGrad',
  attention: 'TrlCausalAttention',
  attentionGrad: 'TrlCausalAttentionGrad',
  adam: 'TrlAdam',
  tokenLoss: 'TrlTokenLoss',
  denseGrad: 'TrlDenseGrad',
} as const;

/** The fused ops, each switchable (benchmarks and tests compare with and without one). */
export type FusedOp = 'layerNorm' | 'gelu' | 'attention' | 'adam' | 'loss' | 'dense' | 'model';
export const FUSED_OPS: readonly FusedOp[] = ['layerNorm', 'gelu', 'attention', 'adam', 'loss', 'dense', 'model'];
/**
 * All on by default. Each matches its tfjs composite to 1e-5, but float32 rounding in a different order
 * moves a run off the trajectory it followed without them (tokens cross PPO's clip boundary), so every
 * lesson's numbers were re-measured with them on (lessons/RESULTS.md). Switching one off reproduces the
 * older runs bit for bit (the SIMD BatchMatMul alone is bit-identical to tfjs's kernel).
 */
export const DEFAULT_FUSED_OPS: readonly FusedOp[] = FUSED_OPS;
let enabled = new Set<FusedOp>(DEFAULT_FUSED_OPS);
export function setFusedOps(ops: readonly FusedOp[]): void {
  enabled = new Set(ops);
}

/** Whether the current backend runs this op as a fused kernel (only wasm registers them). */
export function hasFusedKernel(op: FusedOp): boolean {
  return exports !== undefined && enabled.has(op) && tf.getBackend() === 'wasm';
}

let exports: FusedExports | undefined;
let boundMemory: WebAssembly.Memory | undefined;
const scratch = new HeapScratch();

/** The module bound to this backend's heap (a re-created wasm backend has a new one). */
function on(backend: WasmBackend): FusedExports {
  if (backend.wasm.asm.memory !== boundMemory || !exports) {
    exports = instantiateOnHeap(FUSED_SIMD_WASM, backend) as unknown as FusedExports;
    boundMemory = backend.wasm.asm.memory;
    scratch.reset();
  }
  return exports;
}

/** The module on this backend's heap, for kernels that call several of its functions (wasm-model.ts). */
export const fusedModule = on;

const scratchOf = (backend: WasmBackend, bytes: number) => scratch.reserve(backend, bytes);

const at = heapAddress;

/** The attention kernels' attrs (also webgpu-fused.ts's). */
export interface AttentionAttrs {
  batch: number;
  time: number;
  heads: number;
}
/** The Adam kernel's attrs (also webgpu-fused.ts's). */
export interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Learning rate with both bias corrections folded in. */
  stepSize: number;
  /** Clip the gradient's global norm to this (0 = off). */
  maxGradNorm: number;
}

/** y, x̂ [n, d] and 1/√(var + ε) [n] of LayerNorm over rows of x [n, d]. */
function layerNorm(be: WasmBackend, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo): TensorInfo[] {
  const [n, d] = x.shape;
  const outs = [be.makeOutput([n, d], 'float32'), be.makeOutput([n, d], 'float32'), be.makeOutput([n], 'float32')];
  on(be).layerNorm(at(be, x), at(be, gamma), at(be, beta), ...outs.map((t) => at(be, t)), n, d);
  return outs;
}

/** dx [n, d], dγ and dβ [d]. */
function layerNormGrad(be: WasmBackend, [dy, xhat, rstd, gamma]: TensorInfo[]): TensorInfo[] {
  const [n, d] = dy.shape;
  const outs = [be.makeOutput([n, d], 'float32'), be.makeOutput([d], 'float32'), be.makeOutput([d], 'float32')];
  on(be).layerNormGrad(...[dy, xhat, rstd, gamma, ...outs].map((t) => at(be, t)), n, d);
  return outs;
}

function gelu(be: WasmBackend, x: TensorInfo): TensorInfo[] {
  const y = be.makeOutput(x.shape, 'float32');
  on(be).gelu(at(be, x), at(be, y), tf.util.sizeFromShape(x.shape));
  return [y];
}

function geluGrad(be: WasmBackend, dy: TensorInfo, x: TensorInfo): TensorInfo[] {
  const dx = be.makeOutput(x.shape, 'float32');
  on(be).geluGrad(at(be, dy), at(be, x), at(be, dx), tf.util.sizeFromShape(x.shape));
  return [dx];
}

/** out [B·T, d] and the weights [H·B, T, T rounded up to 4] from qkv [B·T, 3d]. */
function attention(be: WasmBackend, qkv: TensorInfo, { batch, time, heads }: AttentionAttrs): TensorInfo[] {
  const d = qkv.shape[1] / 3;
  const out = be.makeOutput([batch * time, d], 'float32');
  const p = be.makeOutput([heads * batch, time, (time + 3) & ~3], 'float32');
  on(be).attention(at(be, qkv), at(be, out), at(be, p), batch, time, heads, d, 0, time);
  return [out, p];
}

/** dqkv [B·T, 3d] from dy [B·T, d], qkv and the weights. */
function attentionGrad(be: WasmBackend, [dy, qkv, p]: TensorInfo[], { batch, time, heads }: AttentionAttrs) {
  const d = qkv.shape[1] / 3;
  const dqkv = be.makeOutput(qkv.shape, 'float32');
  const buffer = scratchOf(be, (time + 1) * ((time + 3) & ~3) * 4);
  on(be).attentionGrad(at(be, dy), at(be, qkv), at(be, p), at(be, dqkv), buffer, batch, time, heads, d, 0);
  return [dqkv];
}

/** New parameters and both moments, and the gradient's norm before clipping (a scalar). */
function adam(be: WasmBackend, [grad, params, m, v]: TensorInfo[], a: AdamAttrs): TensorInfo[] {
  const n = params.shape[0];
  const outs = [be.makeOutput([n], 'float32'), be.makeOutput([n], 'float32'), be.makeOutput([n], 'float32')];
  const norm = be.makeOutput([], 'float32');
  const value = on(be).adam(
    ...[grad, params, m, v, ...outs].map((t) => at(be, t)),
    n,
    a.beta1,
    a.beta2,
    1 - a.beta1,
    1 - a.beta2,
    a.epsilon,
    a.stepSize,
    a.maxGradNorm,
  );
  new Float32Array(be.wasm.asm.memory.buffer, at(be, norm), 1)[0] = value;
  return [...outs, norm];
}

/** The token loss's settings (algorithms/fused-loss.ts); flags are 0 or 1. */
export interface TokenLossAttrs {
  inv: number;
  clipped: number;
  eps: number;
  klBeta: number;
  entropyCoef: number;
  critic: number;
  valueTerm: number;
  valueCoef: number;
  valueClip: number;
  /** With a `weights` input: tokens per weight (T for one a response, B·T for one in all, 1 for one a token). */
  weightSpan?: number;
  /** 1: clip the ratio above at 1 + epsHigh instead of 1 + eps. */
  clipHigh?: number;
  epsHigh?: number;
}

/**
 * dLogits [B, T, V], dValues [B, T] and six scalars: total, loss/policy, policy/clipfrac,
 * policy/approx_kl, loss/value, value/clipfrac. Inputs absent from the loss may be any [B, T] float;
 * `weights` (GRPO's per-token weights, see weightSpan) may be absent.
 */
function tokenLoss(be: WasmBackend, inputs: Record<string, TensorInfo>, a: TokenLossAttrs): TensorInfo[] {
  const { z, v, next, mask, advantages, oldLogp, refLogp, returns, oldValues, weights } = inputs;
  const [batch, time, vocab] = z.shape;
  const dz = be.makeOutput(z.shape, 'float32');
  const dv = be.makeOutput([batch, time], 'float32');
  const scalars = Array.from({ length: 6 }, () => be.makeOutput([], 'float32'));
  const stats = scratchOf(be, 6 * 4);
  const ptrs = [z, v, next, mask, advantages, oldLogp, refLogp, returns, oldValues, dz, dv].map((t) => at(be, t));
  on(be).tokenLoss(
    ...ptrs,
    stats,
    batch * time,
    vocab,
    a.inv,
    a.clipped,
    a.eps,
    a.klBeta,
    a.entropyCoef,
    a.critic,
    a.valueTerm,
    a.valueCoef,
    a.valueClip,
    weights ? at(be, weights) : 0,
    a.weightSpan ?? 1,
    a.clipHigh ?? 0,
    a.epsHigh ?? a.eps,
  );
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  scalars.forEach((t, i) => (heap[at(be, t) >>> 2] = heap[(stats >>> 2) + i]));
  return [dz, dv, ...scalars];
}

/** dx [rows, in], dW (w's shape: flat [in·out] or [in, out]) and db [out] of y = x·W + b. */
function denseGrad(be: WasmBackend, [dy, x, w]: TensorInfo[]): TensorInfo[] {
  const [rows, inW] = x.shape;
  const outW = dy.shape[1];
  const outs = [be.makeOutput(x.shape, 'float32'), be.makeOutput(w.shape, 'float32'), be.makeOutput([outW], 'float32')];
  const round4 = (n: number) => (n + 3) & ~3;
  const buffer = scratchOf(be, Math.max(outW * round4(inW), rows * round4(outW)) * 4);
  on(be).denseGrad(...[dy, x, w, ...outs].map((t) => at(be, t)), rows, inW, outW, buffer);
  return outs;
}

/** Whether the attention kernel takes this shape (its head size must be a multiple of 4). */
export function attentionFits(d: number, heads: number): boolean {
  return (d / heads) % 4 === 0;
}

/** Registers the kernels for the wasm backend; leaves them out when the module cannot load (no SIMD). */
export function registerWasmFusedKernels(): void {
  if (exports || !tf.findBackend('wasm')) return;
  try {
    on(tf.findBackend('wasm') as unknown as WasmBackend);
  } catch {
    exports = undefined;
    return;
  }
  type Inputs = Record<string, TensorInfo>;
  const register = (kernelName: string, run: (inputs: Inputs, attrs: never, backend: WasmBackend) => TensorInfo[]) =>
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) =>
        run(inputs as unknown as Inputs, attrs as never, backend as unknown as WasmBackend) as tf.TensorInfo[],
    });
  register(KERNELS.layerNorm, ({ x, gamma, beta }, _, be) => layerNorm(be, x, gamma, beta));
  register(KERNELS.layerNormGrad, ({ dy, xhat, rstd, gamma }, _, be) => layerNormGrad(be, [dy, xhat, rstd, gamma]));
  register(KERNELS.gelu, ({ x }, _, be) => gelu(be, x));
  register(KERNELS.geluGrad, ({ dy, x }, _, be) => geluGrad(be, dy, x));
  register(KERNELS.attention, ({ qkv }, attrs: AttentionAttrs, be) => attention(be, qkv, attrs));
  register(KERNELS.attentionGrad, ({ dy, qkv, p }, attrs: AttentionAttrs, be) =>
    attentionGrad(be, [dy, qkv, p], attrs),
  );
  register(KERNELS.adam, ({ grad, params, m, v }, attrs: AdamAttrs, be) => adam(be, [grad, params, m, v], attrs));
  register(KERNELS.tokenLoss, (inputs, attrs: TokenLossAttrs, be) => tokenLoss(be, inputs, attrs));
  register(KERNELS.denseGrad, ({ dy, x, w }, _, be) => denseGrad(be, [dy, x, w]));
  // Bit-identical to tfjs's Add, so not one of the switchable fused ops.
  registerWasmAddKernel(on);
}

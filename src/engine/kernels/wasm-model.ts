// The whole model (model.ts: embeddings, every block, the final LayerNorm and both heads) as one kernel
// each way on the wasm backend. The per-layer path (layers.ts) runs the same SIMD functions as ~30
// kernels forward and ~80 back (with tfjs's gradient tape, a clone of every saved tensor, the flat
// parameter vector's split and its gradient's concat), and that bookkeeping cost ~0.8–1.2 ms of
// JavaScript per minibatch, more than the arithmetic on the default preset. Here the forward kernel
// calls the functions in the same order on the same values and keeps what the gradient needs in one
// tape tensor; the backward kernel walks it back and writes each parameter's gradient straight into its
// place in the flat gradient. Every float is computed by the same operation as on the per-layer path, so
// results are bit-identical (test/wasm-model.test.ts compares logits, values and gradients bit for bit).
import { tf } from '../tf';
import { fusedModule } from './wasm-fused';
import { denseOnHeap } from './wasm-matmul';
import { HeapScratch, type TensorInfo, type WasmBackend } from './wasm-heap';

export const MODEL_KERNELS = { forward: 'TrlModel', backward: 'TrlModelGrad', extend: 'TrlModelExtend' } as const;

export interface ModelAttrs {
  batch: number;
  time: number;
  dModel: number;
  heads: number;
  layers: number;
  vocab: number;
  /** Each parameter's offset (in floats) in the flat vector, by its name in model.ts's paramSpecs. */
  offsets: Readonly<Record<string, number>>;
  /** 1: also return the tape the gradient needs (while a gradient is being recorded); 0: keep it in scratch. */
  tape: number;
}

/** The sampler's extension of its cache (see ModelCache): positions from ≤ i < to of every row. */
export interface ExtendAttrs extends ModelAttrs {
  /** The cache's address (ModelCache.address). */
  cache: number;
  from: number;
  to: number;
  /** The position whose logits [B, V] are returned (the next token is sampled from them); below `to`. */
  pick: number;
  /** 1: also return every position's logits [B, T, V] and values [B, T] from the cache. */
  full: number;
}

/** Where one block's saved values start in the tape, in floats. */
interface BlockTape {
  xhat1: number;
  rstd1: number;
  /** LayerNorm 1's output: the QKV projection's input. */
  y1: number;
  qkv: number;
  /** The attention weights [H·B, T, T4]. */
  p: number;
  attended: number;
  xhat2: number;
  rstd2: number;
  y2: number;
  /** The MLP's pre-activation [R, 4d] and its GELU [R, 4d]. */
  h: number;
  g: number;
}

interface TapeLayout {
  blocks: BlockTape[];
  xhatF: number;
  rstdF: number;
  hidden: number;
  floats: number;
}

/** The tape's segments, each rounded up to four floats so every one starts 16-byte aligned. */
function tapeLayout(a: ModelAttrs): TapeLayout {
  const rows = a.batch * a.time;
  const d = a.dModel;
  let floats = 0;
  const take = (n: number) => {
    const at = floats;
    floats += (n + 3) & ~3;
    return at;
  };
  const blocks: BlockTape[] = [];
  for (let l = 0; l < a.layers; l++)
    blocks.push({
      xhat1: take(rows * d),
      rstd1: take(rows),
      y1: take(rows * d),
      qkv: take(rows * 3 * d),
      p: take(a.heads * a.batch * a.time * ((a.time + 3) & ~3)),
      attended: take(rows * d),
      xhat2: take(rows * d),
      rstd2: take(rows),
      y2: take(rows * d),
      h: take(rows * 4 * d),
      g: take(rows * 4 * d),
    });
  return { blocks, xhatF: take(rows * d), rstdF: take(rows), hidden: take(rows * d), floats };
}

// Scratch on the backend's heap: the tape when no gradient is recorded, the residual stream, the
// backward pass's temporaries, and the products' packing buffers.
const tapeScratch = new HeapScratch();
const streamScratch = new HeapScratch();
const gradScratch = new HeapScratch();
const packScratch = new HeapScratch();
const extendScratch = new HeapScratch();
let boundMemory: WebAssembly.Memory | undefined;

function bind(be: WasmBackend): void {
  if (be.wasm.asm.memory === boundMemory) return;
  boundMemory = be.wasm.asm.memory;
  for (const s of [tapeScratch, streamScratch, gradScratch, packScratch, extendScratch]) s.reset();
}

const at = (be: WasmBackend, t: TensorInfo) => be.dataIdMap.get(t.dataId).memoryOffset;

/** Parameter `name`'s address on the heap. */
function paramAt(be: WasmBackend, flat: TensorInfo, a: ModelAttrs, name: string): number {
  const offset = a.offsets[name];
  if (offset === undefined) throw new Error(`model parameter ${name} is missing`);
  return at(be, flat) + offset * 4;
}

/** logits [B, T, V] and values [B, T] of tokens [B, T] (int32), and with `tape` the values saved for the gradient. */
function modelForward(be: WasmBackend, tokens: TensorInfo, flat: TensorInfo, a: ModelAttrs): TensorInfo[] {
  const { batch, time, dModel: d, vocab } = a;
  const rows = batch * time;
  const layout = tapeLayout(a);
  const logits = be.makeOutput([batch, time, vocab], 'float32');
  const values = be.makeOutput([batch, time], 'float32');
  const tape = a.tape ? be.makeOutput([layout.floats], 'float32') : undefined;
  bind(be);
  const fx = fusedModule(be);
  const base = tape ? at(be, tape) : tapeScratch.reserve(be, layout.floats * 4);
  const T = (floats: number) => base + floats * 4;
  const stream = streamScratch.reserve(be, 3 * rows * d * 4);
  const [x, x2, branch] = [stream, stream + rows * d * 4, stream + 2 * rows * d * 4];
  const w = (name: string) => paramAt(be, flat, a, name);

  // Token embedding (the one-hot product picks one row: the same float) plus the position's.
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const ids = new Int32Array(be.wasm.asm.memory.buffer, at(be, tokens), rows);
  const tok = w('tokenEmbedding') >>> 2;
  const pos = w('positionEmbedding') >>> 2;
  for (let r = 0; r < rows; r++) {
    const out = (x >>> 2) + r * d;
    const e = tok + ids[r] * d;
    const p = pos + (r % time) * d;
    for (let j = 0; j < d; j++) heap[out + j] = heap[e + j] + heap[p + j];
  }

  for (let l = 0; l < a.layers; l++) {
    const s = layout.blocks[l];
    const p = (name: string) => w(`block${l}.${name}`);
    fx.layerNorm(x, p('ln1.gamma'), p('ln1.beta'), T(s.y1), T(s.xhat1), T(s.rstd1), rows, d);
    denseOnHeap(be, T(s.y1), p('attn.wQkv'), p('attn.bQkv'), T(s.qkv), rows, d, 3 * d);
    fx.attention(T(s.qkv), T(s.attended), T(s.p), batch, time, a.heads, d, 0, time);
    denseOnHeap(be, T(s.attended), p('attn.wOut'), p('attn.bOut'), branch, rows, d, d);
    fx.addRepeated(x, branch, x2, rows * d, rows * d);
    fx.layerNorm(x2, p('ln2.gamma'), p('ln2.beta'), T(s.y2), T(s.xhat2), T(s.rstd2), rows, d);
    denseOnHeap(be, T(s.y2), p('mlp.wIn'), p('mlp.bIn'), T(s.h), rows, d, 4 * d);
    fx.gelu(T(s.h), T(s.g), rows * 4 * d);
    denseOnHeap(be, T(s.g), p('mlp.wOut'), p('mlp.bOut'), branch, rows, 4 * d, d);
    fx.addRepeated(x2, branch, x, rows * d, rows * d);
  }
  const hidden = T(layout.hidden);
  fx.layerNorm(x, w('lnFinal.gamma'), w('lnFinal.beta'), hidden, T(layout.xhatF), T(layout.rstdF), rows, d);
  denseOnHeap(be, hidden, w('policyHead.w'), w('policyHead.b'), at(be, logits), rows, d, vocab);
  denseOnHeap(be, hidden, w('valueHead.w'), w('valueHead.b'), at(be, values), rows, d, 1);
  return tape ? [logits, values, tape] : [logits, values];
}

/** The flat parameters' gradient from dLogits [B, T, V] and dValues [B, T], walking the tape back. */
function modelBackward(be: WasmBackend, inputs: Record<string, TensorInfo>, a: ModelAttrs): TensorInfo[] {
  const { dLogits, dValues, tokens, flat, tape } = inputs;
  const { batch, time, dModel: d, vocab } = a;
  const rows = batch * time;
  const layout = tapeLayout(a);
  const grad = be.makeOutput(flat.shape, 'float32');
  bind(be);
  const fx = fusedModule(be);
  const T = (floats: number) => at(be, tape) + floats * 4;
  const w = (name: string) => paramAt(be, flat, a, name);
  const g = (name: string) => paramAt(be, grad, a, name);
  const width = rows * d * 4;
  const temps = gradScratch.reserve(be, 3 * width + 2 * 4 * width);
  const [dx, dy, dt, dWide, dWide2] = [temps, temps + width, temps + 2 * width, temps + 3 * width, temps + 7 * width];
  // denseGrad packs Wᵀ [out, in] or dy [rows, out] (rounded up to 4 columns); attentionGrad needs T4 floats.
  const round4 = (n: number) => (n + 3) & ~3;
  const shapes = [
    [d, 1],
    [d, vocab],
    [d, 3 * d],
    [d, d],
    [d, 4 * d],
    [4 * d, d],
  ];
  const packFloats = Math.max(round4(time), ...shapes.map(([i, o]) => Math.max(o * round4(i), rows * round4(o))));
  const pack = packScratch.reserve(be, packFloats * 4);
  new Float32Array(be.wasm.asm.memory.buffer, at(be, grad), flat.shape[0]).fill(0);

  // The heads share the final hidden state: its gradient is the sum of both (a + b = b + a exactly).
  const hidden = T(layout.hidden);
  fx.denseGrad(at(be, dValues), hidden, w('valueHead.w'), dt, g('valueHead.w'), g('valueHead.b'), rows, d, 1, pack);
  const dLogitsAt = at(be, dLogits);
  fx.denseGrad(dLogitsAt, hidden, w('policyHead.w'), dy, g('policyHead.w'), g('policyHead.b'), rows, d, vocab, pack);
  fx.addRepeated(dy, dt, dy, rows * d, rows * d);
  fx.layerNormGrad(
    dy,
    T(layout.xhatF),
    T(layout.rstdF),
    w('lnFinal.gamma'),
    dx,
    g('lnFinal.gamma'),
    g('lnFinal.beta'),
    rows,
    d,
  );

  for (let l = a.layers - 1; l >= 0; l--) {
    const s = layout.blocks[l];
    const b = `block${l}`;
    const p = (name: string) => w(`${b}.${name}`);
    const pg = (name: string) => g(`${b}.${name}`);
    // x3 = x2 + mlp(LN2(x2)): dx holds dx3.
    fx.denseGrad(dx, T(s.g), p('mlp.wOut'), dWide, pg('mlp.wOut'), pg('mlp.bOut'), rows, 4 * d, d, pack);
    fx.geluGrad(dWide, T(s.h), dWide2, rows * 4 * d);
    fx.denseGrad(dWide2, T(s.y2), p('mlp.wIn'), dy, pg('mlp.wIn'), pg('mlp.bIn'), rows, d, 4 * d, pack);
    fx.layerNormGrad(dy, T(s.xhat2), T(s.rstd2), p('ln2.gamma'), dt, pg('ln2.gamma'), pg('ln2.beta'), rows, d);
    fx.addRepeated(dx, dt, dx, rows * d, rows * d);
    // x2 = x + attention(LN1(x)): dx holds dx2.
    fx.denseGrad(dx, T(s.attended), p('attn.wOut'), dy, pg('attn.wOut'), pg('attn.bOut'), rows, d, d, pack);
    fx.attentionGrad(dy, T(s.qkv), T(s.p), dWide, pack, batch, time, a.heads, d);
    fx.denseGrad(dWide, T(s.y1), p('attn.wQkv'), dy, pg('attn.wQkv'), pg('attn.bQkv'), rows, d, 3 * d, pack);
    fx.layerNormGrad(dy, T(s.xhat1), T(s.rstd1), p('ln1.gamma'), dt, pg('ln1.gamma'), pg('ln1.beta'), rows, d);
    fx.addRepeated(dx, dt, dx, rows * d, rows * d);
  }

  // Embeddings. The one-hot product's gradient sums each token's rows in row order; the positions'
  // sums the batch in order (tfjs's Sum over axis 0): float32 sums in the same order.
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const ids = new Int32Array(be.wasm.asm.memory.buffer, at(be, tokens), rows);
  const dTok = g('tokenEmbedding') >>> 2;
  const dPos = g('positionEmbedding') >>> 2;
  const src = dx >>> 2;
  for (let r = 0; r < rows; r++) {
    const row = src + r * d;
    const e = dTok + ids[r] * d;
    for (let j = 0; j < d; j++) heap[e + j] += heap[row + j];
  }
  for (let t = 0; t < time; t++)
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let bi = 0; bi < batch; bi++) sum = Math.fround(sum + heap[src + (bi * time + t) * d + j]);
      heap[dPos + t * d + j] = sum;
    }
  return [grad];
}

/**
 * Runs of each kernel since start, and the positions per row the cache extensions computed (tests and
 * the browser check read which path ran and how much it computed).
 */
export const modelKernelStats = { forward: 0, backward: 0, extend: 0, extendedPositions: 0, openCaches: 0 };

/**
 * A sampler's key/value cache on the wasm heap: every block's qkv rows [B·T, 3d] and the heads' raw
 * logits [B·T, V] and values [B·T] of the positions computed so far. The model is causal, so a position's
 * numbers depend only on the tokens up to it: each sampling step computes its new positions alone, with
 * the same operations as the whole-buffer pass, instead of the whole prefix again.
 */
export class ModelCache {
  readonly address: number;
  private readonly backend: WasmBackend;
  private readonly memory: WebAssembly.Memory;

  constructor(shape: { layers: number; batch: number; time: number; dModel: number; vocab: number }) {
    this.backend = tf.backend() as unknown as WasmBackend;
    this.memory = this.backend.wasm.asm.memory;
    const { layers, batch, time, dModel, vocab } = shape;
    const rows = batch * time;
    this.address = this.backend.wasm._malloc(4 * (layers * rows * 3 * dModel + rows * vocab + rows)) >>> 0;
    modelKernelStats.openCaches++;
  }

  /** Frees the buffer (unless the backend's heap was replaced since, taking the buffer with it). */
  free(): void {
    if (this.backend.wasm.asm.memory === this.memory) this.backend.wasm._free(this.address);
    modelKernelStats.openCaches--;
  }
}

/** Computes positions from ≤ i < to of every row into the cache; returns the logits at `pick` (and all). */
function modelExtend(be: WasmBackend, tokens: TensorInfo, flat: TensorInfo, a: ExtendAttrs): TensorInfo[] {
  const { batch, time, dModel: d, vocab, from, to } = a;
  const n = to - from;
  const rows = batch * n;
  modelKernelStats.extendedPositions += n;
  const outs = [be.makeOutput([batch, vocab], 'float32')];
  if (a.full) outs.push(be.makeOutput([batch, time, vocab], 'float32'), be.makeOutput([batch, time], 'float32'));
  bind(be);
  const fx = fusedModule(be);
  const w = (name: string) => paramAt(be, flat, a, name);
  // Compact [rows, …] buffers for the new positions, and whole-buffer ones for the attention.
  let floats = 0;
  const take = (count: number) => {
    const offset = floats;
    floats += (count + 3) & ~3;
    return offset;
  };
  const parts = {
    x: take(rows * d),
    x2: take(rows * d),
    branch: take(rows * d),
    y: take(rows * d),
    xhat: take(rows * d),
    rstd: take(rows),
    qkv: take(rows * 3 * d),
    attended: take(rows * d),
    h: take(rows * 4 * d),
    g: take(rows * 4 * d),
    logits: take(rows * vocab),
    values: take(rows),
    attendedAll: take(batch * time * d),
    p: take(a.heads * batch * time * ((time + 3) & ~3)),
  };
  const base = extendScratch.reserve(be, floats * 4);
  const S = (key: keyof typeof parts) => base + parts[key] * 4;
  const cacheQkv = (l: number) => a.cache + l * batch * time * 3 * d * 4;
  const cacheLogits = a.cache + a.layers * batch * time * 3 * d * 4;
  const cacheValues = cacheLogits + batch * time * vocab * 4;

  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const ids = new Int32Array(be.wasm.asm.memory.buffer, at(be, tokens), batch * time);
  // Row r = b·n + (i − from) of a compact buffer is row b·T + i of a whole-buffer one.
  const wholeRow = (r: number) => Math.floor(r / n) * time + from + (r % n);
  const copyRows = (src: number, srcWhole: boolean, dst: number, width: number) => {
    for (let r = 0; r < rows; r++) {
      const [s, t] = srcWhole ? [wholeRow(r), r] : [r, wholeRow(r)];
      heap.copyWithin((dst >>> 2) + t * width, (src >>> 2) + s * width, (src >>> 2) + (s + 1) * width);
    }
  };
  const computeRows = () => {
    const tok = w('tokenEmbedding') >>> 2;
    const pos = w('positionEmbedding') >>> 2;
    const x = S('x') >>> 2;
    for (let r = 0; r < rows; r++) {
      const whole = wholeRow(r);
      const e = tok + ids[whole] * d;
      const p = pos + (whole % time) * d;
      for (let j = 0; j < d; j++) heap[x + r * d + j] = heap[e + j] + heap[p + j];
    }
    for (let l = 0; l < a.layers; l++) {
      const p = (name: string) => w(`block${l}.${name}`);
      fx.layerNorm(S('x'), p('ln1.gamma'), p('ln1.beta'), S('y'), S('xhat'), S('rstd'), rows, d);
      denseOnHeap(be, S('y'), p('attn.wQkv'), p('attn.bQkv'), S('qkv'), rows, d, 3 * d);
      copyRows(S('qkv'), false, cacheQkv(l), 3 * d);
      fx.attention(cacheQkv(l), S('attendedAll'), S('p'), batch, time, a.heads, d, from, to);
      copyRows(S('attendedAll'), true, S('attended'), d);
      denseOnHeap(be, S('attended'), p('attn.wOut'), p('attn.bOut'), S('branch'), rows, d, d);
      fx.addRepeated(S('x'), S('branch'), S('x2'), rows * d, rows * d);
      fx.layerNorm(S('x2'), p('ln2.gamma'), p('ln2.beta'), S('y'), S('xhat'), S('rstd'), rows, d);
      denseOnHeap(be, S('y'), p('mlp.wIn'), p('mlp.bIn'), S('h'), rows, d, 4 * d);
      fx.gelu(S('h'), S('g'), rows * 4 * d);
      denseOnHeap(be, S('g'), p('mlp.wOut'), p('mlp.bOut'), S('branch'), rows, 4 * d, d);
      fx.addRepeated(S('x2'), S('branch'), S('x'), rows * d, rows * d);
    }
    fx.layerNorm(S('x'), w('lnFinal.gamma'), w('lnFinal.beta'), S('y'), S('xhat'), S('rstd'), rows, d);
    denseOnHeap(be, S('y'), w('policyHead.w'), w('policyHead.b'), S('logits'), rows, d, vocab);
    denseOnHeap(be, S('y'), w('valueHead.w'), w('valueHead.b'), S('values'), rows, d, 1);
    copyRows(S('logits'), false, cacheLogits, vocab);
    copyRows(S('values'), false, cacheValues, 1);
  };

  if (rows > 0) computeRows();
  const [picked, logits, values] = outs.map((t) => at(be, t) >>> 2);
  for (let b = 0; b < batch; b++) {
    const row = (cacheLogits >>> 2) + (b * time + a.pick) * vocab;
    heap.copyWithin(picked + b * vocab, row, row + vocab);
  }
  if (a.full) {
    heap.copyWithin(logits, cacheLogits >>> 2, (cacheLogits >>> 2) + batch * time * vocab);
    heap.copyWithin(values, cacheValues >>> 2, (cacheValues >>> 2) + batch * time);
  }
  return outs;
}

let registered = false;

/** Registers both kernels for the wasm backend (after the fused and SIMD matmul modules loaded). */
export function registerWasmModelKernels(): void {
  if (registered || !tf.findBackend('wasm')) return;
  registered = true;
  tf.registerKernel({
    kernelName: MODEL_KERNELS.forward,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { tokens, flat } = inputs as unknown as Record<string, TensorInfo>;
      modelKernelStats.forward++;
      return modelForward(
        backend as unknown as WasmBackend,
        tokens,
        flat,
        attrs as unknown as ModelAttrs,
      ) as tf.TensorInfo[];
    },
  });
  tf.registerKernel({
    kernelName: MODEL_KERNELS.extend,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { tokens, flat } = inputs as unknown as Record<string, TensorInfo>;
      modelKernelStats.extend++;
      return modelExtend(
        backend as unknown as WasmBackend,
        tokens,
        flat,
        attrs as unknown as ExtendAttrs,
      ) as tf.TensorInfo[];
    },
  });
  tf.registerKernel({
    kernelName: MODEL_KERNELS.backward,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      modelKernelStats.backward++;
      return modelBackward(
        backend as unknown as WasmBackend,
        inputs as unknown as Record<string, TensorInfo>,
        attrs as unknown as ModelAttrs,
      ) as tf.TensorInfo[];
    },
  });
}

// A sampler's key/value cache on the wasm heap and the kernel that extends it (TrlModelExtend): each
// sampling step computes only the positions no step has computed yet, with the same operations as the
// whole-buffer pass (wasm-model-rows.ts), and returns the logits it samples from.
import { tf } from '../tf';
import { fusedModule } from './wasm-fused';
import { mallocOrThrow, type TensorInfo, type WasmBackend } from './wasm-heap';
import {
  at,
  bind,
  embedRows,
  forwardRows,
  modelKernelStats,
  scratch,
  type BlockAt,
  type ModelAttrs,
} from './wasm-model-rows';

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
    this.address = mallocOrThrow(this.backend, 4 * (layers * rows * 3 * dModel + rows * vocab + rows));
    modelKernelStats.openCaches++;
  }

  /** Frees the buffer (unless the backend's heap was replaced since, taking the buffer with it). */
  free(): void {
    if (this.backend.wasm.asm.memory === this.memory) this.backend.wasm._free(this.address);
    modelKernelStats.openCaches--;
  }
}

/** Computes positions from ≤ i < to of every row into the cache; returns the logits at `pick` (and all). */
export function modelExtend(be: WasmBackend, tokens: TensorInfo, flat: TensorInfo, a: ExtendAttrs): TensorInfo[] {
  const { batch, time, dModel: d, vocab, from, to } = a;
  const n = to - from;
  const rows = batch * n;
  modelKernelStats.extendedPositions += n;
  const outs = [be.makeOutput([batch, vocab], 'float32')];
  if (a.full) outs.push(be.makeOutput([batch, time, vocab], 'float32'), be.makeOutput([batch, time], 'float32'));
  bind(be);
  const fx = fusedModule(be);
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
  const base = scratch.extend.reserve(be, floats * 4);
  const S = (key: keyof typeof parts) => base + parts[key] * 4;
  const cacheQkv = (l: number) => a.cache + l * batch * time * 3 * d * 4;
  const cacheLogits = a.cache + a.layers * batch * time * 3 * d * 4;
  const cacheValues = cacheLogits + batch * time * vocab * 4;

  // Row r = b·n + (i − from) of a compact buffer is row b·T + i of a whole-buffer one.
  const copyRows = (src: number, srcWhole: boolean, dst: number, width: number) =>
    fx.copyRows(src, dst, rows, n, time, from, width, srcWhole ? 0 : 1);
  const computeRows = () => {
    // Every block writes to the same compact buffers: the cache keeps what later steps need (qkv).
    const block: BlockAt = {
      y1: S('y'),
      xhat1: S('xhat'),
      rstd1: S('rstd'),
      qkv: S('qkv'),
      attended: S('attended'),
      y2: S('y'),
      xhat2: S('xhat'),
      rstd2: S('rstd'),
      h: S('h'),
      g: S('g'),
    };
    const attend = (l: number, s: BlockAt) => {
      copyRows(s.qkv, false, cacheQkv(l), 3 * d);
      fx.attention(cacheQkv(l), S('attendedAll'), S('p'), batch, time, a.heads, d, from, to);
      copyRows(S('attendedAll'), true, s.attended, d);
    };
    embedRows(be, a, flat, tokens, S('x'), rows, { from, n });
    const stream = { x: S('x'), x2: S('x2'), branch: S('branch') };
    const heads = { hidden: S('y'), xhat: S('xhat'), rstd: S('rstd'), logits: S('logits'), values: S('values') };
    forwardRows(be, a, flat, rows, stream, () => block, attend, heads);
    copyRows(S('logits'), false, cacheLogits, vocab);
    copyRows(S('values'), false, cacheValues, 1);
  };
  if (rows > 0) computeRows();
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
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

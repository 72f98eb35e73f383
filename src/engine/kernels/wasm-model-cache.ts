// A sampler's key/value cache on the wasm heap and the kernel that extends it (TrlModelExtend): each
// sampling step computes only the positions no step has computed yet, with the same operations as the
// whole-buffer pass (wasm-model-rows.ts), and returns the logits it samples from.
import { tf } from '../tf';
import { fusedModule } from './wasm-fused';
import { mallocOrThrow, type TensorInfo, type WasmBackend } from './wasm-heap';
import { tapeLayout, type TapeLayout } from './wasm-model-tape';
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
  /**
   * Recording (wasm-model-rows.ts: Recording), else 0: the tape's address; the new positions' saved
   * values go into it as the forward kernel with `recordFrom` as its keepFrom would lay them out, and every
   * block's qkv and the raw logits and values live in the recording instead of the cache.
   */
  recordTape: number;
  recordLogits: number;
  recordValues: number;
  recordFrom: number;
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
  // Recording, each block keeps its own compact rows until they are copied into the tape.
  const recording = a.recordTape !== 0;
  const recordedBlocks = recording
    ? Array.from({ length: a.layers }, () => ({
        y1: take(rows * d),
        xhat1: take(rows * d),
        rstd1: take(rows),
        attended: take(rows * d),
        y2: take(rows * d),
        xhat2: take(rows * d),
        rstd2: take(rows),
        h: take(rows * 4 * d),
        g: take(rows * 4 * d),
        sigmoid: take(rows * 4 * d),
      }))
    : [];
  const base = scratch.extend.reserve(be, floats * 4);
  const S = (key: keyof typeof parts) => base + parts[key] * 4;
  const tape = recording ? tapeLayout({ ...a, tape: 1, keepFrom: a.recordFrom }) : undefined;
  const R = (floats: number) => a.recordTape + floats * 4;
  const cacheQkv = (l: number) => (tape ? R(tape.blocks[l].qkv) : a.cache + l * batch * time * 3 * d * 4);
  const cacheLogits = recording ? a.recordLogits : a.cache + a.layers * batch * time * 3 * d * 4;
  const cacheValues = recording ? a.recordValues : cacheLogits + batch * time * vocab * 4;

  // Row r = b·n + (i − from) of a compact buffer is row b·T + i of a whole-buffer one.
  const copyRows = (src: number, srcWhole: boolean, dst: number, width: number) =>
    fx.copyRows(src, dst, rows, n, time, from, width, srcWhole ? 0 : 1);
  const computeRows = () => {
    // Every block writes to the same compact buffers: the cache keeps what later steps need (qkv).
    const shared: BlockAt = {
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
    const blockAt = (l: number): BlockAt => {
      if (!recording) return shared;
      const own = recordedBlocks[l];
      const C = (floats: number) => base + floats * 4;
      return {
        y1: C(own.y1),
        xhat1: C(own.xhat1),
        rstd1: C(own.rstd1),
        qkv: S('qkv'),
        attended: C(own.attended),
        y2: C(own.y2),
        xhat2: C(own.xhat2),
        rstd2: C(own.rstd2),
        h: C(own.h),
        g: C(own.g),
        sigmoid: C(own.sigmoid),
      };
    };
    const last = a.layers - 1;
    const attend = (l: number, s: BlockAt) => {
      copyRows(s.qkv, false, cacheQkv(l), 3 * d);
      // Recording, the weights go straight into the tape (whole-buffer rows), and so does the output of
      // every block but the last (whose later rows the tape keeps from recordFrom on only).
      const out = tape && l !== last ? R(tape.blocks[l].attended) : S('attendedAll');
      fx.attention(cacheQkv(l), out, tape ? R(tape.blocks[l].p) : S('p'), batch, time, a.heads, d, from, to);
      copyRows(out, true, s.attended, d);
    };
    embedRows(be, a, flat, tokens, S('x'), rows, { from, n });
    const stream = { x: S('x'), x2: S('x2'), branch: S('branch') };
    // (Recording, the blocks have their own buffers, so the heads' share no block's.)
    const heads = { hidden: S('y'), xhat: S('xhat'), rstd: S('rstd'), logits: S('logits'), values: S('values') };
    forwardRows(be, a, flat, rows, stream, blockAt, attend, heads);
    copyRows(S('logits'), false, cacheLogits, vocab);
    copyRows(S('values'), false, cacheValues, 1);
    if (tape) recordRows(tape, blockAt, heads);
  };
  // The new positions' rows into the tape: whole-buffer rows, but for the last block after its attention
  // and the final LayerNorm, which the tape keeps compact from recordFrom on (tapeLayout).
  const recordRows = (
    tape: TapeLayout,
    blockAt: (l: number) => BlockAt,
    heads: { hidden: number; xhat: number; rstd: number },
  ) => {
    const whole = (src: number, dst: number, width: number) =>
      fx.copyRowRange(src, R(dst), batch, n, n, 0, time, from, width);
    const keep = a.recordFrom;
    const first = Math.max(from, keep);
    const kept = (src: number, dst: number, width: number) => {
      if (to > first)
        fx.copyRowRange(src, R(dst), batch, to - first, n, first - from, time - keep, first - keep, width);
    };
    for (let l = 0; l < a.layers; l++) {
      const [s, t] = [blockAt(l), tape.blocks[l]];
      whole(s.y1, t.y1, d);
      whole(s.xhat1, t.xhat1, d);
      whole(s.rstd1, t.rstd1, 1);
      const after = l === a.layers - 1 ? kept : whole;
      if (l === a.layers - 1) kept(s.attended, t.attended, d);
      after(s.xhat2, t.xhat2, d);
      after(s.rstd2, t.rstd2, 1);
      after(s.y2, t.y2, d);
      after(s.h, t.h, 4 * d);
      after(s.g, t.g, 4 * d);
      after(s.sigmoid!, t.sigmoid, 4 * d);
    }
    kept(heads.hidden, tape.hidden, d);
    kept(heads.xhat, tape.xhatF, d);
    kept(heads.rstd, tape.rstdF, 1);
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

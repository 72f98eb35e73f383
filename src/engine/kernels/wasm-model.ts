// The whole model (model.ts: embeddings, every block, the final LayerNorm and both heads) as one kernel
// each way on the wasm backend. The per-layer path (layers.ts) runs the same SIMD functions as ~30
// kernels forward and ~80 back (with tfjs's gradient tape, a clone of every saved tensor, the flat
// parameter vector's split and its gradient's concat), and that bookkeeping cost ~0.8–1.2 ms of
// JavaScript per minibatch, more than the arithmetic on the default preset. Here the forward kernel
// calls the functions in the same order on the same values and keeps what the gradient needs in one
// tape tensor; the backward kernel walks it back and writes each parameter's gradient straight into its
// place in the flat gradient. Every float is computed by the same operation as on the per-layer path, so
// results are bit-identical (test/wasm-model.test.ts compares logits, values and gradients bit for bit;
// with keepFrom, the kept positions' and the gradient: earlier positions' raw logits and values are 0).
// The forward walk both share with the sampler's cache is wasm-model-rows.ts; the cache, wasm-model-cache.ts.
import { tf } from '../tf';
import { fusedModule } from './wasm-fused';
import { type TensorInfo, type WasmBackend } from './wasm-heap';
import { modelExtend, type ExtendAttrs } from './wasm-model-cache';
import { keptRows, tapeLayout } from './wasm-model-tape';
import {
  MODEL_KERNELS,
  at,
  bind,
  embedRows,
  forwardRows,
  isCurrentRecording,
  modelKernelStats,
  paramAddresses,
  scratch,
  type BlockAt,
  type ModelAttrs,
} from './wasm-model-rows';

export { MODEL_KERNELS, modelKernelStats, type ModelAttrs } from './wasm-model-rows';
export { ModelCache, type ExtendAttrs } from './wasm-model-cache';
export { keptRows } from './wasm-model-tape';

/** logits [B, T, V] and values [B, T] of tokens [B, T] (int32), and with `tape` the values saved for the gradient. */
function modelForward(be: WasmBackend, tokens: TensorInfo, flat: TensorInfo, a: ModelAttrs): TensorInfo[] {
  const { batch, time, dModel: d } = a;
  const rows = batch * time;
  // Without a gradient nothing is kept, so every block writes to one block's buffers.
  const layout = tapeLayout(a.tape ? a : { ...a, layers: 1 });
  const blockOf = (l: number) => layout.blocks[a.tape ? l : 0];
  const logits = be.makeOutput([batch, time, a.vocab], 'float32');
  const values = be.makeOutput([batch, time], 'float32');
  const tape = a.tape ? be.makeOutput([layout.floats], 'float32') : undefined;
  bind(be);
  const fx = fusedModule(be);
  const base = tape ? at(be, tape) : scratch.tape.reserve(be, layout.floats * 4);
  const T = (floats: number) => base + floats * 4;
  const narrowed = a.keepFrom > 0;
  const kept = keptRows(a);
  const width = rows * d * 4;
  // Narrowed, the kept rows' residual stream and heads follow the whole-buffer stream.
  const keptBytes = narrowed ? 3 * kept * d * 4 + (((kept * a.vocab + 3) & ~3) + kept) * 4 : 0;
  const stream = scratch.stream.reserve(be, 3 * width + keptBytes);
  const [x, x2, branch] = [stream, stream + width, stream + 2 * width];
  embedRows(be, a, flat, tokens, x, rows);
  const blockAt = (l: number): BlockAt => {
    const s = blockOf(l);
    return {
      y1: T(s.y1),
      xhat1: T(s.xhat1),
      rstd1: T(s.rstd1),
      qkv: T(s.qkv),
      attended: T(s.attended),
      y2: T(s.y2),
      xhat2: T(s.xhat2),
      rstd2: T(s.rstd2),
      h: T(s.h),
      g: T(s.g),
      ...(a.tape ? { sigmoid: T(s.sigmoid) } : {}),
    };
  };
  const last = a.layers - 1;
  // Narrowed, the last block's attention computes the kept queries alone, into the (free) branch buffer.
  const attend = (l: number, s: BlockAt) =>
    narrowed && l === last
      ? fx.attention(s.qkv, branch, T(blockOf(l).p), batch, time, a.heads, d, a.keepFrom, time)
      : fx.attention(s.qkv, s.attended, T(blockOf(l).p), batch, time, a.heads, d, 0, time);
  const compact = stream + 3 * width;
  const keptStream = { x: compact, x2: compact + kept * d * 4, branch: compact + 2 * kept * d * 4 };
  const keptHeads = compact + 3 * kept * d * 4;
  const moveRows = (src: number, dst: number, floats: number, toWhole: boolean) =>
    fx.copyRows(src, dst, kept, time - a.keepFrom, time, a.keepFrom, floats, toWhole ? 1 : 0);
  const narrowing = narrowed
    ? {
        rows: kept,
        stream: keptStream,
        narrow: (s: BlockAt): BlockAt => {
          moveRows(branch, s.attended, d, false);
          moveRows(x, keptStream.x, d, false);
          return s;
        },
      }
    : undefined;
  const heads = {
    hidden: T(layout.hidden),
    xhat: T(layout.xhatF),
    rstd: T(layout.rstdF),
    logits: narrowed ? keptHeads : at(be, logits),
    values: narrowed ? keptHeads + ((kept * a.vocab + 3) & ~3) * 4 : at(be, values),
  };
  forwardRows(be, a, flat, rows, { x, x2, branch }, blockAt, attend, heads, narrowing);
  if (narrowed) {
    // The kept rows' logits and values into place; every other position's are 0.
    const heap = new Float32Array(be.wasm.asm.memory.buffer);
    const [logitsAt, valuesAt] = [at(be, logits), at(be, values)];
    heap.fill(0, logitsAt >>> 2, (logitsAt >>> 2) + rows * a.vocab);
    heap.fill(0, valuesAt >>> 2, (valuesAt >>> 2) + rows);
    moveRows(heads.logits, logitsAt, a.vocab, true);
    moveRows(heads.values, valuesAt, 1, true);
  }
  return tape ? [logits, values, tape] : [logits, values];
}

/** A recorded pass's attrs: where its tape is (Recording), instead of a tape tensor. */
export interface RecordedAttrs extends ModelAttrs {
  recording: number;
  tapeAt: number;
  logitsAt: number;
  valuesAt: number;
}

/**
 * The flat parameters' gradient from dLogits [B, T, V] and dValues [B, T], walking the tape back: the
 * forward kernel's tape tensor, or a sampler's recording (RecordedAttrs).
 */
function modelBackward(be: WasmBackend, inputs: Record<string, TensorInfo>, a: ModelAttrs): TensorInfo[] {
  const { dLogits, dValues, tokens, flat } = inputs;
  const recorded = (a as Partial<RecordedAttrs>).recording;
  // (bind first: a new heap makes every recording stale)
  bind(be);
  if (recorded !== undefined && !isCurrentRecording(recorded))
    throw new Error('the recorded forward pass was overwritten before its gradient ran');
  const { batch, time, dModel: d, vocab } = a;
  const rows = batch * time;
  const layout = tapeLayout(a);
  const grad = be.makeOutput(flat.shape, 'float32');
  const fx = fusedModule(be);
  const tapeAt = recorded !== undefined ? (a as RecordedAttrs).tapeAt : at(be, inputs.tape);
  const T = (floats: number) => tapeAt + floats * 4;
  const w = paramAddresses(be, flat, a);
  const g = paramAddresses(be, grad, a);
  const width = rows * d * 4;
  const temps = scratch.grad.reserve(be, 3 * width + 2 * 4 * width);
  const [dx, dy, dt, dWide, dWide2] = [temps, temps + width, temps + 2 * width, temps + 3 * width, temps + 7 * width];
  // denseGrad packs Wᵀ [out, in] or dy [rows, out] (rounded up to 4 columns); attentionGrad needs (T + 1)·T4.
  const round4 = (n: number) => (n + 3) & ~3;
  const shapes = [
    [d, 1],
    [d, vocab],
    [d, 3 * d],
    [d, d],
    [d, 4 * d],
    [4 * d, d],
  ];
  const packFloats = Math.max(
    (time + 1) * round4(time),
    ...shapes.map(([i, o]) => Math.max(o * round4(i), rows * round4(o))),
  );
  const pack = scratch.pack.reserve(be, packFloats * 4);
  new Float32Array(be.wasm.asm.memory.buffer, at(be, grad), flat.shape[0]).fill(0);

  // Narrowed (keepFrom), the heads and the last block's second half ran on the kept rows: their gradient
  // takes those rows of dLogits and dValues (the others are 0: no loss reads them) and stays compact until
  // the last block's attention, whose keys and values every row gave.
  const narrowed = a.keepFrom > 0;
  const kept = keptRows(a);
  const moveRows = (src: number, dst: number, floats: number, toWhole: boolean) =>
    fx.copyRows(src, dst, kept, time - a.keepFrom, time, a.keepFrom, floats, toWhole ? 1 : 0);
  let [dLogitsAt, dValuesAt] = [at(be, dLogits), at(be, dValues)];
  if (narrowed) {
    const logitsC = scratch.keptGrad.reserve(be, (round4(kept * vocab) + kept) * 4);
    const valuesC = logitsC + round4(kept * vocab) * 4;
    moveRows(dLogitsAt, logitsC, vocab, false);
    moveRows(dValuesAt, valuesC, 1, false);
    [dLogitsAt, dValuesAt] = [logitsC, valuesC];
  }
  const headRows = narrowed ? kept : rows;

  // The heads share the final hidden state: its gradient is the sum of both (a + b = b + a exactly).
  const hidden = T(layout.hidden);
  fx.denseGrad(dValuesAt, hidden, w('valueHead.w'), dt, g('valueHead.w'), g('valueHead.b'), headRows, d, 1, pack);
  fx.denseGrad(
    dLogitsAt,
    hidden,
    w('policyHead.w'),
    dy,
    g('policyHead.w'),
    g('policyHead.b'),
    headRows,
    d,
    vocab,
    pack,
  );
  fx.addRepeated(dy, dt, dy, headRows * d, headRows * d);
  fx.layerNormGrad(
    dy,
    T(layout.xhatF),
    T(layout.rstdF),
    w('lnFinal.gamma'),
    dx,
    g('lnFinal.gamma'),
    g('lnFinal.beta'),
    headRows,
    d,
  );

  for (let l = a.layers - 1; l >= 0; l--) {
    const s = layout.blocks[l];
    const b = `block${l}`;
    const p = (name: string) => w(`${b}.${name}`);
    const pg = (name: string) => g(`${b}.${name}`);
    const narrow = narrowed && l === a.layers - 1;
    const r = narrow ? kept : rows;
    // x3 = x2 + mlp(LN2(x2)): dx holds dx3.
    fx.denseGrad(dx, T(s.g), p('mlp.wOut'), dWide, pg('mlp.wOut'), pg('mlp.bOut'), r, 4 * d, d, pack);
    fx.geluGradFromSigmoid(dWide, T(s.h), T(s.sigmoid), dWide2, r * 4 * d);
    fx.denseGrad(dWide2, T(s.y2), p('mlp.wIn'), dy, pg('mlp.wIn'), pg('mlp.bIn'), r, d, 4 * d, pack);
    fx.layerNormGrad(dy, T(s.xhat2), T(s.rstd2), p('ln2.gamma'), dt, pg('ln2.gamma'), pg('ln2.beta'), r, d);
    fx.addRepeated(dx, dt, dx, r * d, r * d);
    // x2 = x + attention(LN1(x)): dx holds dx2.
    fx.denseGrad(dx, T(s.attended), p('attn.wOut'), dy, pg('attn.wOut'), pg('attn.bOut'), r, d, d, pack);
    if (narrow) {
      // Back to every row: dx2 is 0 off the kept rows; the attention's gradient reads dOut only on them.
      const heap = new Float32Array(be.wasm.asm.memory.buffer);
      heap.fill(0, dWide2 >>> 2, (dWide2 >>> 2) + rows * d);
      moveRows(dy, dt, d, true);
      moveRows(dx, dWide2, d, true);
      fx.attentionGrad(dt, T(s.qkv), T(s.p), dWide, pack, batch, time, a.heads, d, a.keepFrom);
    } else fx.attentionGrad(dy, T(s.qkv), T(s.p), dWide, pack, batch, time, a.heads, d, 0);
    fx.denseGrad(dWide, T(s.y1), p('attn.wQkv'), dy, pg('attn.wQkv'), pg('attn.bQkv'), rows, d, 3 * d, pack);
    fx.layerNormGrad(dy, T(s.xhat1), T(s.rstd1), p('ln1.gamma'), dt, pg('ln1.gamma'), pg('ln1.beta'), rows, d);
    fx.addRepeated(narrow ? dWide2 : dx, dt, dx, rows * d, rows * d);
  }

  // Embeddings: each token's rows summed in row order, each position's the batch in order (assembly/fused.ts).
  fx.embedGrad(dx, at(be, tokens), g('tokenEmbedding'), g('positionEmbedding'), batch, time, d);
  return [grad];
}

/**
 * A recording's logits [B, T, V] and values [B, T] as the forward kernel with its keepFrom returns them:
 * positions before keepFrom 0, the rest the recorded floats (the same as a pass at the sampling weights).
 */
function recordedForward(be: WasmBackend, a: RecordedAttrs): TensorInfo[] {
  bind(be);
  if (!isCurrentRecording(a.recording)) throw new Error('the recorded forward pass was overwritten before it was read');
  const { batch, time, vocab, keepFrom } = a;
  const logits = be.makeOutput([batch, time, vocab], 'float32');
  const values = be.makeOutput([batch, time], 'float32');
  const heap = new Float32Array(be.wasm.asm.memory.buffer);
  const outs: Array<[number, number, number]> = [
    [at(be, logits), a.logitsAt, vocab],
    [at(be, values), a.valuesAt, 1],
  ];
  for (const [dst, src, width] of outs) {
    for (let b = 0; b < batch; b++) {
      const row = b * time * width;
      heap.fill(0, (dst >>> 2) + row, (dst >>> 2) + row + keepFrom * width);
      heap.copyWithin(
        (dst >>> 2) + row + keepFrom * width,
        (src >>> 2) + row + keepFrom * width,
        (src >>> 2) + row + time * width,
      );
    }
  }
  return [logits, values];
}

let registered = false;

/** Registers the four kernels for the wasm backend (after the fused and SIMD matmul modules loaded). */
export function registerWasmModelKernels(): void {
  if (registered || !tf.findBackend('wasm')) return;
  registered = true;
  type Run<A> = (be: WasmBackend, inputs: Record<string, TensorInfo>, attrs: A) => TensorInfo[];
  const register = <A>(kernelName: string, count: 'forward' | 'backward' | 'extend' | 'recorded', run: Run<A>) =>
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        modelKernelStats[count]++;
        const be = backend as unknown as WasmBackend;
        return run(be, inputs as unknown as Record<string, TensorInfo>, attrs as unknown as A) as tf.TensorInfo[];
      },
    });
  register<ModelAttrs>(MODEL_KERNELS.forward, 'forward', (be, { tokens, flat }, a) =>
    modelForward(be, tokens, flat, a),
  );
  register<ModelAttrs>(MODEL_KERNELS.backward, 'backward', modelBackward);
  register<ExtendAttrs>(MODEL_KERNELS.extend, 'extend', (be, { tokens, flat }, a) => modelExtend(be, tokens, flat, a));
  register<RecordedAttrs>(MODEL_KERNELS.recorded, 'recorded', (be, _, a) => recordedForward(be, a));
}

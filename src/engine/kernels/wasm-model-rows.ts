// What the whole-model kernels share (wasm-model.ts, the forward and backward kernels, and
// wasm-model-cache.ts, the sampler's cache): their attrs, scratch on the heap, parameter addresses,
// and the forward walk over a set of rows, in the per-layer path's order (model.ts, layers.ts).
import { fusedModule } from './wasm-fused';
import { denseOnHeap } from './wasm-matmul';
import { HeapScratch, heapAddress, type TensorInfo, type WasmBackend } from './wasm-heap';
import { tapeLayout } from './wasm-model-tape';

export const MODEL_KERNELS = {
  forward: 'TrlModel',
  backward: 'TrlModelGrad',
  extend: 'TrlModelExtend',
  recorded: 'TrlModelRecorded',
} as const;

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
  /**
   * The first position whose logits and values are wanted (0: all). The model is causal, so after the last
   * block's keys and values only positions from here on need the rest of the last block and the heads; the
   * others' raw logits and values come back 0 (forward() callers that read only decision positions pass the
   * first of them).
   */
  keepFrom: number;
}

/**
 * Runs of each kernel since start, and the positions per row the cache extensions computed (tests and
 * the browser check read which path ran and how much it computed).
 */
export const modelKernelStats = {
  forward: 0,
  backward: 0,
  extend: 0,
  extendedPositions: 0,
  openCaches: 0,
  /** Forward passes an update took from a sampler's recording instead of running (TrlModelRecorded). */
  recorded: 0,
};

// Scratch on the backend's heap: the tape when no gradient is recorded, the residual stream, the
// backward pass's temporaries, the products' packing buffers, and a cache step's rows.
export const scratch = {
  tape: new HeapScratch(),
  stream: new HeapScratch(),
  grad: new HeapScratch(),
  /** The kept rows' dLogits and dValues in the gradient (keepFrom). */
  keptGrad: new HeapScratch(),
  pack: new HeapScratch(),
  extend: new HeapScratch(),
  /** A sampler's recorded forward pass (Recording). */
  recording: new HeapScratch(),
};
let boundMemory: WebAssembly.Memory | undefined;

/** Forgets the scratch buffers when the backend's heap is a new one (they belonged to the old heap). */
export function bind(be: WasmBackend): void {
  if (be.wasm.asm.memory === boundMemory) return;
  boundMemory = be.wasm.asm.memory;
  for (const s of Object.values(scratch)) s.reset();
  // The recording's buffer went with the old heap.
  latestRecording++;
}

/**
 * A forward pass recorded while sampling (wasm-model-cache.ts): the tape of the whole buffer at the
 * sampling weights, laid out as tapeLayout({ …, tape: 1, keepFrom }) gives, and the raw logits [B·T, V]
 * and values [B·T] of every position, all on the heap. There is one recording at a time (a new one
 * overwrites it), so each carries an id that `isCurrentRecording` checks before anything reads it.
 */
export interface Recording {
  id: number;
  keepFrom: number;
  tape: number;
  logits: number;
  values: number;
}

let latestRecording = 0;

/** Room for a new recording of a [batch, time] buffer keeping positions from keepFrom on; older ones are stale. */
export function startRecording(be: WasmBackend, a: ModelAttrs, keepFrom: number): Recording {
  bind(be);
  const layout = tapeLayout({ ...a, tape: 1, keepFrom });
  const rows = a.batch * a.time;
  const logitsFloats = (rows * a.vocab + 3) & ~3;
  const tape = scratch.recording.reserve(be, (layout.floats + logitsFloats + rows) * 4);
  const logits = tape + layout.floats * 4;
  return { id: ++latestRecording, keepFrom, tape, logits, values: logits + logitsFloats * 4 };
}

/** Whether `id` is the latest recording on this heap (a later one, or a new heap, makes it stale). */
export function isCurrentRecording(id: number): boolean {
  return id === latestRecording && id > 0;
}

export const at = heapAddress;

/**
 * Each parameter's address on the heap, by name, with the flat vector's address looked up once (a
 * kernel asks for ~20 names a layer; the lookup through tfjs's data map each time cost ~0.1 ms a call).
 */
export function paramAddresses(be: WasmBackend, flat: TensorInfo, a: ModelAttrs): (name: string) => number {
  const base = at(be, flat);
  return (name) => {
    const offset = a.offsets[name];
    if (offset === undefined) throw new Error(`model parameter ${name} is missing`);
    return base + offset * 4;
  };
}

/** Where one block's forward pass writes what the gradient (or the next step) reads, on the heap. */
export interface BlockAt {
  y1: number;
  xhat1: number;
  rstd1: number;
  qkv: number;
  attended: number;
  y2: number;
  xhat2: number;
  rstd2: number;
  h: number;
  g: number;
  /** Where GELU's σ goes when the gradient will need it (geluKeepingSigmoid); absent otherwise. */
  sigmoid?: number;
}

/** Where the final LayerNorm and the heads write. */
export interface HeadsAt {
  hidden: number;
  xhat: number;
  rstd: number;
  logits: number;
  values: number;
}

/**
 * Token plus position embedding of `rows` rows into x: row r holds buffer row (r / n)·time + from + r mod n
 * (n = time, from = 0: the whole buffer; a cache's new positions otherwise). The one-hot product of the
 * per-layer path picks one table row, the same float, so no product is needed (assembly/fused.ts: embed).
 */
export function embedRows(
  be: WasmBackend,
  a: ModelAttrs,
  flat: TensorInfo,
  tokens: TensorInfo,
  x: number,
  rows: number,
  positions: { from: number; n: number } = { from: 0, n: a.time },
): void {
  const params = paramAddresses(be, flat, a);
  fusedModule(be).embed(
    at(be, tokens),
    params('tokenEmbedding'),
    params('positionEmbedding'),
    x,
    rows,
    a.dModel,
    a.time,
    positions.from,
    positions.n,
  );
}

/** The residual stream's two buffers and the blocks' branch buffer. */
export interface ResidualAt {
  x: number;
  x2: number;
  branch: number;
}

/**
 * Where the last block narrows to the kept rows (ModelAttrs.keepFrom): after its attention, `narrow`
 * moves the kept rows of the residual stream and of the attention's output into compact buffers and says
 * where the rest of the block writes; the rest and the heads then run on `rows` rows in `stream`.
 */
export interface Narrowing {
  rows: number;
  stream: ResidualAt;
  narrow(s: BlockAt): BlockAt;
}

/**
 * Every block, the final LayerNorm and both heads over `allRows` rows whose embeddings are in `x`, in the
 * per-layer path's order (model.ts). `blockAt(l)` says where block l writes; `attend(l, at)` runs its
 * attention from at.qkv into at.attended (the whole buffer's, or a cache's new positions). x and x2 hold
 * the residual stream and `branch` each block's branches. With `narrowing`, the last block's attention
 * leaves its output wherever `attend` and `narrow` agree, and the rest runs on the kept rows.
 */
export function forwardRows(
  be: WasmBackend,
  a: ModelAttrs,
  flat: TensorInfo,
  allRows: number,
  stream: ResidualAt,
  blockAt: (l: number) => BlockAt,
  attend: (l: number, at: BlockAt) => void,
  heads: HeadsAt,
  narrowing?: Narrowing,
): void {
  const fx = fusedModule(be);
  const d = a.dModel;
  let rows = allRows;
  let { x, x2, branch } = stream;
  const w = paramAddresses(be, flat, a);
  for (let l = 0; l < a.layers; l++) {
    let s = blockAt(l);
    const p = (name: string) => w(`block${l}.${name}`);
    fx.layerNorm(x, p('ln1.gamma'), p('ln1.beta'), s.y1, s.xhat1, s.rstd1, rows, d);
    denseOnHeap(be, s.y1, p('attn.wQkv'), p('attn.bQkv'), s.qkv, rows, d, 3 * d);
    attend(l, s);
    if (narrowing && l === a.layers - 1) {
      // The rest runs on the kept rows alone.
      s = narrowing.narrow(s);
      rows = narrowing.rows;
      ({ x, x2, branch } = narrowing.stream);
    }
    denseOnHeap(be, s.attended, p('attn.wOut'), p('attn.bOut'), branch, rows, d, d);
    fx.addRepeated(x, branch, x2, rows * d, rows * d);
    fx.layerNorm(x2, p('ln2.gamma'), p('ln2.beta'), s.y2, s.xhat2, s.rstd2, rows, d);
    denseOnHeap(be, s.y2, p('mlp.wIn'), p('mlp.bIn'), s.h, rows, d, 4 * d);
    if (s.sigmoid === undefined) fx.gelu(s.h, s.g, rows * 4 * d);
    else fx.geluKeepingSigmoid(s.h, s.g, s.sigmoid, rows * 4 * d);
    denseOnHeap(be, s.g, p('mlp.wOut'), p('mlp.bOut'), branch, rows, 4 * d, d);
    fx.addRepeated(x2, branch, x, rows * d, rows * d);
  }
  fx.layerNorm(x, w('lnFinal.gamma'), w('lnFinal.beta'), heads.hidden, heads.xhat, heads.rstd, rows, d);
  denseOnHeap(be, heads.hidden, w('policyHead.w'), w('policyHead.b'), heads.logits, rows, d, a.vocab);
  denseOnHeap(be, heads.hidden, w('valueHead.w'), w('valueHead.b'), heads.values, rows, d, 1);
}

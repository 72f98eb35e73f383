// The model's forward pass as one op with its own gradient where the wasm backend runs the whole-model
// kernels (kernels/wasm-model.ts): the same numbers as the per-layer ops in layers.ts, bit for bit, at
// one kernel each way instead of ~30 and ~80 with tfjs's tape and saved copies. model.ts decides which.
import { attentionFits, hasFusedKernel, type FusedOp } from './kernels/wasm-fused';
import { hasDenseKernel } from './kernels/wasm-matmul';
import { MODEL_KERNELS, ModelCache, type ExtendAttrs, type ModelAttrs, type RecordedAttrs } from './kernels/wasm-model';
import { isCurrentRecording, startRecording, type Recording } from './kernels/wasm-model-rows';

export { isCurrentRecording };
import type { WasmBackend } from './kernels/wasm-heap';
import type { ModelShape } from './model';
import type { Params } from './params';
import { tf, type Tensor, type Tensor2D, type Tensor3D } from './tf';

/** The model kernels chain these fused ops; with any of them switched off the per-layer path runs. */
const CHAINED: readonly FusedOp[] = ['model', 'dense', 'layerNorm', 'gelu', 'attention'];

export function hasModelKernel(dModel: number, heads: number): boolean {
  return CHAINED.every(hasFusedKernel) && hasDenseKernel() && attentionFits(dModel, heads);
}

/**
 * What the op needs of tfjs's engine beyond its public API: whether a gradient is being recorded (so the
 * forward pass keeps a tape only then), and the custom-gradient entry that tf.customGrad is built on,
 * which unlike tf.customGrad takes an op with two outputs (logits and values). tfjs 4.22.
 */
interface EngineInternals {
  isTapeOn(): boolean;
  runKernelFunc(invocation: {
    forwardFunc: (backend: unknown, save: (tensors: Tensor[]) => void) => Tensor[];
    backwardsFunc: (dys: Tensor[], saved: Tensor[]) => Record<string, () => Tensor>;
    inputs: Record<string, Tensor>;
  }): Tensor[];
}

const offsetsByLayout = new WeakMap<Params['layout'], Record<string, number>>();

function offsetsOf(params: Params): Record<string, number> {
  let offsets = offsetsByLayout.get(params.layout);
  if (!offsets) {
    offsets = Object.fromEntries(params.layout.map((e) => [e.name, e.offset]));
    offsetsByLayout.set(params.layout, offsets);
  }
  return offsets;
}

/** What the kernels need of the model's shape. */
export type ModelShapeAttrs = Pick<ModelShape, 'dModel' | 'nHeads' | 'nLayers' | 'vocabSize'>;

function attrsOf(
  params: Params,
  shape: ModelShapeAttrs,
  batch: number,
  time: number,
  tape: boolean,
  keepFrom = 0,
): ModelAttrs {
  return {
    batch,
    time,
    dModel: shape.dModel,
    heads: shape.nHeads,
    layers: shape.nLayers,
    vocab: shape.vocabSize,
    offsets: offsetsOf(params),
    tape: tape ? 1 : 0,
    keepFrom,
  };
}

/** Logits divided by the temperature, then the action mask added (model.ts's order: a masked token stays at 0). */
export function temperedAndMasked(raw: Tensor, params: Params, temperature: number): Tensor {
  const tempered = temperature === 1 ? raw : tf.div(raw, temperature);
  return params.logitMask ? tf.add(tempered, params.logitMask) : tempered;
}

/** Raw logits [B, T, V] (before temperature and the action mask) and values [B, T] of tokens [B, T]. */
export function modelAsOneOp(
  params: Params,
  shape: ModelShapeAttrs,
  tokens: Tensor2D,
  keepFrom = 0,
): { raw: Tensor; values: Tensor2D } {
  const engine = tf.engine() as unknown as EngineInternals;
  const [batch, time] = tokens.shape;
  if (!(keepFrom >= 0 && keepFrom < time)) throw new Error(`keepFrom ${keepFrom} is outside 0…${time - 1}`);
  const attrs = attrsOf(params, shape, batch, time, engine.isTapeOn(), keepFrom);
  const run = (name: string, inputs: Record<string, Tensor>) =>
    tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as Tensor[];
  const [raw, values] = engine.runKernelFunc({
    forwardFunc: (_, save) => {
      const [logits, values, tape] = run(MODEL_KERNELS.forward, { tokens, flat: params.flat });
      if (tape) save([tape, tokens, params.flat]);
      return [logits, values];
    },
    backwardsFunc: ([dLogits, dValues], [tape, tokens, flat]) => ({
      flat: () => run(MODEL_KERNELS.backward, { dLogits, dValues, tokens, flat, tape })[0],
    }),
    inputs: { flat: params.flat },
  });
  return { raw, values: values as Tensor2D };
}

/**
 * A sampler's key/value cache for a buffer [batch, time] (kernels/wasm-model.ts), where the whole-model
 * kernels run; undefined elsewhere (the sampler then runs each step's prefix through forward()).
 */
export function createModelCache(shape: ModelShapeAttrs, batch: number, time: number): ModelCache | undefined {
  if (!hasModelKernel(shape.dModel, shape.nHeads)) return undefined;
  return new ModelCache({ layers: shape.nLayers, batch, time, dModel: shape.dModel, vocab: shape.vocabSize });
}

/**
 * Computes positions from ≤ i < to of tokens [B, T] into the cache and returns the logits at `pick`
 * [B, V], and with `full` every position's logits [B, T, V] and values [B, T] (as forward() would give
 * for the whole buffer: the same floats), temperature and mask applied as forward() applies them.
 */
export function extendModelCache(
  cache: ModelCache,
  params: Params,
  shape: ModelShapeAttrs,
  tokens: Tensor2D,
  range: { from: number; to: number; pick: number; full: boolean },
  temperature: number,
  recording?: Recording,
): { picked: Tensor2D; full?: { logits: Tensor3D; values: Tensor2D } } {
  const [batch, time] = tokens.shape;
  const attrs: ExtendAttrs = {
    ...attrsOf(params, shape, batch, time, false),
    cache: cache.address,
    from: range.from,
    to: range.to,
    pick: range.pick,
    full: range.full ? 1 : 0,
    recordTape: recording?.tape ?? 0,
    recordLogits: recording?.logits ?? 0,
    recordValues: recording?.values ?? 0,
    recordFrom: recording?.keepFrom ?? 0,
  };
  const [picked, logits, values] = tf
    .engine()
    .runKernel(
      MODEL_KERNELS.extend,
      { tokens, flat: params.flat },
      attrs as unknown as tf.NamedAttrMap,
    ) as unknown as Tensor[];
  const mask = (raw: Tensor) => temperedAndMasked(raw, params, temperature);
  return {
    picked: mask(picked) as Tensor2D,
    ...(range.full ? { full: { logits: mask(logits) as Tensor3D, values: values as Tensor2D } } : {}),
  };
}

/**
 * The policy's forward pass over a rollout's buffer, recorded while it sampled (kernels/wasm-model-cache.ts):
 * every position was computed once, at the sampling weights, with the same operations as forward() and
 * its tape kept. An update whose first loss is on that whole buffer at those weights (REINFORCE's,
 * actor-critic's and RLOO's one step) takes its logits, values and gradient from here instead of running the pass.
 */
export interface RecordedForward {
  readonly recording: Recording;
  /** The weights' data when recorded: an optimizer step assigns new data, so a changed one means stale. */
  readonly weights: object;
  readonly batch: number;
  readonly time: number;
}

/** Room for a sampler's recording of a [batch, time] buffer read from keepFrom on (the first decision). */
export function startForwardRecording(
  params: Params,
  shape: ModelShapeAttrs,
  batch: number,
  time: number,
  keepFrom: number,
): Recording {
  const backend = tf.backend() as unknown as WasmBackend;
  return startRecording(backend, attrsOf(params, shape, batch, time, true, keepFrom), keepFrom);
}

/** The finished recording of a sampler, tied to the weights it sampled with. */
export function recordedForward(recording: Recording, params: Params, batch: number, time: number): RecordedForward {
  return { recording, weights: params.flat.dataId, batch, time };
}

/**
 * Whether forward(params, …, tokens, keepFrom) may read `recorded`: it is the latest recording, the
 * weights have not changed since, and the buffer's shape and first kept position are the recording's.
 * The caller vouches that the tokens are the recorded buffer's (common.ts: the whole rollout, in order).
 */
export function recordingFits(recorded: RecordedForward, params: Params, tokens: Tensor2D, keepFrom: number): boolean {
  return (
    isCurrentRecording(recorded.recording.id) &&
    recorded.weights === params.flat.dataId &&
    tokens.shape[0] === recorded.batch &&
    tokens.shape[1] === recorded.time &&
    keepFrom === recorded.recording.keepFrom
  );
}

/** modelAsOneOp's raw logits and values, read from a recording (see recordingFits), with its gradient. */
export function recordedAsOneOp(
  recorded: RecordedForward,
  params: Params,
  shape: ModelShapeAttrs,
  tokens: Tensor2D,
): { raw: Tensor; values: Tensor2D } {
  const engine = tf.engine() as unknown as EngineInternals;
  const { recording, batch, time } = recorded;
  const attrs: RecordedAttrs = {
    ...attrsOf(params, shape, batch, time, true, recording.keepFrom),
    recording: recording.id,
    tapeAt: recording.tape,
    logitsAt: recording.logits,
    valuesAt: recording.values,
  };
  const run = (name: string, inputs: Record<string, Tensor>) =>
    tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as Tensor[];
  const [raw, values] = engine.runKernelFunc({
    forwardFunc: () => run(MODEL_KERNELS.recorded, {}),
    backwardsFunc: ([dLogits, dValues]) => ({
      flat: () => run(MODEL_KERNELS.backward, { dLogits, dValues, tokens, flat: params.flat })[0],
    }),
    inputs: { flat: params.flat },
  });
  return { raw, values: values as Tensor2D };
}

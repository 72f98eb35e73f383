// A tiny causal transformer (docs/reference.md §3), in the spirit of minGPT: token embedding as a one-hot matmul
// (the wasm backend has no gradient for gather), learned positions, pre-LayerNorm blocks of causal
// multi-head attention and a GELU MLP, a final LayerNorm, a policy head and a value head. Activations
// stay 2-D [batch·time, width] between layers; the layers are fused ops with their own gradients
// (layers.ts) and the parameters live in one flat variable (params.ts).
import type { Config } from './config';
import {
  hasModelKernel,
  modelAsOneOp,
  recordedAsOneOp,
  recordingFits,
  temperedAndMasked,
  type RecordedForward,
} from './fused-model';
import { causalSelfAttention, dense, gelu, layerNorm, matMul2d } from './layers';
import { createParams, logitMaskOf, views, type Params, type ParamSpec } from './params';
import { tf, type Tensor, type Tensor2D, type Tensor3D } from './tf';

export { cloneParams, countParams, disposeParams, type Params } from './params';

export type ModelShape = Pick<Config, 'dModel' | 'nLayers' | 'nHeads' | 'contextLength'> & { vocabSize: number };

export interface ForwardOutput {
  /**
   * [batch, time, vocab]: logits for the token after each position, already divided by temperature and
   * masked to the policy's action vocabulary (−1e9 for tokens it may not write).
   */
  logits: Tensor3D;
  /** [batch, time]: V(state up to and including each position). */
  values: Tensor2D;
}

/** The parameters, in the order they are drawn from the seeded generator. */
export function paramSpecs(shape: ModelShape): ParamSpec[] {
  const { dModel: d, vocabSize: v, contextLength: t } = shape;
  // GPT-2 style: std 0.02, residual projections scaled down by sqrt(2 * layers).
  const normal = 0.02;
  const residual = 0.02 / Math.sqrt(2 * shape.nLayers);
  const specs: ParamSpec[] = [
    { name: 'tokenEmbedding', shape: [v, d], init: { normal } },
    { name: 'positionEmbedding', shape: [t, d], init: { normal } },
  ];
  for (let l = 0; l < shape.nLayers; l++) {
    const b = `block${l}`;
    specs.push(
      { name: `${b}.ln1.gamma`, shape: [d], init: { constant: 1 } },
      { name: `${b}.ln1.beta`, shape: [d], init: { constant: 0 } },
      { name: `${b}.attn.wQkv`, shape: [d, 3 * d], init: { normal } },
      { name: `${b}.attn.bQkv`, shape: [3 * d], init: { constant: 0 } },
      { name: `${b}.attn.wOut`, shape: [d, d], init: { normal: residual } },
      { name: `${b}.attn.bOut`, shape: [d], init: { constant: 0 } },
      { name: `${b}.ln2.gamma`, shape: [d], init: { constant: 1 } },
      { name: `${b}.ln2.beta`, shape: [d], init: { constant: 0 } },
      { name: `${b}.mlp.wIn`, shape: [d, 4 * d], init: { normal } },
      { name: `${b}.mlp.bIn`, shape: [4 * d], init: { constant: 0 } },
      { name: `${b}.mlp.wOut`, shape: [4 * d, d], init: { normal: residual } },
      { name: `${b}.mlp.bOut`, shape: [d], init: { constant: 0 } },
    );
  }
  specs.push(
    { name: 'lnFinal.gamma', shape: [d], init: { constant: 1 } },
    { name: 'lnFinal.beta', shape: [d], init: { constant: 0 } },
    { name: 'policyHead.w', shape: [d, v], init: { normal } },
    { name: 'policyHead.b', shape: [v], init: { constant: 0 } },
    // The value head starts at exactly zero, so the first advantages are plain returns.
    { name: 'valueHead.w', shape: [d, 1], init: { constant: 0 } },
    { name: 'valueHead.b', shape: [1], init: { constant: 0 } },
  );
  return specs;
}

/** A model's parameters; with `actions`, a policy whose logits allow only those tokens. */
export function initParams(shape: ModelShape, seed: number, prefix = 'policy', actions?: readonly number[]): Params {
  return createParams(paramSpecs(shape), seed, prefix, actions && logitMaskOf(shape.vocabSize, actions));
}

/**
 * tokens: int32 [B, T]. Returns logits / temperature and values for every position. Call inside
 * tf.tidy or a gradient function. `keepFrom`: the first position whose logits and values the caller
 * reads (a batch's first decision position); the whole-model kernels (wasm) then skip the last block's
 * work after its keys and values, and the heads, at earlier positions: their raw logits and values are 0,
 * so their logits are the action mask (0 for allowed tokens, −1e9 for the rest, over the temperature).
 * The model is causal: later positions are the same floats. Other backends compute every position.
 * `recorded`: the sampler's recording of this buffer (fused-model.ts); where it fits (the same weights,
 * shape and keepFrom) the pass is read from it rather than run, with the same floats at every position a
 * loss reads (and the gradient's).
 */
export function forward(
  params: Params,
  shape: ModelShape,
  tokens: Tensor2D,
  temperature: number,
  keepFrom = 0,
  recorded?: RecordedForward,
): ForwardOutput {
  const { raw, values } = !hasModelKernel(shape.dModel, shape.nHeads)
    ? layered(params, shape, tokens)
    : recorded && recordingFits(recorded, params, tokens, keepFrom)
      ? recordedAsOneOp(recorded, params, shape, tokens)
      : modelAsOneOp(params, shape, tokens, keepFrom);
  return { logits: temperedAndMasked(raw, params, temperature) as Tensor3D, values };
}

/** The forward pass op by op (layers.ts): raw logits [B, T, V] and values [B, T]. */
function layered(params: Params, shape: ModelShape, tokens: Tensor2D): { raw: Tensor; values: Tensor2D } {
  const [batch, time] = tokens.shape;
  const rows = batch * time;
  const w = viewsOf(params);
  const oneHot = tf.oneHot(tf.reshape(tokens, [rows]), shape.vocabSize);
  const embedded = tf.reshape(matMul2d(oneHot, w('tokenEmbedding')), [batch, time, shape.dModel]);
  const positions = tf.reshape(tf.slice(w('positionEmbedding'), [0], [time * shape.dModel]), [time, shape.dModel]);
  let x: Tensor = tf.reshape(tf.add(embedded, positions), [rows, shape.dModel]);
  for (let l = 0; l < shape.nLayers; l++) {
    const p = (name: string) => w(`block${l}.${name}`);
    const qkv = dense(layerNorm(x, p('ln1.gamma'), p('ln1.beta')), p('attn.wQkv'), p('attn.bQkv'));
    const attended = causalSelfAttention(qkv, { batch, time, heads: shape.nHeads });
    x = tf.add(x, dense(attended, p('attn.wOut'), p('attn.bOut')));
    const inner = gelu(dense(layerNorm(x, p('ln2.gamma'), p('ln2.beta')), p('mlp.wIn'), p('mlp.bIn')));
    x = tf.add(x, dense(inner, p('mlp.wOut'), p('mlp.bOut')));
  }
  const hidden = layerNorm(x, w('lnFinal.gamma'), w('lnFinal.beta'));
  const raw = tf.reshape(dense(hidden, w('policyHead.w'), w('policyHead.b')), [batch, time, shape.vocabSize]);
  const values = tf.reshape(dense(hidden, w('valueHead.w'), w('valueHead.b')), [batch, time]);
  return { raw, values: values as Tensor2D };
}

function viewsOf(params: Params): (name: string) => Tensor {
  const named = views(params);
  return (name) => {
    const t = named.get(name);
    if (!t) throw new Error(`model parameter ${name} is missing`);
    return t;
  };
}

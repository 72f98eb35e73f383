// A tiny causal transformer (DESIGN §3), in the spirit of minGPT: token embedding as a one-hot matmul
// (the wasm backend has no gradient for gather), learned positions, pre-LayerNorm blocks of causal
// multi-head attention and a GELU MLP, a final LayerNorm, a policy head and a value head.
import type { Config } from './config';
import { Random } from './random';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Variable } from './tf';

export type ModelShape = Pick<Config, 'dModel' | 'nLayers' | 'nHeads' | 'contextLength'> & { vocabSize: number };

/** Named parameters. Order is fixed so that optimizer state and snapshots line up. */
export type Params = Map<string, Variable>;

export interface ForwardOutput {
  /** [batch, time, vocab]: logits for the token after each position, already divided by temperature. */
  logits: Tensor3D;
  /** [batch, time]: V(state up to and including each position). */
  values: Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** tfjs wants every variable name unique in the process; several models may coexist. */
let modelCount = 0;

export function initParams(shape: ModelShape, seed: number, prefix = 'policy'): Params {
  const rng = new Random(seed);
  const { dModel: d, vocabSize: v, contextLength: t } = shape;
  const params: Params = new Map();
  const id = `${prefix}${modelCount++}`;
  const normal = (name: string, dims: number[], std: number) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: size }, () => rng.normal() * std);
    params.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(values, dims), true, `${id}/${name}`)),
    );
  };
  const constant = (name: string, dims: number[], value: number) =>
    params.set(
      name,
      tf.tidy(() => tf.variable(tf.fill(dims, value), true, `${id}/${name}`)),
    );

  // GPT-2 style: std 0.02, residual projections scaled down by sqrt(2 * layers).
  const residualStd = 0.02 / Math.sqrt(2 * shape.nLayers);
  normal('tokenEmbedding', [v, d], 0.02);
  normal('positionEmbedding', [t, d], 0.02);
  for (let l = 0; l < shape.nLayers; l++) {
    constant(`block${l}.ln1.gamma`, [d], 1);
    constant(`block${l}.ln1.beta`, [d], 0);
    normal(`block${l}.attn.wQkv`, [d, 3 * d], 0.02);
    constant(`block${l}.attn.bQkv`, [3 * d], 0);
    normal(`block${l}.attn.wOut`, [d, d], residualStd);
    constant(`block${l}.attn.bOut`, [d], 0);
    constant(`block${l}.ln2.gamma`, [d], 1);
    constant(`block${l}.ln2.beta`, [d], 0);
    normal(`block${l}.mlp.wIn`, [d, 4 * d], 0.02);
    constant(`block${l}.mlp.bIn`, [4 * d], 0);
    normal(`block${l}.mlp.wOut`, [4 * d, d], residualStd);
    constant(`block${l}.mlp.bOut`, [d], 0);
  }
  constant('lnFinal.gamma', [d], 1);
  constant('lnFinal.beta', [d], 0);
  normal('policyHead.w', [d, v], 0.02);
  constant('policyHead.b', [v], 0);
  // The value head starts at exactly zero, so the first advantages are plain returns.
  constant('valueHead.w', [d, 1], 0);
  constant('valueHead.b', [1], 0);
  return params;
}

export function cloneParams(params: Params, prefix: string, trainable: boolean): Params {
  const copy: Params = new Map();
  const id = `${prefix}${modelCount++}`;
  for (const [name, p] of params)
    copy.set(
      name,
      tf.tidy(() => tf.variable(p.clone(), trainable, `${id}/${name}`)),
    );
  return copy;
}

export function disposeParams(params: Params): void {
  for (const p of params.values()) p.dispose();
}

export function countParams(params: Params): number {
  let n = 0;
  for (const p of params.values()) n += p.size;
  return n;
}

function get(params: Params, name: string): Variable {
  const p = params.get(name);
  if (!p) throw new Error(`model parameter ${name} is missing`);
  return p;
}

function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor): Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
}

function gelu(x: Tensor): Tensor {
  // x·x·x rather than pow(x, 3): GPU pow is undefined for a negative base.
  const inner = tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/** x [B*T, din] times w [din, dout] plus b, back to [B, T, dout]. */
function dense(x: Tensor, w: Tensor, b: Tensor, batch: number, time: number): Tensor3D {
  const flat = tf.reshape(x, [batch * time, w.shape[0] as number]);
  return tf.reshape(tf.add(tf.matMul(flat, w as Tensor2D), b), [batch, time, w.shape[1] as number]);
}

/** Additive causal mask [T, T]: 0 where a position may attend, a large finite negative where not. */
function causalMask(time: number): Tensor2D {
  const data = new Float32Array(time * time);
  for (let i = 0; i < time; i++) for (let j = i + 1; j < time; j++) data[i * time + j] = -1e9;
  return tf.tensor2d(data, [time, time]);
}

function causalSelfAttention(params: Params, l: number, x: Tensor3D, nHeads: number): Tensor3D {
  const [batch, time, d] = x.shape;
  const headDim = d / nHeads;
  const qkv = dense(x, get(params, `block${l}.attn.wQkv`), get(params, `block${l}.attn.bQkv`), batch, time);
  // [B, T, 3, H, hd] -> [3, B, H, T, hd]: one transpose splits queries, keys and values per head.
  const heads = tf.transpose(tf.reshape(qkv, [batch, time, 3, nHeads, headDim]), [2, 0, 3, 1, 4]);
  const [q, k, v] = tf.unstack(heads, 0);
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)), causalMask(time));
  const attended = tf.matMul(tf.softmax(scores, -1), v); // [B, H, T, hd]
  const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, time, d]);
  return dense(merged, get(params, `block${l}.attn.wOut`), get(params, `block${l}.attn.bOut`), batch, time);
}

function block(params: Params, l: number, x: Tensor3D, nHeads: number): Tensor3D {
  const [batch, time] = x.shape;
  const p = (name: string) => get(params, `block${l}.${name}`);
  const h = tf.add(x, causalSelfAttention(params, l, layerNorm(x, p('ln1.gamma'), p('ln1.beta')) as Tensor3D, nHeads));
  const inner = gelu(dense(layerNorm(h, p('ln2.gamma'), p('ln2.beta')), p('mlp.wIn'), p('mlp.bIn'), batch, time));
  return tf.add(h, dense(inner, p('mlp.wOut'), p('mlp.bOut'), batch, time)) as Tensor3D;
}

/**
 * tokens: int32 [B, T]. Returns logits / temperature and values for every position. Call inside
 * tf.tidy or a gradient function.
 */
export function forward(params: Params, shape: ModelShape, tokens: Tensor2D, temperature: number): ForwardOutput {
  const [batch, time] = tokens.shape;
  const oneHot = tf.reshape(tf.oneHot(tokens, shape.vocabSize), [batch * time, shape.vocabSize]);
  const embedded = tf.reshape(tf.matMul(oneHot, get(params, 'tokenEmbedding')), [batch, time, shape.dModel]);
  const positions = tf.slice(get(params, 'positionEmbedding'), [0, 0], [time, shape.dModel]);
  let x = tf.add(embedded, positions) as Tensor3D;
  for (let l = 0; l < shape.nLayers; l++) x = block(params, l, x, shape.nHeads);
  const hidden = layerNorm(x, get(params, 'lnFinal.gamma'), get(params, 'lnFinal.beta'));
  const logits = dense(hidden, get(params, 'policyHead.w'), get(params, 'policyHead.b'), batch, time);
  const values = dense(hidden, get(params, 'valueHead.w'), get(params, 'valueHead.b'), batch, time);
  return {
    logits: (temperature === 1 ? logits : tf.div(logits, temperature)) as Tensor3D,
    values: tf.reshape(values, [batch, time]) as Tensor2D,
  };
}

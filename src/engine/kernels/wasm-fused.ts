// The model's elementwise layers, attention core and Adam step as single wasm-backend kernels, written
// in JS over the wasm heap. At this model's sizes (a few thousand to fifty thousand floats per tensor)
// a tfjs kernel launch costs more than its arithmetic, and each of these replaces 6–20 launches:
// LayerNorm's mean/centre/variance/scale chain, GELU's polynomial and sigmoid, attention's
// transposes, splits, batched products and softmax (whose batched matMul takes tfjs-wasm's unvectorised
// path), and Adam's 19 kernels. Same math as the composite versions in layers.ts and optimizer.ts, which
// every other backend runs; test/wasm-kernels.test.ts checks the two agree. Accumulations run in
// float64, so results differ from the float32 composites in the last bits only.
import { tf } from '../tf';

type Shape = number[];
interface TensorInfo {
  dataId: object;
  shape: Shape;
  dtype: string;
}
interface WasmBackend {
  makeOutput(shape: Shape, dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
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
} as const;

/** Whether the current backend runs this kernel of the ones above (only wasm registers them). */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

export const LAYER_NORM_EPSILON = 1e-5;
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** Allocates every output first (allocation may grow the heap and detach views), then views them all. */
function io(backend: WasmBackend, inputs: TensorInfo[], outputs: [Shape, string][]) {
  const made = outputs.map(([shape, dtype]) => backend.makeOutput(shape, dtype));
  return {
    made,
    ins: inputs.map((t) => backend.typedArrayFromHeap(t) as Float32Array),
    outs: made.map((t) => backend.typedArrayFromHeap(t) as Float32Array),
  };
}

/** y = x̂·γ + β with x̂ = (x − mean)/√(var + ε) per row of x [n, d]; also x̂ and 1/√(var + ε) [n]. */
function layerNorm(backend: WasmBackend, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo): TensorInfo[] {
  const [n, d] = x.shape;
  const {
    made,
    ins: [xs, g, b],
    outs: [y, xhat, rstd],
  } = io(backend, [x, gamma, beta], [[[n, d], 'float32'], [[n, d], 'float32'], [[n], 'float32']]);
  for (let row = 0, o = 0; row < n; row++, o += d) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += xs[o + j];
    const mean = sum / d;
    let squares = 0;
    for (let j = 0; j < d; j++) {
      const c = xs[o + j] - mean;
      squares += c * c;
    }
    const r = 1 / Math.sqrt(squares / d + LAYER_NORM_EPSILON);
    rstd[row] = r;
    for (let j = 0; j < d; j++) {
      const h = (xs[o + j] - mean) * r;
      xhat[o + j] = h;
      y[o + j] = h * g[j] + b[j];
    }
  }
  return made;
}

/** dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ; dγ = Σ dy·x̂ and dβ = Σ dy over rows. */
function layerNormGrad(
  backend: WasmBackend,
  dy: TensorInfo,
  xhat: TensorInfo,
  rstd: TensorInfo,
  gamma: TensorInfo,
): TensorInfo[] {
  const [n, d] = dy.shape;
  const {
    made,
    ins: [dys, h, r, g],
    outs: [dx, dgamma, dbeta],
  } = io(backend, [dy, xhat, rstd, gamma], [[[n, d], 'float32'], [[d], 'float32'], [[d], 'float32']]);
  const dg = new Float64Array(d);
  const db = new Float64Array(d);
  for (let row = 0, o = 0; row < n; row++, o += d) {
    let meanG = 0;
    let meanGH = 0;
    for (let j = 0; j < d; j++) {
      const gj = dys[o + j] * g[j];
      meanG += gj;
      meanGH += gj * h[o + j];
      dg[j] += dys[o + j] * h[o + j];
      db[j] += dys[o + j];
    }
    meanG /= d;
    meanGH /= d;
    const rr = r[row];
    for (let j = 0; j < d; j++) dx[o + j] = rr * (dys[o + j] * g[j] - meanG - h[o + j] * meanGH);
  }
  dgamma.set(dg);
  dbeta.set(db);
  return made;
}

/** GELU's tanh approximation as x·σ(2u), u = √(2/π)(x + 0.044715x³), as layers.ts writes it. */
function gelu(backend: WasmBackend, x: TensorInfo): TensorInfo[] {
  const {
    made,
    ins: [xs],
    outs: [y],
  } = io(backend, [x], [[x.shape, 'float32']]);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    y[i] = v / (1 + Math.exp(-v * (2 * GELU_C + 2 * GELU_C * GELU_A * v * v)));
  }
  return made;
}

/** dx = dy·(σ + x·σ(1 − σ)·2√(2/π)(1 + 3·0.044715x²)). */
function geluGrad(backend: WasmBackend, dy: TensorInfo, x: TensorInfo): TensorInfo[] {
  const {
    made,
    ins: [dys, xs],
    outs: [dx],
  } = io(backend, [dy, x], [[x.shape, 'float32']]);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    const v2 = v * v;
    const s = 1 / (1 + Math.exp(-v * (2 * GELU_C + 2 * GELU_C * GELU_A * v2)));
    dx[i] = dys[i] * (s + v * s * (1 - s) * (2 * GELU_C + 6 * GELU_C * GELU_A * v2));
  }
  return made;
}

interface AttentionAttrs {
  batch: number;
  time: number;
  heads: number;
}

/**
 * Causal attention from qkv [B·T, 3d] (queries, keys, values side by side, each head-major) to the heads'
 * outputs [B·T, d], and the attention weights [H·B, T, T] (group h·B + b) for the gradient. Reads and
 * writes the [B·T, ·] layouts directly, so there is no transpose, split or merge.
 */
function attention(backend: WasmBackend, qkv: TensorInfo, { batch, time, heads }: AttentionAttrs): TensorInfo[] {
  const width = qkv.shape[1];
  const d = width / 3;
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const {
    made,
    ins: [x],
    outs: [out, p],
  } = io(
    backend,
    [qkv],
    [
      [[batch * time, d], 'float32'],
      [[heads * batch, time, time], 'float32'],
    ],
  );
  const scores = new Float64Array(time);
  const acc = new Float64Array(hd);
  for (let h = 0; h < heads; h++) {
    const qc = h * hd;
    const kc = d + h * hd;
    const vc = 2 * d + h * hd;
    for (let b = 0; b < batch; b++) {
      const pg = (h * batch + b) * time * time;
      for (let i = 0; i < time; i++) {
        const qi = (b * time + i) * width + qc;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = (b * time + j) * width + kc;
          let s = 0;
          for (let e = 0; e < hd; e++) s += x[qi + e] * x[kj + e];
          s *= scale;
          scores[j] = s;
          if (s > max) max = s;
        }
        let total = 0;
        for (let j = 0; j <= i; j++) {
          const w = Math.exp(scores[j] - max);
          scores[j] = w;
          total += w;
        }
        const row = pg + i * time;
        const o = (b * time + i) * d + h * hd;
        acc.fill(0);
        for (let j = 0; j < time; j++) {
          if (j > i) {
            p[row + j] = 0;
            continue;
          }
          const w = scores[j] / total;
          p[row + j] = w;
          const vj = (b * time + j) * width + vc;
          for (let e = 0; e < hd; e++) acc[e] += w * x[vj + e];
        }
        for (let e = 0; e < hd; e++) out[o + e] = acc[e];
      }
    }
  }
  return made;
}

/** The gradient of attention() for dy [B·T, d], as dqkv [B·T, 3d]. */
function attentionGrad(
  backend: WasmBackend,
  dy: TensorInfo,
  qkv: TensorInfo,
  probabilities: TensorInfo,
  { batch, time, heads }: AttentionAttrs,
): TensorInfo[] {
  const width = qkv.shape[1];
  const d = width / 3;
  const hd = d / heads;
  const scale = 1 / Math.sqrt(hd);
  const {
    made,
    ins: [g, x, p],
    outs: [dx],
  } = io(backend, [dy, qkv, probabilities], [[qkv.shape, 'float32']]);
  dx.fill(0);
  const dp = new Float64Array(time);
  for (let h = 0; h < heads; h++) {
    const qc = h * hd;
    const kc = d + h * hd;
    const vc = 2 * d + h * hd;
    for (let b = 0; b < batch; b++) {
      const pg = (h * batch + b) * time * time;
      for (let i = 0; i < time; i++) {
        const gi = (b * time + i) * d + h * hd;
        const qi = (b * time + i) * width;
        const row = pg + i * time;
        // dp_ij = dOut_i · v_j, and dv_j += p_ij · dOut_i
        let weighted = 0;
        for (let j = 0; j <= i; j++) {
          const vj = (b * time + j) * width;
          const pij = p[row + j];
          let s = 0;
          for (let e = 0; e < hd; e++) {
            s += g[gi + e] * x[vj + vc + e];
            dx[vj + vc + e] += pij * g[gi + e];
          }
          dp[j] = s;
          weighted += s * pij;
        }
        // ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij') · scale; dq_i += ds_ij k_j; dk_j += ds_ij q_i
        for (let j = 0; j <= i; j++) {
          const ds = p[row + j] * (dp[j] - weighted) * scale;
          if (ds === 0) continue;
          const kj = (b * time + j) * width;
          for (let e = 0; e < hd; e++) {
            dx[qi + qc + e] += ds * x[kj + kc + e];
            dx[kj + kc + e] += ds * x[qi + qc + e];
          }
        }
      }
    }
  }
  return made;
}

interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Learning rate with both bias corrections folded in. */
  stepSize: number;
  /** Clip the gradient's global norm to this (0 = off). */
  maxGradNorm: number;
}

/** One Adam step with global-norm clipping: new parameters, both moments, and the norm before clipping. */
function adam(
  backend: WasmBackend,
  [grad, params, m, v]: TensorInfo[],
  { beta1, beta2, epsilon, stepSize, maxGradNorm }: AdamAttrs,
): TensorInfo[] {
  const n = params.shape[0];
  const {
    made,
    ins: [g, p0, m0, v0],
    outs: [p1, m1, v1, normOut],
  } = io(
    backend,
    [grad, params, m, v],
    [
      [[n], 'float32'],
      [[n], 'float32'],
      [[n], 'float32'],
      [[], 'float32'],
    ],
  );
  let squares = 0;
  for (let i = 0; i < n; i++) squares += g[i] * g[i];
  const norm = Math.fround(Math.sqrt(squares));
  const scale = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1;
  for (let i = 0; i < n; i++) {
    const c = g[i] * scale;
    const mi = beta1 * m0[i] + (1 - beta1) * c;
    const vi = beta2 * v0[i] + (1 - beta2) * c * c;
    m1[i] = mi;
    v1[i] = vi;
    p1[i] = p0[i] - (stepSize * mi) / (Math.sqrt(vi) + epsilon);
  }
  normOut[0] = norm;
  return made;
}

let registered = false;

export function registerWasmFusedKernels(): void {
  if (registered) return;
  registered = true;
  type Inputs = Record<string, TensorInfo>;
  const register = (kernelName: string, run: (inputs: Inputs, attrs: never, backend: WasmBackend) => TensorInfo[]) =>
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) =>
        run(inputs as unknown as Inputs, attrs as never, backend as unknown as WasmBackend) as tf.TensorInfo[],
    });
  register(KERNELS.layerNorm, ({ x, gamma, beta }, _, be) => layerNorm(be, x, gamma, beta));
  register(KERNELS.layerNormGrad, ({ dy, xhat, rstd, gamma }, _, be) => layerNormGrad(be, dy, xhat, rstd, gamma));
  register(KERNELS.gelu, ({ x }, _, be) => gelu(be, x));
  register(KERNELS.geluGrad, ({ dy, x }, _, be) => geluGrad(be, dy, x));
  register(KERNELS.attention, ({ qkv }, attrs: AttentionAttrs, be) => attention(be, qkv, attrs));
  register(KERNELS.attentionGrad, ({ dy, qkv, p }, attrs: AttentionAttrs, be) => attentionGrad(be, dy, qkv, p, attrs));
  register(KERNELS.adam, ({ grad, params, m, v }, attrs: AdamAttrs, be) => adam(be, [grad, params, m, v], attrs));
}

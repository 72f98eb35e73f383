// The model's layers as fused ops with hand-written gradients. tfjs's automatic differentiation emits
// several kernels per op (broadcast reductions, casts, a clone of every saved tensor), and on tensors
// this small each kernel launch costs more than its arithmetic; each backward pass here is written in
// as few kernels as its math needs. Matrix products multiply by explicit transposes rather than use
// matMul's transpose flags: the wasm backend's 2-D matMul is ~10× slower with a transposed operand.
// test/layers.test.ts checks every gradient against tfjs's own automatic differentiation. On the wasm
// backend LayerNorm, GELU and the attention core each run as one SIMD kernel each way, and a dense
// layer's gradient as one (kernels/wasm-fused.ts); the composites here are what every other backend runs.
import { attentionFits, hasFusedKernel, KERNELS } from './kernels/wasm-fused';
import { DENSE_KERNEL, hasDenseKernel } from './kernels/wasm-matmul';
import { COLUMN_SUM_KERNEL, hasWebgpuFused, MAX_WEBGPU_ATTENTION_TIME } from './kernels/webgpu-fused-ops';
import { tf, type Tensor, type Tensor2D } from './tf';

/** Runs a kernel of kernels/wasm-fused.ts (registered for the wasm backend only). */
function runFused(name: string, inputs: Record<string, Tensor>, attrs: Record<string, number> = {}): Tensor[] {
  return tf.engine().runKernel(name, inputs, attrs) as unknown as Tensor[];
}

type Save = (tensors: Tensor[]) => void;
type Grads = (dy: Tensor, saved: Tensor[]) => Tensor[];

/** tf.customGrad with plain tensor arguments (its own typing mixes tensors and the save function). */
function fused<Args extends Tensor[]>(
  f: (save: Save, ...args: Args) => { value: Tensor; gradFunc: Grads },
): (...args: Args) => Tensor {
  const op = tf.customGrad(((...inputs: unknown[]) => {
    const save = inputs.pop() as Save;
    return f(save, ...(inputs as Args));
  }) as Parameters<typeof tf.customGrad>[0]);
  return (...args: Args) => op(...args);
}

/**
 * a [n, k] · w, with w the flat [k·m] slice of the parameter vector: the reshape happens inside the
 * fused op, where it costs no saved copy on the gradient tape.
 */
export const matMul2d = fused((save, a: Tensor, w: Tensor) => {
  const matrix = asMatrix(w, a);
  save([a, matrix]);
  return {
    value: tf.matMul(a as Tensor2D, matrix),
    gradFunc: (dy, [a, matrix]) => [
      tf.matMul(dy as Tensor2D, tf.transpose(matrix as Tensor2D)),
      tf.reshape(transposedTimes(a as Tensor2D, dy as Tensor2D), [-1]),
    ],
  };
});

/** x [n, in] · w + b [out], w the flat [in·out] slice of the parameter vector. */
export const dense = fused((save, x: Tensor, w: Tensor, b: Tensor) => {
  if (hasFusedKernel('dense')) {
    // The gradient as one kernel (kernels/wasm-fused.ts), dW already in w's flat shape; the forward
    // pass as one where the SIMD matmul runs (kernels/wasm-matmul.ts): same numbers either way.
    save([x, w]);
    return {
      value: hasDenseKernel()
        ? runFused(DENSE_KERNEL, { x, w, b })[0]
        : tf.add(tf.matMul(x as Tensor2D, asMatrix(w, x)), b),
      gradFunc: (dy, [x, w]) => runFused(KERNELS.denseGrad, { dy, x, w }),
    };
  }
  const matrix = asMatrix(w, x);
  save([x, matrix]);
  // On the software WebGPU adapter (kernels/webgpu-fused.ts) the bias is added inside the product's
  // program (the same sum, one dispatch fewer) and its gradient is one column-sum dispatch.
  const webgpu = hasWebgpuFused('columnSum');
  return {
    value: webgpu
      ? tf.fused.matMul({ a: x as Tensor2D, b: matrix, bias: b })
      : tf.add(tf.matMul(x as Tensor2D, matrix), b),
    gradFunc: (dy, [x, matrix]) => [
      tf.matMul(dy as Tensor2D, tf.transpose(matrix as Tensor2D)),
      tf.reshape(transposedTimes(x as Tensor2D, dy as Tensor2D), [-1]),
      webgpu ? columnSum(dy) : tf.sum(dy, 0),
    ],
  };
});

/** Σ over the rows of x [n, d] as one kernel (webgpu-fused.ts): tf.sum(x, 0) in the same order. */
function columnSum(x: Tensor): Tensor {
  return (tf.engine().runKernel(COLUMN_SUM_KERNEL, { x }) as unknown as Tensor[])[0];
}

/**
 * aᵀ·b for a weight gradient. On webgpu through matMul's transposeA: the barrier-free product reads A
 * transposed in place, with the same products summed in the same order as after an explicit transpose,
 * and a [rows, in] transpose dispatch fewer. Elsewhere with the transpose (see the top of this file).
 */
function transposedTimes(a: Tensor2D, b: Tensor2D): Tensor2D {
  return tf.getBackend() === 'webgpu' ? tf.matMul(a, b, true, false) : tf.matMul(tf.transpose(a), b);
}

/** A flat weight as the [in, out] matrix that multiplies x [n, in]. */
function asMatrix(w: Tensor, x: Tensor): Tensor2D {
  const rows = x.shape[1] as number;
  return (w.rank === 2 ? w : tf.reshape(w, [rows, w.size / rows])) as Tensor2D;
}

/** LayerNorm over the last axis of x [n, d]: (x − mean)/√(var + 1e-5) · γ + β. */
export const layerNorm = fused((save, x: Tensor, gamma: Tensor, beta: Tensor) => {
  if (hasFusedKernel('layerNorm') || hasWebgpuFused('layerNorm')) {
    const [y, xhat, rstd] = runFused(KERNELS.layerNorm, { x, gamma, beta });
    save([xhat, rstd, gamma]);
    return {
      value: y,
      gradFunc: (dy, [xhat, rstd, gamma]) => runFused(KERNELS.layerNormGrad, { dy, xhat, rstd, gamma }),
    };
  }
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), 1e-5));
  const normalized = tf.mul(centered, rstd);
  save([normalized, rstd, gamma]);
  return {
    value: tf.add(tf.mul(normalized, gamma), beta),
    gradFunc: (dy, [normalized, rstd, gamma]) => {
      // dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · γ
      const g = tf.mul(dy, gamma);
      const projection = tf.mul(normalized, tf.mean(tf.mul(g, normalized), -1, true));
      const dx = tf.mul(rstd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), projection));
      return [dx, tf.sum(tf.mul(dy, normalized), 0), tf.sum(dy, 0)];
    },
  };
});

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), written as x·σ(2u) —
 * the same function (tanh(u) = 2σ(2u) − 1), and sigmoid is several times faster than tanh on wasm.
 */
export const gelu = fused((save, x: Tensor) => {
  if (hasFusedKernel('gelu') || hasWebgpuFused('gelu')) {
    save([x]);
    return {
      value: runFused(KERNELS.gelu, { x })[0],
      gradFunc: (dy, [x]) => runFused(KERNELS.geluGrad, { dy, x }),
    };
  }
  const x2 = tf.square(x);
  const s = tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, 2 * GELU_C * GELU_A), 2 * GELU_C)));
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy, [x, x2, s]) => {
      // d/dx x·σ(z) = σ + x·σ(1 − σ)·z', z' = 2√(2/π)(1 + 3·0.044715x²)
      const dz = tf.add(tf.mul(x2, 6 * GELU_C * GELU_A), 2 * GELU_C);
      const slope = tf.add(s, tf.mul(tf.mul(x, tf.mul(s, tf.sub(1, s))), dz));
      return [tf.mul(dy, slope)];
    },
  };
});

/** Additive causal mask [T, T]: 0 where a position may attend, a large finite negative where not. */
function causalMask(time: number): Tensor2D {
  const data = new Float32Array(time * time);
  for (let i = 0; i < time; i++) for (let j = i + 1; j < time; j++) data[i * time + j] = -1e9;
  return tf.tensor2d(data, [time, time]);
}

export interface AttentionShape {
  batch: number;
  time: number;
  heads: number;
}

/**
 * Causal multi-head self-attention from fused projections qkv [B·T, 3d] (queries, keys, values, each
 * head-major) to the heads' outputs merged back to [B·T, d]. Heads and batch share one batch axis,
 * ordered (head, batch), so splitting q, k and v is a slice of contiguous memory and every transpose
 * is 4-D (the wasm backend's 5-D transpose is ~50× slower).
 */
export function causalSelfAttention(qkv: Tensor, { batch, time, heads }: AttentionShape): Tensor {
  const d = (qkv.shape[1] as number) / 3;
  if (hasFusedKernel('attention') && attentionFits(d, heads)) return fusedAttention(qkv, { batch, time, heads });
  if (hasWebgpuFused('attention') && time <= MAX_WEBGPU_ATTENTION_TIME)
    return fusedAttention(qkv, { batch, time, heads });
  const headDim = d / heads;
  const scale = 1 / Math.sqrt(headDim);
  const group = heads * batch;
  // [B·T, 3d] -> [B, T, 3H, hd] -> [3H, B, T, hd] -> three of [H·B, T, hd]
  const splitHeads = (x: Tensor) => {
    const stacked = tf.reshape(tf.transpose(tf.reshape(x, [batch, time, 3 * heads, headDim]), [2, 0, 1, 3]), [
      3 * group,
      time,
      headDim,
    ]);
    return tf.split(stacked, 3, 0);
  };
  // [H·B, T, hd] -> [H, B, T, hd] -> [B, T, H, hd] -> [B·T, d]
  const mergeHeads = (x: Tensor, width: number) =>
    tf.reshape(tf.transpose(tf.reshape(x, [width, batch, time, headDim]), [1, 2, 0, 3]), [
      batch * time,
      width * headDim,
    ]);

  const op = fused((save, qkv: Tensor) => {
    const [q, k, v] = splitHeads(qkv);
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), causalMask(time));
    const probabilities = tf.softmax(scores, -1);
    save([q, k, v, probabilities]);
    return {
      value: mergeHeads(tf.matMul(probabilities, v), heads),
      gradFunc: (dy, [q, k, v, p]) => {
        const dOut = tf.reshape(tf.transpose(tf.reshape(dy, [batch, time, heads, headDim]), [2, 0, 1, 3]), [
          group,
          time,
          headDim,
        ]);
        const dv = tf.matMul(p, dOut, true, false);
        const dp = tf.matMul(dOut, v, false, true);
        // softmax backward, with the score scale folded in
        const ds = tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), scale);
        const dq = tf.matMul(ds, k);
        const dk = tf.matMul(ds, q, true, false);
        return [mergeHeads(tf.concat([dq, dk, dv], 0), 3 * heads)];
      },
    };
  });
  return op(qkv);
}

/** The same attention as one SIMD kernel each way (kernels/wasm-fused.ts), on the wasm backend. */
function fusedAttention(qkv: Tensor, shape: AttentionShape): Tensor {
  const attrs = { ...shape };
  const op = fused((save, qkv: Tensor) => {
    const [out, probabilities] = runFused(KERNELS.attention, { qkv }, attrs);
    save([qkv, probabilities]);
    return {
      value: out,
      gradFunc: (dy, [qkv, p]) => runFused(KERNELS.attentionGrad, { dy, qkv, p }, attrs),
    };
  });
  return op(qkv);
}

// LayerNorm and GELU (each way), a column sum, the causal attention, the log-softmax and the chosen
// token's log-probability (each way) and Adam's update as a few WebGPU programs each, for the software
// adapter (SwiftShader) the barrier-free programs are for (webgpu-barrier-free.ts). There every dispatch
// of a [1280, 32] or [1280, 128] elementwise op costs ~1–2 ms, and layers.ts's composites launch ~9
// (LayerNorm forward), ~14 (its gradient), 6 and 7 (GELU) of them; a bias gradient's tf.sum(dy, 0) is a
// transpose and a row reduction. Each program here does the same float32 operations in the same order
// as the composite it replaces (sums run over the same index in the same direction as the barrier-free
// row reduction), so results stay within float32 rounding of it (selftest.html compares with cpu).
// Registered under wasm-fused.ts's kernel names for the webgpu backend, with the same inputs and
// outputs, so layers.ts and optimizer.ts run them the same way (the log-softmax under its own names,
// log-probs.ts); installed by browser-backend.ts together with the
// barrier-free programs (not on a real GPU, where nothing here was measured).
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { getMainHeaderString as main, type WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_program';
import { flatDispatchLayout } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_util';
import { tf } from '../tf';
import { KERNELS, type AdamAttrs, type AttentionAttrs } from './wasm-fused';
import {
  COLUMN_SUM_KERNEL,
  LOG_SOFTMAX_GRAD_KERNEL,
  LOG_SOFTMAX_KERNEL,
  MAX_WEBGPU_ATTENTION_TIME,
  markWebgpuFusedInstalled,
  PICK_GRAD_KERNEL,
  PICK_KERNEL,
} from './webgpu-fused-ops';

/** A registered kernel's function, called directly (its outputs are the caller's to dispose). */
type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: Runner; attrs: object }) => TensorInfo;

/** The part of tfjs's WebGPUBackend the kernels use. */
interface Runner {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: TensorInfo[],
    outputDtype: TensorInfo['dtype'],
    uniformData?: { type: string; data: number[] }[],
  ): TensorInfo;
  disposeData(dataId: object): void;
}

const WORKGROUP_SIZE = 64;

/** An f32 literal that WGSL reads back as exactly the float32 tfjs would make of `x`. */
const f32 = (x: number) => {
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
};

/** One thread per element or per row; `body` computes `index`'s output(s). */
class Program implements WebGPUProgram {
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  uniforms?: string;

  constructor(
    readonly variableNames: string[],
    readonly outputShape: number[],
    readonly shaderKey: string,
    threads: number,
    private readonly body: string,
    uniforms?: string,
  ) {
    this.dispatchLayout = flatDispatchLayout(outputShape);
    this.dispatch = [Math.ceil(threads / WORKGROUP_SIZE), 1, 1];
    if (uniforms) this.uniforms = uniforms;
  }

  getUserCode(): string {
    return `
      ${main('index')} {
        if (index < uniforms.threads) {
          ${this.body}
        }
      }`;
  }
}

/** Programs whose thread count differs from the output size pass it as a uniform. */
const threads = (n: number) => [{ type: 'int32', data: [n] }];
const THREADS = 'threads : i32,';

// The composite's constants (layers.ts), as the float32 scalars tfjs makes of them.
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
const EPS = 1e-5;

/** The row statistics LayerNorm's composite computes: mean, centred values, 1/√(var + ε). */
const rowStats = `
  let d = uniforms.xShape[1];
  let base = index * d;
  var sum = 0.0;
  for (var k = 0; k < d; k++) { sum = sum + f32(x[base + k]); }
  let mean = sum / f32(d);
  var squares = 0.0;
  for (var k = 0; k < d; k++) { let c = f32(x[base + k]) - mean; squares = squares + c * c; }
  let rstd = inverseSqrt(squares / f32(d) + ${f32(EPS)});`;

function layerNorm(be: Runner, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo): TensorInfo[] {
  const [n, d] = x.shape;
  const rstd = be.runWebGPUProgram(
    new Program(['x'], [n], 'trlLayerNormRstd', n, `${rowStats} setOutputAtIndex(index, rstd);`, THREADS),
    [x],
    'float32',
    threads(n),
  );
  const xhat = be.runWebGPUProgram(
    new Program(
      ['x'],
      [n, d],
      'trlLayerNormXhat',
      n,
      `${rowStats}
       for (var k = 0; k < d; k++) { setOutputAtIndex(base + k, (f32(x[base + k]) - mean) * rstd); }`,
      THREADS,
    ),
    [x],
    'float32',
    threads(n),
  );
  const y = be.runWebGPUProgram(
    new Program(
      ['xhat', 'gamma', 'beta'],
      [n, d],
      'trlLayerNormY',
      n * d,
      `let k = index % uniforms.xhatShape[1];
       let scaled = f32(xhat[index]) * f32(gamma[k]);
       setOutputAtIndex(index, scaled + f32(beta[k]));`,
      THREADS,
    ),
    [xhat, gamma, beta],
    'float32',
    threads(n * d),
  );
  return [y, xhat, rstd];
}

/** dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · γ, one thread per row. */
function layerNormGrad(be: Runner, [dy, xhat, rstd, gamma]: TensorInfo[]): TensorInfo[] {
  const [n, d] = dy.shape;
  const dx = be.runWebGPUProgram(
    new Program(
      ['dy', 'xhat', 'rstd', 'gamma'],
      [n, d],
      'trlLayerNormGradDx',
      n,
      `let d = uniforms.dyShape[1];
       let base = index * d;
       var gSum = 0.0;
       var gxSum = 0.0;
       for (var k = 0; k < d; k++) {
         let g = f32(dy[base + k]) * f32(gamma[k]);
         gSum = gSum + g;
         gxSum = gxSum + g * f32(xhat[base + k]);
       }
       let gMean = gSum / f32(d);
       let gxMean = gxSum / f32(d);
       let r = f32(rstd[index]);
       for (var k = 0; k < d; k++) {
         let g = f32(dy[base + k]) * f32(gamma[k]);
         let projection = f32(xhat[base + k]) * gxMean;
         setOutputAtIndex(base + k, r * ((g - gMean) - projection));
       }`,
      THREADS,
    ),
    [dy, xhat, rstd, gamma],
    'float32',
    threads(n),
  );
  return [dx, columnSum(be, dy, xhat), columnSum(be, dy)];
}

/** Σ over rows of x [n, d] (of x · y when y is given): one thread per column, rows in order. */
function columnSum(be: Runner, x: TensorInfo, y?: TensorInfo): TensorInfo {
  const d = x.shape[1];
  const term = y ? 'f32(x[r * d + index]) * f32(y[r * d + index])' : 'f32(x[r * d + index])';
  return be.runWebGPUProgram(
    new Program(
      y ? ['x', 'y'] : ['x'],
      [d],
      y ? 'trlColumnSumProduct' : 'trlColumnSum',
      d,
      `let d = uniforms.xShape[1];
       var sum = 0.0;
       for (var r = 0; r < uniforms.xShape[0]; r++) { sum = sum + ${term}; }
       setOutputAtIndex(index, sum);`,
      THREADS,
    ),
    y ? [x, y] : [x],
    'float32',
    threads(d),
  );
}

// GELU as x·σ(z), z = x·(x²·2c·a + 2c), and its slope σ + x·(σ(1 − σ))·(x²·6c·a + 2c); σ as tfjs's
// sigmoid program writes it.
const geluParts = `
  let v = f32(x[index]);
  let x2 = v * v;
  let z = v * (x2 * ${f32(2 * GELU_C * GELU_A)} + ${f32(2 * GELU_C)});
  let s = 1.0 / (1.0 + exp(-1.0 * z));`;

function gelu(be: Runner, x: TensorInfo): TensorInfo[] {
  const size = tf.util.sizeFromShape(x.shape);
  const program = new Program(['x'], x.shape, 'trlGelu', size, `${geluParts} setOutputAtIndex(index, v * s);`, THREADS);
  return [be.runWebGPUProgram(program, [x], 'float32', threads(size))];
}

function geluGrad(be: Runner, dy: TensorInfo, x: TensorInfo): TensorInfo[] {
  const size = tf.util.sizeFromShape(x.shape);
  const program = new Program(
    ['dy', 'x'],
    x.shape,
    'trlGeluGrad',
    size,
    `${geluParts}
     let dz = x2 * ${f32(6 * GELU_C * GELU_A)} + ${f32(2 * GELU_C)};
     let slope = s + (v * (s * (1.0 - s))) * dz;
     setOutputAtIndex(index, f32(dy[index]) * slope);`,
    THREADS,
  );
  return [be.runWebGPUProgram(program, [dy, x], 'float32', threads(size))];
}

/**
 * Index arithmetic shared by the attention programs: thread `index` is query row i of group g =
 * head·batch + b (layers.ts orders heads and batch that way); q, k and v of row t are the columns
 * h·hd, d + h·hd and 2d + h·hd of qkv's row b·T + t.
 */
const attentionIndices = `
  let T = uniforms.time;
  let B = uniforms.batch;
  let hd = uniforms.headDim;
  let d = uniforms.width;
  let g = index / T;
  let i = index - g * T;
  let h = g / B;
  let b = g - h * B;
  let rowBase = b * T;
  let col = h * hd;`;
const ATTENTION_UNIFORMS = 'threads : i32, time : i32, batch : i32, headDim : i32, width : i32,';
const attentionUniforms = (n: number, { batch, time, heads }: AttentionAttrs, d: number) => [
  { type: 'int32', data: [n] },
  { type: 'int32', data: [time] },
  { type: 'int32', data: [batch] },
  { type: 'int32', data: [d / heads] },
  { type: 'int32', data: [d] },
];

/**
 * The composite's causal attention (layers.ts): p = softmax(q·kᵀ·scale + mask) per query row [H·B, T, T],
 * then out = p·v merged back to [B·T, d]. Products sum in the order of the barrier-free matmul, the
 * softmax is RowSoftmaxProgram's.
 */
function attention(be: Runner, qkv: TensorInfo, attrs: AttentionAttrs): TensorInfo[] {
  const { batch, time, heads } = attrs;
  const d = qkv.shape[1] / 3;
  const n = heads * batch * time;
  const scale = f32(1 / Math.sqrt(d / heads));
  const p = be.runWebGPUProgram(
    new Program(
      ['qkv'],
      [heads * batch, time, time],
      'trlAttentionP',
      n,
      `${attentionIndices}
       let qAt = (rowBase + i) * 3 * d + col;
       var s : array<f32, ${MAX_WEBGPU_ATTENTION_TIME}>;
       var rowMax = -3.402823e+38f;
       for (var j = 0; j < T; j++) {
         let kAt = (rowBase + j) * 3 * d + d + col;
         var acc = 0.0;
         for (var c = 0; c < hd; c++) { acc = acc + f32(qkv[qAt + c]) * f32(qkv[kAt + c]); }
         var mask = 0.0;
         if (j > i) { mask = -1000000000.0; }
         s[j] = acc * ${scale} + mask;
         rowMax = max(rowMax, s[j]);
       }
       var rowSum = 0.0;
       for (var j = 0; j < T; j++) { rowSum = rowSum + exp(s[j] - rowMax); }
       for (var j = 0; j < T; j++) { setOutputAtIndex(index * T + j, exp(s[j] - rowMax) / rowSum); }`,
      ATTENTION_UNIFORMS,
    ),
    [qkv],
    'float32',
    attentionUniforms(n, attrs, d),
  );
  const out = be.runWebGPUProgram(
    new Program(
      ['qkv', 'p'],
      [batch * time, d],
      'trlAttentionOut',
      n,
      `${attentionIndices}
       for (var c = 0; c < hd; c++) {
         var acc = 0.0;
         for (var j = 0; j < T; j++) {
           acc = acc + f32(p[index * T + j]) * f32(qkv[(rowBase + j) * 3 * d + 2 * d + col + c]);
         }
         setOutputAtIndex((rowBase + i) * d + col + c, acc);
       }`,
      ATTENTION_UNIFORMS,
    ),
    [qkv, p],
    'float32',
    attentionUniforms(n, attrs, d),
  );
  return [out, p];
}

/**
 * dqkv [B·T, 3d] from dy [B·T, d]: first ds = p·(dp − Σⱼ dp·p)·scale per query row, dp = dOut·vᵀ; then
 * per row r of each group dq = ds·k, dk = dsᵀ·q and dv = pᵀ·dOut, each summed in the composite's order.
 */
function attentionGrad(be: Runner, [dy, qkv, p]: TensorInfo[], attrs: AttentionAttrs): TensorInfo[] {
  const { batch, time, heads } = attrs;
  const d = qkv.shape[1] / 3;
  const n = heads * batch * time;
  const scale = f32(1 / Math.sqrt(d / heads));
  const ds = be.runWebGPUProgram(
    new Program(
      ['dy', 'qkv', 'p'],
      [heads * batch, time, time],
      'trlAttentionDs',
      n,
      `${attentionIndices}
       let dAt = (rowBase + i) * d + col;
       var dp : array<f32, ${MAX_WEBGPU_ATTENTION_TIME}>;
       var dotSum = 0.0;
       for (var j = 0; j < T; j++) {
         let vAt = (rowBase + j) * 3 * d + 2 * d + col;
         var acc = 0.0;
         for (var c = 0; c < hd; c++) { acc = acc + f32(dy[dAt + c]) * f32(qkv[vAt + c]); }
         dp[j] = acc;
         dotSum = dotSum + acc * f32(p[index * T + j]);
       }
       for (var j = 0; j < T; j++) {
         let pj = f32(p[index * T + j]);
         setOutputAtIndex(index * T + j, (pj * (dp[j] - dotSum)) * ${scale});
       }`,
      ATTENTION_UNIFORMS,
    ),
    [dy, qkv, p],
    'float32',
    attentionUniforms(n, attrs, d),
  );
  const dqkv = be.runWebGPUProgram(
    new Program(
      ['dy', 'qkv', 'p', 'ds'],
      [batch * time, 3 * d],
      'trlAttentionDqkv',
      n,
      `${attentionIndices}
       let r = i;
       let gBase = g * T * T;
       let outAt = (rowBase + r) * 3 * d + col;
       for (var c = 0; c < hd; c++) {
         var dq = 0.0;
         var dk = 0.0;
         var dv = 0.0;
         for (var j = 0; j < T; j++) {
           dq = dq + f32(ds[gBase + r * T + j]) * f32(qkv[(rowBase + j) * 3 * d + d + col + c]);
           dk = dk + f32(ds[gBase + j * T + r]) * f32(qkv[(rowBase + j) * 3 * d + col + c]);
           dv = dv + f32(p[gBase + j * T + r]) * f32(dy[(rowBase + j) * d + col + c]);
         }
         setOutputAtIndex(outAt + c, dq);
         setOutputAtIndex(outAt + d + c, dk);
         setOutputAtIndex(outAt + 2 * d + c, dv);
       }`,
      ATTENTION_UNIFORMS,
    ),
    [dy, qkv, p, ds],
    'float32',
    attentionUniforms(n, attrs, d),
  );
  be.disposeData(ds.dataId);
  return [dqkv];
}

/**
 * A program over `rows` rows of `width` floats, one thread per row (or per element: `rows` is then the
 * element count); `body` sees uniforms.width.
 */
function runRowProgram(
  be: Runner,
  inputs: [string, TensorInfo][],
  outputShape: number[],
  key: string,
  rows: number,
  width: number,
  body: string,
): TensorInfo {
  const program = new Program(
    inputs.map(([name]) => name),
    outputShape,
    key,
    rows,
    body,
    'threads : i32, width : i32,',
  );
  return be.runWebGPUProgram(
    program,
    inputs.map(([, t]) => t),
    'float32',
    [...threads(rows), { type: 'int32', data: [width] }],
  );
}

/**
 * tf.logSoftmax over the last axis of x [..., V], one thread per row: tfjs's composite is max (the
 * barrier-free row reduction, with its NaN rule), x − max, exp, Σ in order, log (NaN below 0), and
 * (x − max) − log Σ.
 */
function logSoftmax(be: Runner, x: TensorInfo): TensorInfo[] {
  const size = tf.util.sizeFromShape(x.shape);
  const width = x.shape[x.shape.length - 1];
  const rows = size / width;
  return [
    runRowProgram(
      be,
      [['x', x]],
      x.shape,
      'trlLogSoftmax',
      rows,
      width,
      `let V = uniforms.width;
     let base = index * V;
     var rowMax = f32(x[base]);
     for (var k = 0; k < V; k++) {
       let c = f32(x[base + k]);
       if (isnan(c)) { rowMax = uniforms.NAN; } else if (!isnan(rowMax) && c > rowMax) { rowMax = c; }
     }
     var sum = 0.0;
     for (var k = 0; k < V; k++) { sum = sum + exp(f32(x[base + k]) - rowMax); }
     var logSum = log(sum);
     if (sum < 0.0) { logSum = uniforms.NAN; }
     for (var k = 0; k < V; k++) { setOutputAtIndex(base + k, (f32(x[base + k]) - rowMax) - logSum); }`,
    ),
  ];
}

/** tfjs's logSoftmax gradient: dy − Σᵥ dy · exp(value), the sum in order, one thread per row. */
function logSoftmaxGrad(be: Runner, dy: TensorInfo, value: TensorInfo): TensorInfo[] {
  const size = tf.util.sizeFromShape(value.shape);
  const width = value.shape[value.shape.length - 1];
  const rows = size / width;
  return [
    runRowProgram(
      be,
      [
        ['dy', dy],
        ['value', value],
      ],
      value.shape,
      'trlLogSoftmaxGrad',
      rows,
      width,
      `let V = uniforms.width;
     let base = index * V;
     var sum = 0.0;
     for (var k = 0; k < V; k++) { sum = sum + f32(dy[base + k]); }
     for (var k = 0; k < V; k++) {
       setOutputAtIndex(base + k, f32(dy[base + k]) - sum * exp(f32(value[base + k])));
     }`,
    ),
  ];
}

/**
 * Σᵥ logSoftmax · oneHot(next) [..., V] → [...]: the composite's multiply by the one-hot (cast to
 * float32) and its row sum in order, one thread per row.
 */
function pickLogProb(be: Runner, logSoftmax: TensorInfo, next: TensorInfo): TensorInfo[] {
  const width = logSoftmax.shape[logSoftmax.shape.length - 1];
  const rows = tf.util.sizeFromShape(next.shape);
  return [
    runRowProgram(
      be,
      [
        ['logSoftmax', logSoftmax],
        ['next', next],
      ],
      next.shape,
      'trlPickLogProb',
      rows,
      width,
      `let V = uniforms.width;
     let base = index * V;
     let chosen = i32(next[index]);
     var sum = 0.0;
     for (var k = 0; k < V; k++) { sum = sum + f32(logSoftmax[base + k]) * select(0.0, 1.0, k == chosen); }
     setOutputAtIndex(index, sum);`,
    ),
  ];
}

/** Its gradient as tfjs's Sum and Multiply gradients compute it: (dy · 1) · oneHot(next). */
function pickLogProbGrad(be: Runner, dy: TensorInfo, next: TensorInfo, width: number): TensorInfo[] {
  const size = tf.util.sizeFromShape(next.shape) * width;
  return [
    runRowProgram(
      be,
      [
        ['dy', dy],
        ['next', next],
      ],
      [...next.shape, width],
      'trlPickLogProbGrad',
      size,
      width,
      `let row = index / uniforms.width;
     let k = index - row * uniforms.width;
     setOutputAtIndex(index, (f32(dy[row]) * 1.0) * select(0.0, 1.0, k == i32(next[row])));`,
    ),
  ];
}

/**
 * The clipped gradient at `index` as optimizer.ts's composite computes it: g · min(1, c / (‖g‖ + 1e-6))
 * when clipping (tfjs's minimum gives NaN for a NaN input), g otherwise.
 */
const clippedGradient = `
  var g = f32(grad[index]);
  if (uniforms.clip != 0) {
    let q = uniforms.maxGradNorm / (f32(norm[0]) + ${f32(1e-6)});
    var factor = min(1.0, q);
    if (isnan(q)) { factor = uniforms.NAN; }
    g = g * factor;
  }`;
const ADAM_MOMENT_UNIFORMS = 'threads : i32, beta : f32, oneMinusBeta : f32, maxGradNorm : f32, clip : i32,';

/**
 * optimizer.ts's Adam step: the norm by the composite's own Square, Sum and Sqrt kernels (tfjs's
 * reduction, same order), then m' = m·β₁ + g·(1 − β₁), v' = v·β₂ + g²·(1 − β₂) and
 * p' = p − stepSize · (m' / (√v' + ε)) as three programs in place of ~16 elementwise dispatches.
 */
function adam(be: Runner, [grad, params, m, v]: TensorInfo[], a: AdamAttrs): TensorInfo[] {
  const kernel = (name: string) => tf.getKernel(name, 'webgpu')!.kernelFunc as unknown as KernelFunc;
  const squares = kernel('Square')({ inputs: { x: grad }, backend: be, attrs: {} });
  const sum = kernel('Sum')({ inputs: { x: squares }, backend: be, attrs: { axis: [0], keepDims: false } });
  const norm = kernel('Sqrt')({ inputs: { x: sum }, backend: be, attrs: {} });
  be.disposeData(squares.dataId);
  be.disposeData(sum.dataId);
  const n = params.shape[0];
  const moment = (name: string, state: TensorInfo, beta: number, term: string) =>
    be.runWebGPUProgram(
      new Program(
        ['grad', 'state', 'norm'],
        [n],
        name,
        n,
        `${clippedGradient}
         setOutputAtIndex(index, f32(state[index]) * uniforms.beta + ${term} * uniforms.oneMinusBeta);`,
        ADAM_MOMENT_UNIFORMS,
      ),
      [grad, state, norm],
      'float32',
      [
        { type: 'int32', data: [n] },
        { type: 'float32', data: [beta] },
        { type: 'float32', data: [1 - beta] },
        { type: 'float32', data: [a.maxGradNorm] },
        { type: 'int32', data: [a.maxGradNorm > 0 ? 1 : 0] },
      ],
    );
  const m2 = moment('trlAdamM', m, a.beta1, 'g');
  const v2 = moment('trlAdamV', v, a.beta2, '(g * g)');
  const p2 = be.runWebGPUProgram(
    new Program(
      ['params', 'm', 'v'],
      [n],
      'trlAdamParams',
      n,
      `let step = f32(m[index]) / (sqrt(f32(v[index])) + uniforms.epsilon);
       setOutputAtIndex(index, f32(params[index]) - uniforms.stepSize * step);`,
      'threads : i32, epsilon : f32, stepSize : f32,',
    ),
    [params, m2, v2],
    'float32',
    [
      { type: 'int32', data: [n] },
      { type: 'float32', data: [a.epsilon] },
      { type: 'float32', data: [a.stepSize] },
    ],
  );
  return [p2, m2, v2, norm];
}

/** How many times each kernel here ran, by kernel name (selftest.html shows that they did). */
export const webgpuFusedRuns: Record<string, number> = {};

let installed = false;

/** Registers the kernels for the webgpu backend (once); layers.ts uses them from then on. */
export function installWebgpuFusedKernels(): void {
  if (installed) return;
  installed = true;
  markWebgpuFusedInstalled();
  type Inputs = Record<string, TensorInfo>;
  const register = (
    kernelName: string,
    run: (inputs: Inputs, backend: Runner, attrs: Record<string, unknown>) => TensorInfo[],
  ) =>
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        webgpuFusedRuns[kernelName] = (webgpuFusedRuns[kernelName] ?? 0) + 1;
        return run(inputs as unknown as Inputs, backend as unknown as Runner, attrs ?? {}) as tf.TensorInfo[];
      },
    });
  const registerWithAttrs = (
    kernelName: string,
    run: (inputs: Inputs, attrs: AttentionAttrs, backend: Runner) => TensorInfo[],
  ) =>
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, attrs, backend }) => {
        webgpuFusedRuns[kernelName] = (webgpuFusedRuns[kernelName] ?? 0) + 1;
        return run(
          inputs as unknown as Inputs,
          attrs as unknown as AttentionAttrs,
          backend as unknown as Runner,
        ) as tf.TensorInfo[];
      },
    });
  register(KERNELS.layerNorm, ({ x, gamma, beta }, be) => layerNorm(be, x, gamma, beta));
  register(KERNELS.layerNormGrad, ({ dy, xhat, rstd, gamma }, be) => layerNormGrad(be, [dy, xhat, rstd, gamma]));
  register(KERNELS.gelu, ({ x }, be) => gelu(be, x));
  register(KERNELS.geluGrad, ({ dy, x }, be) => geluGrad(be, dy, x));
  register(COLUMN_SUM_KERNEL, ({ x }, be) => [columnSum(be, x)]);
  register(KERNELS.adam, ({ grad, params, m, v }, be, attrs) =>
    adam(be, [grad, params, m, v], attrs as unknown as AdamAttrs),
  );
  register(LOG_SOFTMAX_KERNEL, ({ logits }, be) => logSoftmax(be, logits));
  register(LOG_SOFTMAX_GRAD_KERNEL, ({ dy, value }, be) => logSoftmaxGrad(be, dy, value));
  register(PICK_KERNEL, ({ logSoftmax, next }, be) => pickLogProb(be, logSoftmax, next));
  register(PICK_GRAD_KERNEL, ({ dy, next }, be, attrs) => pickLogProbGrad(be, dy, next, attrs.width as number));
  registerWithAttrs(KERNELS.attention, ({ qkv }, attrs, be) => attention(be, qkv, attrs));
  registerWithAttrs(KERNELS.attentionGrad, ({ dy, qkv, p }, attrs, be) => attentionGrad(be, [dy, qkv, p], attrs));
}

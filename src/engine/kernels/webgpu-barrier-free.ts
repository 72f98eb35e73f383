// Barrier-free WebGPU programs for a software (fallback) adapter such as SwiftShader, Chromium's CPU
// WebGPU. There a `workgroupBarrier` costs 40–100× more per invocation than barrier-free code, and the
// tfjs-webgpu programs that use shared memory and barriers (Reduce, TransposeShared, Softmax, the
// matmuls, the 'shared' broadcast BinaryOp) took ~95% of a training step: an SFT step of the default
// preset took ~3.3 s, and opening the app to the first PPO update ~230 s. These replacements (one
// thread per row for reduce and softmax, one per element for transpose, a 4×4 register-blocked vec4
// matmul, the non-shared BinaryOp) brought the step to ~0.2 s and the first update to ~17 s, with the
// same losses to ~1e-7 (measurements: bench/README.md, "Barrier-free WebGPU kernels on SwiftShader").
// On a real GPU the shared-memory programs are presumably the right ones; they could not be measured
// here (no GPU), so browser-backend.ts installs this only on a fallback adapter unless told otherwise.
//
// How: a wrapper around the backend's `runWebGPUProgram` swaps a program for a barrier-free one with
// the same inputs, uniforms and output. Registering kernels (tf.registerKernel) would not reach the
// programs tfjs builds inside its own kernels (the transpose in a column sum, the broadcast add in a
// gradient) and would mean re-implementing its kernel logic. This relies on tfjs-backend-webgpu 4.22.0
// internals, which is why package.json pins that exact version:
//  - `WebGPUBackend.runWebGPUProgram(program, inputs, dtype, uniformData, output)`, and that it builds
//    the shader from `program.getUserCode()` plus uniforms named by `program.uniforms` (filled from
//    `uniformData` in order) and `size` when `program.size` is set;
//  - the program classes (matched with instanceof, since a minified build renames classes) and their
//    fields: ReduceProgram.reduceType, the matmuls' transposeA/transposeB/addBias/activation/
//    hasPreluActivationWeights and uniforms `dimAOuter, dimBOuter, dimInner` (+ `alpha` for leakyrelu),
//    BinaryOpProgram's private `type` ('shared') and `op`;
//  - the WGSL helpers tfjs generates: getMainHeaderString's `main(index)`, getCoordsFromIndex,
//    setOutputAtIndex/setOutputAtCoords, get<Name>(…) accessors, isnan, uniforms.outShape/aShape/bShape.
// Anything not handled (other reduce types, int32/bool data, rows of 4,096 or more, a program of
// another class) runs tfjs's own program unchanged.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { activationFnSnippet, biasActivationSnippet } from '@tensorflow/tfjs-backend-webgpu/dist/activation_util';
import { BinaryOpProgram } from '@tensorflow/tfjs-backend-webgpu/dist/binary_op_webgpu';
import {
  MatMulPackedProgram,
  matMulReadWriteFnSource,
} from '@tensorflow/tfjs-backend-webgpu/dist/matmul_packed_webgpu';
import { MatMulReduceProgram } from '@tensorflow/tfjs-backend-webgpu/dist/matmul_reduce_webgpu';
import { MatMulSmallOutputSizeProgram } from '@tensorflow/tfjs-backend-webgpu/dist/matmul_small_output_size_webgpu';
import { ReduceProgram } from '@tensorflow/tfjs-backend-webgpu/dist/reduce_webgpu';
import { SoftmaxProgram } from '@tensorflow/tfjs-backend-webgpu/dist/softmax_webgpu';
import { TransposeSharedProgram } from '@tensorflow/tfjs-backend-webgpu/dist/transpose_shared_webgpu';
import { TransposeProgram } from '@tensorflow/tfjs-backend-webgpu/dist/transpose_webgpu';
import { getMainHeaderString as main, type WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_program';
import { flatDispatchLayout } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_util';

/** The replacements, by what they replace; the counters say which ran. */
export type BarrierFreeKind = 'reduce' | 'transpose' | 'softmax' | 'matmul-4x4' | 'matmul-naive' | 'binary';
export const BARRIER_FREE_KINDS: readonly BarrierFreeKind[] = [
  'reduce',
  'transpose',
  'softmax',
  'matmul-4x4',
  'matmul-naive',
  'binary',
];

/** Dispatches of each replacement since the module loaded (for tests and the self-test page). */
export const barrierFreeDispatches: Record<BarrierFreeKind, number> = {
  reduce: 0,
  transpose: 0,
  softmax: 0,
  'matmul-4x4': 0,
  'matmul-naive': 0,
  binary: 0,
};

/** The part of tfjs's WebGPUBackend this module uses. */
export interface WebGPUProgramRunner {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: TensorInfo[],
    outputDtype: TensorInfo['dtype'],
    uniformData?: unknown,
    output?: TensorInfo,
  ): TensorInfo;
}

/** The matmul programs' fields a replacement keeps (all three classes have them). */
interface MatMulFields {
  outputShape: number[];
  uniforms: string;
  variableNames: string[];
  transposeA: boolean;
  transposeB: boolean;
  addBias: boolean;
  activation: MatMulPackedProgram['activation'];
  hasPreluActivationWeights: boolean;
}

/** BinaryOpProgram's private field that says it is the shared-memory variant. */
interface BinaryOpVariant {
  type?: string;
}

const WORKGROUP_SIZE = 64;
/** Longer rows stay with tfjs: one thread would loop over them alone (not measured). */
const MAX_ROW = 4096;

const dispatchFor = (threads: number): [number, number, number] => [Math.ceil(threads / WORKGROUP_SIZE), 1, 1];

/** One thread per row: sum, mean, max or min of each row of x ([rows, reduceSize], output [rows]). */
class RowReduceProgram implements WebGPUProgram {
  variableNames = ['x'];
  uniforms = 'reduceSize : i32,';
  size = true;
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;

  constructor(
    outputShape: number[],
    private readonly reduceType: 'sum' | 'mean' | 'max' | 'min',
  ) {
    this.outputShape = outputShape;
    this.dispatchLayout = flatDispatchLayout(outputShape);
    this.dispatch = dispatchFor(outputShape[0]);
    this.shaderKey = `barrierFreeReduce_${reduceType}`;
  }

  getUserCode(): string {
    const extreme = this.reduceType === 'max' || this.reduceType === 'min';
    // The same NaN handling as tfjs's ReduceProgram: a NaN anywhere in the row gives NaN.
    const combine = extreme
      ? `if (isnan(candidate)) { best = uniforms.NAN; }
         else if (!isnan(best) && candidate ${this.reduceType === 'max' ? '>' : '<'} best) { best = candidate; }`
      : 'best = best + candidate;';
    return `
      ${main('index')} {
        if (index < uniforms.size) {
          let offset = index * uniforms.reduceSize;
          var best = ${extreme ? 'f32(x[offset])' : '0.0'};
          for (var k = 0; k < uniforms.reduceSize; k++) {
            let candidate = f32(x[offset + k]);
            ${combine}
          }
          setOutputAtIndex(index, best${this.reduceType === 'mean' ? ' / f32(uniforms.reduceSize)' : ''});
        }
      }`;
  }
}

/** One thread per output element of a 2-D transpose. */
class Transpose2dProgram implements WebGPUProgram {
  variableNames = ['A'];
  size = true;
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  shaderKey = 'barrierFreeTranspose2d';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];

  constructor(readonly outputShape: number[]) {
    this.dispatchLayout = flatDispatchLayout(outputShape);
    this.dispatch = dispatchFor(outputShape[0] * outputShape[1]);
  }

  getUserCode(): string {
    return `
      ${main('index')} {
        if (index < uniforms.size) {
          let row = index / uniforms.outShape[1];
          let col = index - row * uniforms.outShape[1];
          setOutputAtIndex(index, f32(A[col * uniforms.outShape[0] + row]));
        }
      }`;
  }
}

/** One thread per row of a [rows, cols] softmax (tfjs's kernel reshapes any rank to that). */
class RowSoftmaxProgram implements WebGPUProgram {
  variableNames = ['logits'];
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  shaderKey = 'barrierFreeSoftmax';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];

  constructor(readonly outputShape: number[]) {
    this.dispatchLayout = flatDispatchLayout(outputShape);
    this.dispatch = dispatchFor(outputShape[0]);
  }

  getUserCode(): string {
    return `
      ${main('index')} {
        let rows = uniforms.outShape[0];
        let cols = uniforms.outShape[1];
        if (index < rows) {
          var rowMax = -3.402823e+38f;
          for (var col = 0; col < cols; col++) { rowMax = max(rowMax, getLogits(index, col)); }
          var rowSum = 0.0;
          for (var col = 0; col < cols; col++) { rowSum = rowSum + exp(getLogits(index, col) - rowMax); }
          for (var col = 0; col < cols; col++) {
            setOutputAtCoords(index, col, exp(getLogits(index, col) - rowMax) / rowSum);
          }
        }
      }`;
  }
}

/**
 * A batched matmul [batch, M, N] (A [batchA, M, K] or [batchA, K, M] when transposed, B [batchB, K, N]
 * or [batchB, N, K]; batchA or batchB may be 1 and is then broadcast), with tfjs's fused bias,
 * activation and prelu weights. `blocked`: each thread computes a 4×4 block, reading A as scalars and
 * B as vec4 rows (M and N multiples of 4); otherwise one thread per output element through tfjs's
 * mm_readA/mm_readB accessors, for any shape.
 */
class BarrierFreeMatMulProgram implements WebGPUProgram {
  workgroupSize: [number, number, number] = [WORKGROUP_SIZE, 1, 1];
  outputShape: number[];
  uniforms: string;
  variableNames: string[];
  variableComponents?: number[];
  size?: boolean;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  shaderKey: string;

  constructor(
    private readonly mm: MatMulFields,
    private readonly blocked: boolean,
  ) {
    const [batch, rows, cols] = mm.outputShape;
    this.outputShape = mm.outputShape;
    this.uniforms = mm.uniforms;
    this.variableNames = [...mm.variableNames];
    this.dispatchLayout = flatDispatchLayout(mm.outputShape);
    if (blocked) {
      // A scalar per element, B as vec4 along N unless transposed; bias and prelu weights scalar.
      this.variableComponents = this.variableNames.map((name) => (name === 'B' && !mm.transposeB ? 4 : 1));
      this.dispatch = dispatchFor((batch * rows * cols) / 16);
    } else {
      this.size = true;
      this.dispatch = dispatchFor(batch * rows * cols);
    }
    const { transposeA, transposeB, addBias, activation, hasPreluActivationWeights } = mm;
    this.shaderKey = `barrierFreeMatMul_${blocked ? '4x4' : 'naive'}_${transposeA}_${transposeB}_${addBias}_${activation}_${hasPreluActivationWeights}`;
  }

  getUserCode(): string {
    const { transposeA, transposeB, addBias, activation, hasPreluActivationWeights } = this.mm;
    const activationFn = activationFnSnippet(activation, hasPreluActivationWeights, false, 3);
    if (!this.blocked)
      return `
      ${activationFn}
      ${matMulReadWriteFnSource(addBias, activation, transposeA, transposeB, false, false, false, 1)}
      ${main('index')} {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let batchA = coords[0] % uniforms.aShape[0];
          let batchB = coords[0] % uniforms.bShape[0];
          var acc = 0.0;
          for (var k = 0; k < uniforms.dimInner; k++) {
            acc = acc + mm_readA(batchA, coords[1], k) * mm_readB(batchB, k, coords[2]);
          }
          mm_write(coords[0], coords[1], coords[2], acc);
        }
      }`;
    // Flat indices into the contiguous 3-D A and B (tfjs reshapes them so before running the program).
    const aAt = (i: number) => (transposeA ? `A[aBase + k * M + row + ${i}]` : `A[aBase + (row + ${i}) * K + k]`);
    const bRow = transposeB
      ? `vec4<f32>(${[0, 1, 2, 3].map((j) => `f32(B[bBase + (col + ${j}) * K + k])`).join(', ')})`
      : `vec4<f32>(B[(bBase + k * N + col) / 4])`;
    return `
      ${activationFn}
      fn writeResult(batch : i32, row : i32, col : i32, valueIn : f32) {
        var value = valueIn;
        let coords = vec3<i32>(batch, row, col);
        ${biasActivationSnippet(addBias, activation)}
        setOutputAtCoords(coords[0], coords[1], coords[2], value);
      }
      ${main('index')} {
        let M = uniforms.dimAOuter;
        let N = uniforms.dimBOuter;
        let K = uniforms.dimInner;
        let blocksPerBatch = (M / 4) * (N / 4);
        if (index >= uniforms.outShape[0] * blocksPerBatch) { return; }
        let batch = index / blocksPerBatch;
        let block = index - batch * blocksPerBatch;
        let row = (block / (N / 4)) * 4;
        let col = (block - (block / (N / 4)) * (N / 4)) * 4;
        let aBase = (batch % uniforms.aShape[0]) * M * K;
        let bBase = (batch % uniforms.bShape[0]) * K * N;
        var acc0 = vec4<f32>(0.0);
        var acc1 = vec4<f32>(0.0);
        var acc2 = vec4<f32>(0.0);
        var acc3 = vec4<f32>(0.0);
        for (var k = 0; k < K; k++) {
          let b = ${bRow};
          acc0 = acc0 + f32(${aAt(0)}) * b;
          acc1 = acc1 + f32(${aAt(1)}) * b;
          acc2 = acc2 + f32(${aAt(2)}) * b;
          acc3 = acc3 + f32(${aAt(3)}) * b;
        }
        for (var j = 0; j < 4; j++) {
          writeResult(batch, row, col + j, acc0[j]);
          writeResult(batch, row + 1, col + j, acc1[j]);
          writeResult(batch, row + 2, col + j, acc2[j]);
          writeResult(batch, row + 3, col + j, acc3[j]);
        }
      }`;
  }
}

/** A rank-0/1 shape as rank 2 ([n] -> [1, n]): BinaryOpProgram then picks its non-shared variant. */
const atLeast2d = (shape: number[]) => (shape.length === 0 ? [1, 1] : shape.length === 1 ? [1, shape[0]] : shape);

const allFloat32 = (inputs: TensorInfo[]) => inputs.every((t) => t.dtype === 'float32');

/** The barrier-free program to run instead of `program`, and its kind; undefined: run tfjs's. */
export function barrierFreeReplacement(
  program: WebGPUProgram,
  inputs: TensorInfo[],
): { program: WebGPUProgram; kind: BarrierFreeKind } | undefined {
  // An int32 2-D transpose (the one-hot embedding's input, transposed for its weight gradient) takes
  // tfjs's own one-thread-per-element program: the same copy, without the shared tile's barriers.
  if (program instanceof TransposeSharedProgram && inputs.length === 1 && inputs[0].dtype === 'int32')
    return { program: new TransposeProgram(inputs[0].shape, [1, 0]), kind: 'transpose' };
  if (!allFloat32(inputs)) return undefined;
  if (program instanceof ReduceProgram) {
    const { reduceType, inputShape, outputShape } = program;
    if (reduceType !== 'sum' && reduceType !== 'mean' && reduceType !== 'max' && reduceType !== 'min') return undefined;
    if (inputShape[1] >= MAX_ROW) return undefined;
    return { program: new RowReduceProgram(outputShape, reduceType), kind: 'reduce' };
  }
  if (program instanceof TransposeSharedProgram) {
    if (program.outputShape.length !== 2) return undefined;
    return { program: new Transpose2dProgram(program.outputShape), kind: 'transpose' };
  }
  if (program instanceof SoftmaxProgram) {
    if (program.outputShape.length !== 2 || program.outputShape[1] >= MAX_ROW) return undefined;
    return { program: new RowSoftmaxProgram(program.outputShape), kind: 'softmax' };
  }
  if (
    program instanceof MatMulPackedProgram ||
    program instanceof MatMulSmallOutputSizeProgram ||
    program instanceof MatMulReduceProgram
  ) {
    const mm: MatMulFields = program;
    if (mm.outputShape.length !== 3) return undefined;
    const blocked = mm.outputShape[1] % 4 === 0 && mm.outputShape[2] % 4 === 0;
    return { program: new BarrierFreeMatMulProgram(mm, blocked), kind: blocked ? 'matmul-4x4' : 'matmul-naive' };
  }
  if (program instanceof BinaryOpProgram && (program as unknown as BinaryOpVariant).type === 'shared') {
    if (inputs.length !== 2) return undefined;
    const nonShared = new BinaryOpProgram(program.op, atLeast2d(inputs[0].shape), atLeast2d(inputs[1].shape));
    if ((nonShared as unknown as BinaryOpVariant).type === 'shared') return undefined;
    return { program: nonShared, kind: 'binary' };
  }
  return undefined;
}

const installed = new WeakSet<object>();

/** Makes this webgpu backend run the barrier-free programs from now on (once per backend). */
export function installBarrierFreeKernels(backend: WebGPUProgramRunner): void {
  if (installed.has(backend)) return;
  installed.add(backend);
  const run = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (program, inputs, outputDtype, uniformData, output) => {
    const replacement = barrierFreeReplacement(program, inputs);
    if (replacement) barrierFreeDispatches[replacement.kind]++;
    return run(replacement?.program ?? program, inputs, outputDtype, uniformData, output);
  };
}

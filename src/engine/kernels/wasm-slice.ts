// Slice and SplitV for the wasm backend that read their input in place. tfjs-backend-wasm 4.22's
// versions first copy the *whole* input out of the heap (readSync) for every slice, so splitting the
// flat parameter vector into its 20 tensors copied it 20 times per forward pass. Same results, same
// kernel names; registered over the originals when the wasm backend starts.
import { tf } from '../tf';

type Shape = number[];
interface TensorInfo {
  dataId: object;
  shape: Shape;
  dtype: 'float32' | 'int32' | 'bool' | string;
}
interface WasmBackend {
  makeOutput(shape: Shape, dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

/** Copies x[begin : begin + size] into a new output, one contiguous run at a time. */
function sliceInPlace(x: TensorInfo, begin: Shape, size: Shape, backend: WasmBackend): TensorInfo {
  // The output first: allocating may grow the heap, which detaches views taken earlier.
  const out = backend.makeOutput(size, x.dtype);
  if (sizeOf(size) === 0) return out;
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = x.shape.map((_, axis) => sizeOf(x.shape.slice(axis + 1)));
  // Axes inner… form one contiguous run: every axis after `inner` is taken whole.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === x.shape[inner]) inner--;
  const run = sizeOf(size.slice(inner));
  const rows = sizeOf(size.slice(0, inner));
  const index = new Array<number>(inner).fill(0);
  for (let row = 0; row < rows; row++) {
    let offset = begin[inner] * strides[inner];
    for (let axis = 0; axis < inner; axis++) offset += (begin[axis] + index[axis]) * strides[axis];
    target.set(source.subarray(offset, offset + run), row * run);
    // next row index, the innermost leading axis fastest
    for (let axis = inner - 1; axis >= 0; axis--) {
      if (++index[axis] < size[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

let registered = false;

export function registerWasmSliceKernels(): void {
  if (registered) return;
  registered = true;
  for (const name of ['Slice', 'SplitV']) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: 'Slice',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as TensorInfo;
      const [begin, size] = tf.slice_util.parseSliceParams(
        x as tf.TensorInfo,
        attrs?.begin as Shape,
        attrs?.size as Shape,
      );
      return sliceInPlace(x, begin, size, backend as unknown as WasmBackend) as tf.TensorInfo;
    },
  });
  tf.registerKernel({
    kernelName: 'SplitV',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as TensorInfo;
      const axis = tf.util.parseAxisParam(attrs?.axis as number, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo, attrs?.numOrSizeSplits as number[], axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const out = sliceInPlace(x, [...begin], size, backend as unknown as WasmBackend);
        begin[axis] += s;
        return out as tf.TensorInfo;
      });
    },
  });
}

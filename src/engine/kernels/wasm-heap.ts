// What the SIMD kernels (wasm-matmul.ts, wasm-fused.ts) need of tfjs-backend-wasm: its tensors' addresses
// on its heap, its allocator, and one of our modules instantiated on that same heap, so kernels read and
// write tensors where tfjs keeps them.

export type Shape = number[];

export interface TensorInfo {
  dataId: object;
  shape: Shape;
  dtype: string;
}

export interface WasmBackend {
  makeOutput(shape: Shape, dtype: string): TensorInfo;
  /** A view of a tensor's data on the heap (bool: one byte an element). */
  typedArrayFromHeap(tensor: TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
}

/** Where a tensor's data starts on the backend's heap (the address our kernels read and write). */
export function heapAddress(backend: WasmBackend, tensor: TensorInfo): number {
  return backend.dataIdMap.get(tensor.dataId).memoryOffset;
}

function base64Bytes(text: string): Uint8Array {
  if (typeof atob === 'function') return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/**
 * A module (base64 wasm that imports `env.memory`) instantiated on the backend's heap. Synchronous: the
 * modules are a few KB, kernels are registered synchronously after tf.ready(), and this runs in Node or a
 * worker (the main thread refuses synchronous compiles over 4 KB, and never trains).
 */
export function instantiateOnHeap(base64: string, backend: WasmBackend): WebAssembly.Exports {
  const module = new WebAssembly.Module(base64Bytes(base64) as BufferSource);
  return new WebAssembly.Instance(module, { env: { memory: backend.wasm.asm.memory } }).exports;
}

/**
 * `bytes` from the backend's allocator, or a clear error when the heap cannot grow that far (malloc then
 * returns 0, and a kernel writing there would overwrite the heap's start).
 */
export function mallocOrThrow(backend: WasmBackend, bytes: number): number {
  const address = backend.wasm._malloc(bytes) >>> 0;
  if (address === 0 && bytes > 0)
    throw new Error(
      `Out of WebAssembly memory: could not allocate ${(bytes / 2 ** 20).toFixed(1)} MB for the model. ` +
        'Try a smaller batch size, context length or model.',
    );
  return address;
}

/** A growing scratch buffer on the backend's heap for one module; forgotten when the heap is new. */
export class HeapScratch {
  private offset = 0;
  private bytes = 0;

  /** The buffer's address, grown to at least `bytes` (doubling where the heap allows, so growth is rare). */
  reserve(backend: WasmBackend, bytes: number): number {
    if (bytes > this.bytes) {
      const doubled = Math.max(bytes, 2 * this.bytes);
      if (this.offset) backend.wasm._free(this.offset);
      this.offset = 0;
      this.bytes = 0;
      const address = backend.wasm._malloc(doubled) >>> 0;
      [this.offset, this.bytes] = address ? [address, doubled] : [mallocOrThrow(backend, bytes), bytes];
    }
    return this.offset;
  }

  /** The buffer's address as it stands (0 before any reserve). */
  get address(): number {
    return this.offset;
  }

  /** Drops the buffer without freeing it: it belonged to a heap that is gone. */
  reset(): void {
    this.offset = 0;
    this.bytes = 0;
  }
}

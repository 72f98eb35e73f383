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
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
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

/** A growing scratch buffer on the backend's heap for one module; forgotten when the heap is new. */
export class HeapScratch {
  private offset = 0;
  private bytes = 0;

  /** The buffer's address, grown to at least `bytes` (doubling, so growth is rare). */
  reserve(backend: WasmBackend, bytes: number): number {
    if (bytes > this.bytes) {
      if (this.offset) backend.wasm._free(this.offset);
      this.bytes = Math.max(bytes, 2 * this.bytes);
      this.offset = backend.wasm._malloc(this.bytes) >>> 0;
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

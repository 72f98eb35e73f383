// The scratch buffers the SIMD kernels keep on tfjs-wasm's heap (src/engine/kernels/wasm-heap.ts): they
// grow by doubling where the heap allows, fall back to the exact size where it does not, and a heap that
// cannot grow at all gives a clear error instead of address 0 (which a kernel would then overwrite).
import { describe, expect, it } from 'vitest';
import { HeapScratch, mallocOrThrow, type WasmBackend } from '../src/engine/kernels/wasm-heap';

/** A backend whose allocator hands out addresses from 1024 up to `limit` bytes at a time, 0 beyond it. */
function fakeBackend(limit: number) {
  const calls: { malloc: number[]; free: number[] } = { malloc: [], free: [] };
  let next = 1024;
  const backend = {
    wasm: {
      _malloc(bytes: number) {
        calls.malloc.push(bytes);
        if (bytes > limit) return 0;
        const address = next;
        next += bytes;
        return address;
      },
      _free(address: number) {
        calls.free.push(address);
      },
    },
  } as unknown as WasmBackend;
  return { backend, calls };
}

describe('wasm heap scratch', () => {
  it('doubles as it grows, freeing the old buffer', () => {
    const { backend, calls } = fakeBackend(1 << 20);
    const scratch = new HeapScratch();
    const first = scratch.reserve(backend, 100);
    expect(scratch.reserve(backend, 80)).toBe(first);
    scratch.reserve(backend, 150);
    expect(calls.malloc).toEqual([100, 200]);
    expect(calls.free).toEqual([first]);
  });

  it('takes the exact size when the doubled one does not fit', () => {
    const { backend, calls } = fakeBackend(1000);
    const scratch = new HeapScratch();
    scratch.reserve(backend, 600);
    const address = scratch.reserve(backend, 900);
    expect(calls.malloc).toEqual([600, 1200, 900]);
    expect(address).toBeGreaterThan(0);
    // The buffer it has is 900 bytes: asking for 950 allocates again.
    scratch.reserve(backend, 950);
    expect(calls.malloc.at(-1)).toBe(950);
  });

  it('a heap that cannot grow gives a clear error, and the scratch starts empty again', () => {
    const { backend } = fakeBackend(1000);
    expect(() => mallocOrThrow(backend, 3 * 2 ** 20)).toThrow(/Out of WebAssembly memory: could not allocate 3\.0 MB/);
    const scratch = new HeapScratch();
    scratch.reserve(backend, 500);
    expect(() => scratch.reserve(backend, 5000)).toThrow(/smaller batch size/);
    expect(scratch.address).toBe(0);
    expect(scratch.reserve(backend, 400)).toBeGreaterThan(0);
  });
});

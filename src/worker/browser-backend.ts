// Starting a backend in the browser worker. `auto` prefers WebGPU on a hardware adapter; a software
// (fallback) adapter such as SwiftShader, no adapter, or a failed start falls back to webgl -> wasm -> cpu,
// and WebGL that renders in software is skipped too (it is several times slower than wasm).
// A forced backend is tried even on a software adapter.
import { BACKENDS, fallbackOrder, startBackend, type BackendChoice, type BackendName } from '../engine/backend';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendRequest } from './protocol';

interface AdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}
interface GpuLike {
  requestAdapter(): Promise<AdapterLike | null>;
}

/** Loads a backend's package (and tells the wasm backend where Vite put its binaries). */
export async function registerBrowserBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
    });
  }
}

/** Why WebGPU should not be used automatically here, or undefined when a hardware adapter exists. */
async function webgpuProblem(): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return 'this browser has no WebGPU';
  const adapter = await gpu.requestAdapter();
  if (!adapter) return 'no WebGPU adapter';
  if (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter) {
    return 'the WebGPU adapter is a software fallback (no GPU)';
  }
  return undefined;
}

/** Why WebGL should not be used automatically here: it renders in software (no GPU), slower than wasm. */
function webglProblem(): string | undefined {
  if (typeof OffscreenCanvas === 'undefined') return undefined;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return 'WebGL2 is not available';
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  const software = /swiftshader|llvmpipe|softpipe|software|basic render/i.exec(renderer);
  // Name the renderer briefly: full strings nest parentheses and run to a line.
  return software ? `WebGL renders in software (${software[0]}), slower than wasm` : undefined;
}

/**
 * Starts the backend for a request. `failing` names backends that must fail to start: a test hook
 * (the `failBackend` URL parameter) that proves the fallback and its message.
 */
export function startBrowserBackend(
  request: BackendRequest,
  failing: readonly BackendName[] = [],
): Promise<BackendChoice> {
  const order = request === 'auto' ? [...BACKENDS] : fallbackOrder(request);
  return startBackend(order, {
    register: async (name) => {
      if (failing.includes(name)) throw new Error('simulated failure requested by the failBackend URL parameter');
      await registerBrowserBackend(name);
    },
    // Only `auto` skips software GPUs; a forced backend is always tried.
    vet: async (name) => {
      if (request !== 'auto') return undefined;
      if (name === 'webgpu') return webgpuProblem();
      if (name === 'webgl') return webglProblem();
      return undefined;
    },
  });
}

// Starting a backend in the browser worker. `startBrowserBackend` walks webgpu -> webgl -> wasm -> cpu;
// under `auto` it skips a software (fallback) WebGPU adapter such as SwiftShader, no adapter, and WebGL
// that renders in software (several times slower than wasm). A forced backend is tried even on a software
// adapter. `auto` normally measures instead (backend-auto.ts); this order is its fallback, and the GPU
// checks here are its pre-filter and the device fingerprint it remembers choices under.
// Once webgpu has started on a software adapter, the barrier-free programs replace tfjs's shared-memory
// ones (engine/kernels/webgpu-barrier-free.ts, loaded only then; `?webgpuKernels=` forces either).
import { BACKENDS, fallbackOrder, startBackend, type BackendChoice, type BackendName } from '../engine/backend';
import type { WebGPUProgramRunner } from '../engine/kernels/webgpu-barrier-free';
import { tf } from '../engine/tf';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendRequest, WebgpuKernels } from './protocol';

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

/** What `auto` needs to know about one GPU backend here. */
export interface GpuCheck {
  /** Why `auto` should not use it (undefined: a hardware GPU, or nothing against trying). */
  problem?: string;
  /** The same in a few words, for the badge's list of backends. */
  brief?: string;
  /** The only problem is that it renders in software: it would still run (and can be measured). */
  software: boolean;
  /** The adapter or renderer, for the device fingerprint. */
  label: string;
}

async function checkWebgpu(): Promise<GpuCheck> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { problem: 'this browser has no WebGPU', brief: 'no WebGPU', software: false, label: 'none' };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { problem: 'no WebGPU adapter', brief: 'no adapter', software: false, label: 'no adapter' };
  const info = adapter.info;
  const fallback = info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const label = [info?.vendor, info?.architecture, info?.description, fallback ? 'fallback' : '']
    .filter(Boolean)
    .join(' ');
  return fallback
    ? {
        problem: 'the WebGPU adapter is a software fallback (no GPU)',
        brief: 'software adapter',
        software: true,
        label,
      }
    : { software: false, label };
}

function checkWebgl(): GpuCheck {
  if (typeof OffscreenCanvas === 'undefined') return { software: false, label: 'unknown' };
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return { problem: 'WebGL2 is not available', brief: 'no WebGL2', software: false, label: 'none' };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  const software = /swiftshader|llvmpipe|softpipe|software|basic render/i.exec(renderer);
  // Name the renderer briefly: full strings nest parentheses and run to a line.
  return software
    ? {
        problem: `WebGL renders in software (${software[0]}), slower than wasm`,
        brief: `software renderer: ${software[0]}`,
        software: true,
        label: renderer,
      }
    : { software: false, label: renderer };
}

let checks: Promise<{ webgpu: GpuCheck; webgl: GpuCheck }> | undefined;

/** The GPU backends' checks, once per worker (the hardware does not change under a running worker). */
export function gpuChecks(): Promise<{ webgpu: GpuCheck; webgl: GpuCheck }> {
  checks ??= (async () => ({
    webgpu: await checkWebgpu().catch((error: unknown): GpuCheck => ({
      problem: `WebGPU adapter request failed (${String(error)})`,
      brief: 'adapter request failed',
      software: false,
      label: 'error',
    })),
    webgl: checkWebgl(),
  }))();
  return checks;
}

/** The browser and its GPUs: a remembered backend choice holds for this device only. */
export async function deviceFingerprint(): Promise<string> {
  const { webgpu, webgl } = await gpuChecks();
  return `${navigator.userAgent} | webgpu: ${webgpu.label} | webgl: ${webgl.label}`;
}

let webgpuKernels: WebgpuKernels = 'auto';

/** Which programs webgpu runs where tfjs's use workgroup barriers, for backends started from now on. */
export function chooseWebgpuKernels(choice: WebgpuKernels): void {
  webgpuKernels = choice;
}

export function chosenWebgpuKernels(): WebgpuKernels {
  return webgpuKernels;
}

/**
 * Called once a backend has started. On webgpu it installs the barrier-free programs when chosen, or
 * under `auto` when the adapter is a software fallback (SwiftShader), where they were measured ~15×
 * faster; on a GPU tfjs's own programs stay (not measured: no GPU here).
 */
export async function browserBackendStarted(name: BackendName): Promise<string | undefined> {
  if (name !== 'webgpu' || webgpuKernels === 'tfjs') return undefined;
  const software = (await gpuChecks()).webgpu.software;
  if (webgpuKernels === 'auto' && !software) return undefined;
  const backend = tf.findBackend('webgpu');
  if (!backend) return undefined;
  const { installBarrierFreeKernels } = await import('../engine/kernels/webgpu-barrier-free');
  installBarrierFreeKernels(backend as unknown as WebGPUProgramRunner);
  const { installWebgpuFusedKernels } = await import('../engine/kernels/webgpu-fused');
  installWebgpuFusedKernels();
  // Said in the badge's tooltip: this run's WebGPU is not tfjs's stock kernels.
  return software ? 'software adapter: barrier-free WebGPU programs' : 'barrier-free WebGPU programs, as asked';
}

const failingRegister =
  (failing: readonly BackendName[]) =>
  async (name: BackendName): Promise<void> => {
    if (failing.includes(name)) throw new Error('simulated failure requested by the failBackend URL parameter');
    await registerBrowserBackend(name);
  };

/** Starts the first of `order` that starts, with no vetting (the caller already chose). */
export function startBrowserBackendIn(
  order: readonly BackendName[],
  failing: readonly BackendName[] = [],
): Promise<BackendChoice> {
  return startBackend(order, { register: failingRegister(failing), started: browserBackendStarted });
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
    register: failingRegister(failing),
    started: browserBackendStarted,
    // Only `auto` skips software GPUs; a forced backend is always tried.
    vet: async (name) => {
      if (request !== 'auto' || (name !== 'webgpu' && name !== 'webgl')) return undefined;
      return (await gpuChecks())[name].problem;
    },
  });
}

// Picking and starting a tfjs backend, with fallback down the list webgpu -> webgl -> wasm -> cpu.
// Node registers cpu and wasm here; the browser worker passes its own `register` (dynamic imports of
// the webgpu/webgl/wasm packages) and `vet` (is this WebGPU adapter real hardware?).
import '@tensorflow/tfjs-backend-cpu';
import { registerWasmFusedKernels } from './kernels/wasm-fused';
import { registerWasmIdentityKernel } from './kernels/wasm-identity';
import { registerWasmMatMulKernel } from './kernels/wasm-matmul';
import { registerWasmModelKernels } from './kernels/wasm-model';
import { registerWasmSampleKernel } from './kernels/wasm-sample';
import { registerWasmSliceKernels } from './kernels/wasm-slice';
import { tf } from './tf';

import { BACKENDS, type BackendName } from './backend-names';

export { BACKENDS, type BackendName };

export interface BackendChoice {
  name: BackendName;
  /** Why this backend runs: what was asked for and what failed or was skipped on the way. */
  reason: string;
  /** True when the backend running is not the first one tried. */
  fellBack: boolean;
}

export interface BackendHooks {
  /** Makes a backend's kernels available (loads its package). */
  register?: (name: BackendName) => Promise<void>;
  /** Returns a reason to skip a backend without trying it, or undefined to try it. */
  vet?: (name: BackendName) => Promise<string | undefined>;
  /**
   * Runs once a backend has started, before anything uses it (the browser's WebGPU kernel choice); what
   * it returns, if anything, is added to the choice's reason.
   */
  started?: (name: BackendName) => Promise<string | undefined>;
}

let wasmLoaded: Promise<unknown> | undefined;

async function registerForNode(name: BackendName): Promise<void> {
  if (name === 'wasm') {
    // Loaded only when asked for; Node finds the .wasm files next to the module.
    wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm');
    await wasmLoaded;
  }
}

/** The backends to try, in order, for a request: the wanted one, then the rest of the list below it. */
export function fallbackOrder(wanted: BackendName): BackendName[] {
  return BACKENDS.slice(BACKENDS.indexOf(wanted));
}

/** Starts the first backend of `order` that starts; the reason says what happened on the way. */
export async function startBackend(order: readonly BackendName[], hooks: BackendHooks = {}): Promise<BackendChoice> {
  const register = hooks.register ?? registerForNode;
  const notes: string[] = [];
  for (const name of order) {
    try {
      const skip = await hooks.vet?.(name);
      if (skip) {
        notes.push(skip);
        continue;
      }
      await register(name);
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') {
          registerWasmSliceKernels();
          registerWasmIdentityKernel();
          registerWasmMatMulKernel();
          registerWasmFusedKernels();
          registerWasmModelKernels();
          registerWasmSampleKernel();
        }
        const note = await hooks.started?.(name);
        const fellBack = name !== order[0];
        const reason = notes.length === 0 ? `${name} as requested` : `${notes.join('; ')}; running on ${name}`;
        return { name, fellBack, reason: note ? `${reason} (${note})` : reason };
      }
      notes.push(`${name} did not start`);
    } catch (error) {
      notes.push(`${name} failed to start (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${notes.join('; ')}`);
}

/** Node: starts `wanted`, or the next backend down the list that starts. */
export function useBackend(wanted: BackendName): Promise<BackendChoice> {
  return startBackend(fallbackOrder(wanted));
}

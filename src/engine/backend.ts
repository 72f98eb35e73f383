// Picking and starting a tfjs backend. Node has cpu and wasm; the browser adds webgl and webgpu (the app
// registers those before calling useBackend). A backend that fails to start falls back down the list.
import '@tensorflow/tfjs-backend-cpu';
import { tf } from './tf';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendChoice {
  name: BackendName;
  /** Why this backend runs: what was asked for and what failed on the way. */
  reason: string;
}

let wasmLoaded: Promise<unknown> | undefined;

async function register(name: BackendName): Promise<void> {
  if (name === 'wasm') {
    // The wasm backend is loaded only when asked for; Node finds its .wasm files next to the module.
    wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm');
    await wasmLoaded;
  }
}

/** Starts `wanted`, or the next backend down the list that starts; the reason says what happened. */
export async function useBackend(wanted: BackendName): Promise<BackendChoice> {
  const failures: string[] = [];
  for (const name of BACKENDS.slice(BACKENDS.indexOf(wanted))) {
    try {
      await register(name);
      if (await tf.setBackend(name)) {
        await tf.ready();
        const reason = failures.length === 0 ? `${name} as requested` : `${name}: ${failures.join('; ')}`;
        return { name, reason };
      }
      failures.push(`${name} did not start`);
    } catch (error) {
      failures.push(`${name} failed (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${failures.join('; ')}`);
}

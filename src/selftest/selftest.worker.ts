// Runs the fixed-batch PPO loss and gradient (engine/agreement.ts) on every backend this browser can
// start, cpu first as the reference, and posts each backend's numbers.
import { numbersOnFixedBatch } from '../engine/agreement';
import { startBackend } from '../engine/backend';
import type { BackendName } from '../engine/backend-names';
import { registerBrowserBackend } from '../worker/browser-backend';
import type { SelfTestEvent } from './protocol';

const ORDER: BackendName[] = ['cpu', 'wasm', 'webgl', 'webgpu'];
const post = (event: SelfTestEvent) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(event);

for (const backend of ORDER) {
  try {
    await startBackend([backend], { register: registerBrowserBackend });
    const started = performance.now();
    const numbers = await numbersOnFixedBatch(1);
    post({ type: 'result', backend, numbers, ms: performance.now() - started });
  } catch (error) {
    post({ type: 'unavailable', backend, reason: error instanceof Error ? error.message : String(error) });
  }
}
post({ type: 'done' });

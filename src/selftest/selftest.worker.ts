// Runs the fixed-batch PPO loss and gradient (engine/agreement.ts) on every backend this browser can
// start, cpu first as the reference, and posts each backend's numbers; then the single-op checks
// (kernel-checks.ts), which cover the programs webgpu may swap for barrier-free ones.
import { numbersOnFixedBatch } from '../engine/agreement';
import { startBackend } from '../engine/backend';
import type { BackendName } from '../engine/backend-names';
import { tf } from '../engine/tf';
import { browserBackendStarted, chooseWebgpuKernels, registerBrowserBackend } from '../worker/browser-backend';
import { KERNEL_CHECKS, kernelDifference, runKernelChecks } from './kernel-checks';
import type { SelfTestEvent, SelfTestStart } from './protocol';

const ORDER: BackendName[] = ['cpu', 'wasm', 'webgl', 'webgpu'];
const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (event: SelfTestEvent) => scope.postMessage(event);

/** The barrier-free programs' dispatch counts, if that module has been loaded (webgpu installed it). */
async function barrierFreeCounts() {
  const { barrierFreeDispatches } = await import('../engine/kernels/webgpu-barrier-free');
  return { ...barrierFreeDispatches };
}

/**
 * How often each of a backend's fused kernels ran, by kernel name: webgpu's fused programs (empty unless
 * webgpu installed them), and wasm's whole-model kernels; undefined for a backend without any.
 */
async function fusedCounts(backend: BackendName): Promise<Record<string, number> | undefined> {
  if (backend === 'webgpu') {
    const { webgpuFusedRuns } = await import('../engine/kernels/webgpu-fused');
    return { ...webgpuFusedRuns };
  }
  if (backend === 'wasm') {
    const { MODEL_KERNELS, modelKernelStats } = await import('../engine/kernels/wasm-model');
    return { [MODEL_KERNELS.forward]: modelKernelStats.forward, [MODEL_KERNELS.backward]: modelKernelStats.backward };
  }
  return undefined;
}

/** after − before, per key. */
const difference = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([key, n]) => [key, n - (before[key] ?? 0)]));

async function selfTest(): Promise<void> {
  let kernelReference: number[][] | undefined;
  for (const backend of ORDER) {
    try {
      await startBackend([backend], { register: registerBrowserBackend, started: browserBackendStarted });
      const fusedBefore = await fusedCounts(backend);
      const started = performance.now();
      const numbers = await numbersOnFixedBatch(1);
      const ms = performance.now() - started;
      const fusedAfter = await fusedCounts(backend);
      const fused = fusedBefore && fusedAfter && difference(fusedAfter, fusedBefore);
      post({ type: 'result', backend, numbers, ms, ...(fused ? { fused } : {}) });
      // Small inputs would otherwise be computed on the CPU by tfjs-webgpu (WEBGPU_CPU_FORWARD), not
      // by the programs under test.
      const forward = backend === 'webgpu' ? tf.env().getBool('WEBGPU_CPU_FORWARD') : undefined;
      if (forward !== undefined) tf.env().set('WEBGPU_CPU_FORWARD', false);
      try {
        const before = backend === 'webgpu' ? await barrierFreeCounts() : undefined;
        const outputs = await runKernelChecks();
        const after = backend === 'webgpu' ? await barrierFreeCounts() : undefined;
        const barrierFree = before && after ? difference(after, before) : undefined;
        kernelReference ??= outputs;
        const differences = outputs.map((output, i) => kernelDifference(output, kernelReference![i]));
        const maxDifference = Math.max(...differences);
        post({
          type: 'kernels',
          backend,
          checks: KERNEL_CHECKS.length,
          worstOp: KERNEL_CHECKS[differences.indexOf(maxDifference)].name,
          maxDifference,
          ...(barrierFree ? { barrierFree } : {}),
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        post({
          type: 'kernels',
          backend,
          checks: KERNEL_CHECKS.length,
          worstOp: '–',
          maxDifference: NaN,
          error: message,
        });
      } finally {
        if (forward !== undefined) tf.env().set('WEBGPU_CPU_FORWARD', forward);
      }
    } catch (error) {
      post({ type: 'unavailable', backend, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  post({ type: 'done' });
}

scope.onmessage = ({ data }: MessageEvent<SelfTestStart>) => {
  chooseWebgpuKernels(data.webgpuKernels ?? 'auto');
  void selfTest();
};

// Messages between the self-test page and its worker: the page starts it with its options; the worker
// sends one result per backend (and its single-op checks), then `done`.
import type { BackendNumbers } from '../engine/agreement';
import type { BackendName } from '../engine/backend-names';
import type { BarrierFreeKind } from '../engine/kernels/webgpu-barrier-free';
import type { WebgpuKernels } from '../worker/protocol';

export interface SelfTestStart {
  /** The page's `?webgpuKernels=` (absent: auto). */
  webgpuKernels?: WebgpuKernels;
}

export type SelfTestEvent =
  | {
      type: 'result';
      backend: BackendName;
      numbers: BackendNumbers;
      ms: number;
      /**
       * How many times each fused kernel ran for these numbers, by kernel name: webgpu's fused programs
       * (webgpu-fused.ts), wasm's whole-model kernels (wasm-model.ts).
       */
      fused?: Record<string, number>;
    }
  | {
      type: 'kernels';
      backend: BackendName;
      /** How many single-op checks ran (kernel-checks.ts), and the one furthest from cpu's output. */
      checks: number;
      worstOp: string;
      /** Its difference from cpu (relative above magnitude 1); cpu itself: 0. */
      maxDifference: number;
      /** webgpu: how many times each barrier-free program ran during the checks (none: tfjs's ran). */
      barrierFree?: Partial<Record<BarrierFreeKind, number>>;
      /** The checks threw (then no difference). */
      error?: string;
    }
  | { type: 'unavailable'; backend: BackendName; reason: string }
  | { type: 'done' };

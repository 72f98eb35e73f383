// Which ops layers.ts runs through the WebGPU programs of webgpu-fused.ts. Kept apart from them so the
// engine (and Node) does not load tfjs-backend-webgpu's modules; the browser worker loads that file
// once WebGPU has started on a software adapter, and it calls markWebgpuFusedInstalled.
import { tf } from '../tf';

/** The ops webgpu-fused.ts runs on webgpu once installed. */
export type WebgpuFusedOp = 'layerNorm' | 'gelu' | 'columnSum' | 'attention' | 'adam' | 'logSoftmax';

/** Kernel name of Σ over the rows of a 2-D tensor (tf.sum(x, 0) in one dispatch). */
export const COLUMN_SUM_KERNEL = 'TrlColumnSum';

/** Kernel names of log-probs.ts's log-softmax over the last axis and its gradient (one thread per row). */
export const LOG_SOFTMAX_KERNEL = 'TrlLogSoftmax';
export const LOG_SOFTMAX_GRAD_KERNEL = 'TrlLogSoftmaxGrad';
/** Kernel names of Σᵥ logSoftmax · oneHot(next) (the chosen token's log-probability) and its gradient. */
export const PICK_KERNEL = 'TrlPickLogProb';
export const PICK_GRAD_KERNEL = 'TrlPickLogProbGrad';

/** The longest sequence webgpu-fused.ts's attention programs take (fixed-size rows per thread). */
export const MAX_WEBGPU_ATTENTION_TIME = 64;

let installed = false;

export function markWebgpuFusedInstalled(): void {
  installed = true;
}

/** Whether layers.ts should run this op through the kernels of webgpu-fused.ts (webgpu, once installed). */
export function hasWebgpuFused(op: WebgpuFusedOp): boolean {
  void op;
  return installed && tf.getBackend() === 'webgpu';
}

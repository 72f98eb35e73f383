// One sampling step of the Gumbel-max sampler (sampling.ts) as one kernel on the wasm backend, where the
// model's cache hands it the logits: argmax(logits + noise) per row, <pad> for finished rows, written at
// `position`, and the done flags updated. The tfjs ops it replaces (slice, add, argMax, cast, where with
// broadcast tiles, equal, logicalOr: ~16 kernels a step) took ~0.4 ms of a default rollout's five steps,
// most of it per-kernel overhead on [128, 9] tensors. The arithmetic is one float32 add per logit and a
// comparison, as theirs: the same tokens.
import { tf } from '../tf';
import { type TensorInfo, type WasmBackend } from './wasm-heap';

export const SAMPLE_STEP_KERNEL = 'TrlSampleStep';

export interface SampleStepAttrs {
  /** Which row of the noise [steps, B, V] this step uses. */
  step: number;
  /** The buffer position the chosen tokens go to. */
  position: number;
  pad: number;
  eos: number;
}

/** Steps run since start (tests check which path sampled). */
export const sampleStepStats = { runs: 0 };

/** tokens' [B, T] and done' [B] after one step from logits [B, V], noise [S, B, V], tokens and done. */
function sampleStep(be: WasmBackend, inputs: Record<string, TensorInfo>, a: SampleStepAttrs): TensorInfo[] {
  const { logits, noise, tokens, done } = inputs;
  const [batch, vocab] = logits.shape;
  const time = tokens.shape[1];
  const outTokens = be.makeOutput(tokens.shape, 'int32');
  const outDone = be.makeOutput(done.shape, 'bool');
  const x = be.typedArrayFromHeap(logits) as Float32Array;
  const g = be.typedArrayFromHeap(noise) as Float32Array;
  const noiseAt = a.step * batch * vocab;
  const ids = be.typedArrayFromHeap(outTokens) as Int32Array;
  ids.set(be.typedArrayFromHeap(tokens) as Int32Array);
  const finished = be.typedArrayFromHeap(outDone) as Uint8Array;
  finished.set(be.typedArrayFromHeap(done) as Uint8Array);
  for (let b = 0; b < batch; b++) {
    // argMax keeps the first of equal maxima, as tfjs's does.
    let best = Math.fround(x[b * vocab] + g[noiseAt + b * vocab]);
    let chosen = 0;
    for (let v = 1; v < vocab; v++) {
      const score = Math.fround(x[b * vocab + v] + g[noiseAt + b * vocab + v]);
      if (score > best) {
        best = score;
        chosen = v;
      }
    }
    if (finished[b]) chosen = a.pad;
    ids[b * time + a.position] = chosen;
    if (chosen === a.eos) finished[b] = 1;
  }
  sampleStepStats.runs++;
  return [outTokens, outDone];
}

let registered = false;

/** Registers the kernel for the wasm backend. */
export function registerWasmSampleKernel(): void {
  if (registered || !tf.findBackend('wasm')) return;
  registered = true;
  tf.registerKernel({
    kernelName: SAMPLE_STEP_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) =>
      sampleStep(
        backend as unknown as WasmBackend,
        inputs as unknown as Record<string, TensorInfo>,
        attrs as unknown as SampleStepAttrs,
      ) as tf.TensorInfo[],
  });
}

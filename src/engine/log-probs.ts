// The policy's log-probabilities of the tokens a buffer holds, and its entropy, at each decision position.
// Shared by the rollout (old and reference log-probs) and the losses (current log-probs), so neither
// imports the other.
import {
  hasWebgpuFused,
  LOG_SOFTMAX_GRAD_KERNEL,
  LOG_SOFTMAX_KERNEL,
  PICK_GRAD_KERNEL,
  PICK_KERNEL,
} from './kernels/webgpu-fused-ops';
import { tf, type Tensor, type Tensor2D, type Tensor3D } from './tf';
import { PAD } from './tokens';

const runKernel = (name: string, inputs: Record<string, Tensor>, attrs: Record<string, number> = {}) =>
  (tf.engine().runKernel(name, inputs, attrs) as unknown as Tensor[])[0];

// On WebGPU's software adapter (kernels/webgpu-fused.ts) the log-softmax and the chosen token's
// log-probability are one program each way, with the gradients tfjs's composites would compute.
tf.registerGradient({
  kernelName: LOG_SOFTMAX_KERNEL,
  outputsToSave: [true],
  gradFunc: (dy, [value]) => ({ logits: () => runKernel(LOG_SOFTMAX_GRAD_KERNEL, { dy: dy as Tensor, value }) }),
});
tf.registerGradient({
  kernelName: PICK_KERNEL,
  inputsToSave: ['next'],
  gradFunc: (dy, [next], attrs) => ({
    logSoftmax: () => runKernel(PICK_GRAD_KERNEL, { dy: dy as Tensor, next }, { width: attrs.width as number }),
    next: () => tf.zerosLike(next),
  }),
});

/** next[b, t] = tokens[b, t + 1], the token chosen at decision position t (<pad> after the end). */
export function nextTokens(tokens: Tensor2D): Tensor2D {
  const [batch, time] = tokens.shape;
  return tf.concat([tf.slice(tokens, [0, 1], [batch, time - 1]), tf.fill([batch, 1], PAD, 'int32')], 1) as Tensor2D;
}

/** log π(next token | prefix) at each position, and the full log-softmax [B, T, V]. */
export function tokenLogProbs(logits: Tensor3D, nextTokens: Tensor2D): { logp: Tensor2D; logSoftmax: Tensor3D } {
  if (hasWebgpuFused('logSoftmax')) {
    const logSoftmax = runKernel(LOG_SOFTMAX_KERNEL, { logits }) as Tensor3D;
    const width = logits.shape[2];
    return { logp: runKernel(PICK_KERNEL, { logSoftmax, next: nextTokens }, { width }) as Tensor2D, logSoftmax };
  }
  const logSoftmax = tf.logSoftmax(logits, -1) as Tensor3D;
  const picked = tf.mul(logSoftmax, tf.oneHot(nextTokens, logits.shape[2]));
  return { logp: tf.sum(picked, -1) as Tensor2D, logSoftmax };
}

/** Per-position entropy −Σ p log p of the full next-token distribution, in nats. */
export function entropy(logSoftmax: Tensor3D): Tensor2D {
  return tf.neg(tf.sum(tf.mul(tf.exp(logSoftmax), logSoftmax), -1)) as Tensor2D;
}

// Loss terms shared by the algorithms, on tensors of shape [batch, time]: the current policy's log-probs
// or values, and the batch's targets, where `batch.mask` marks the positions whose next token was an
// action. Means are over action tokens only; masking uses tf.where so an infinite value at a masked
// position cannot leak in as NaN.
import { tf, type Scalar, type Tensor } from '../tf';
import type { Config } from '../config';
import type { BatchTensors, EpisodeBatch } from './common';
import { klInReward } from './specs';

// Re-exported for sft.ts, which imports them from here; the rollout and the algorithms use log-probs.ts.

/** The parts of a batch a loss reads: the action mask, its count and the named targets. */
type BatchOf<K extends keyof BatchTensors> = Pick<BatchTensors, K | 'mask' | 'count'>;

/** mean of x over positions where mask is true; `count` = number of true positions (known on the CPU). */
export function maskedMean(x: Tensor, mask: Tensor, count: number): Scalar {
  return tf.div(tf.sum(tf.where(mask, x, tf.zerosLike(x))), Math.max(count, 1)) as Scalar;
}

/** Sum of scalar terms by chained adds (tfjs-backend-webgpu 4.22's addN drops inputs beyond 5). */
export function sumOf(...terms: Tensor[]): Scalar {
  return terms.reduce((total, term) => tf.add(total, term)) as Scalar;
}

/** Vanilla policy gradient: −mean(A_t · log π(a_t)). */
export function policyGradientLoss(logp: Tensor, batch: BatchOf<'advantages'>): Scalar {
  return tf.neg(maskedMean(tf.mul(batch.advantages, logp), batch.mask, batch.count)) as Scalar;
}

export interface SurrogateTerms {
  loss: Scalar;
  /** Fraction of action tokens whose ratio left [1−ε, 1+ε]. */
  clipfrac: Scalar;
  /** k3 estimate of KL(old ‖ new) per token. */
  approxKl: Scalar;
  /** Per token [rows, T]: the ratio, 1 where it left [1−ε, 1+ε], and max(−A·r, −A·clip(r)). */
  ratio: Tensor;
  outside: Tensor;
  objective: Tensor;
}

/** PPO: L = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε))), ratio = exp(logp − old). */
export function clippedSurrogate(
  logp: Tensor,
  batch: BatchOf<'oldLogp' | 'advantages'>,
  epsilon: number,
): SurrogateTerms {
  const { oldLogp, advantages, mask, count } = batch;
  // Zero at masked positions before exp: exp's gradient there would be 0·∞ = NaN on an overflow.
  const logRatio = tf.where(mask, tf.sub(logp, oldLogp), tf.zerosLike(logp));
  const ratio = tf.exp(logRatio);
  const unclipped = tf.mul(tf.neg(advantages), ratio);
  const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - epsilon, 1 + epsilon));
  const objective = tf.maximum(unclipped, clipped);
  const loss = maskedMean(objective, mask, count);
  // Diagnostics only: no gradient flows through these.
  const outside = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), epsilon), 'float32');
  const approxKl = tf.sub(tf.sub(ratio, 1), logRatio); // k3 = (r − 1) − log r
  return {
    loss,
    clipfrac: maskedMean(outside, mask, count),
    approxKl: maskedMean(approxKl, mask, count),
    ratio,
    outside,
    objective,
  };
}

/** Critic regression per token: 0.5·(V − R)². */
export function valueLossPerToken(values: Tensor, batch: Pick<BatchTensors, 'returns'>): Tensor {
  return tf.mul(0.5, tf.square(tf.sub(values, batch.returns)));
}

/** Critic regression: 0.5·mean((V − R)²). */
export function valueLoss(values: Tensor, batch: BatchOf<'returns'>): Scalar {
  return maskedMean(valueLossPerToken(values, batch), batch.mask, batch.count);
}

/**
 * PPO value clipping: V_clip = V_old + clip(V − V_old, −ε_v, ε_v);
 * L_v = 0.5·mean(max((V − R)², (V_clip − R)²)). ε_v = 0 turns clipping off.
 */
export function clippedValueLoss(
  values: Tensor,
  batch: BatchOf<'oldValues' | 'returns'>,
  epsilon: number,
): { loss: Scalar; clipfrac: Scalar; perToken: Tensor } {
  if (epsilon <= 0) {
    const perToken = valueLossPerToken(values, batch);
    return { loss: maskedMean(perToken, batch.mask, batch.count), clipfrac: tf.scalar(0), perToken };
  }
  const { oldValues, returns, mask, count } = batch;
  const delta = tf.sub(values, oldValues);
  const clippedValues = tf.add(oldValues, tf.clipByValue(delta, -epsilon, epsilon));
  const worst = tf.maximum(tf.square(tf.sub(values, returns)), tf.square(tf.sub(clippedValues, returns)));
  const outside = tf.cast(tf.greater(tf.abs(delta), epsilon), 'float32');
  const perToken = tf.mul(0.5, worst);
  return { loss: maskedMean(perToken, mask, count), clipfrac: maskedMean(outside, mask, count), perToken };
}

/**
 * Bradley–Terry preference loss on reward scores of chosen and rejected responses [n]:
 * mean(−log σ(r_c − r_r)) = mean(softplus(r_r − r_c)); accuracy = share of pairs with r_c > r_r.
 */
export function bradleyTerry(chosen: Tensor, rejected: Tensor): { loss: Scalar; accuracy: Scalar } {
  const margin = tf.sub(chosen, rejected);
  return {
    loss: tf.mean(tf.softplus(tf.neg(margin))) as Scalar,
    accuracy: tf.mean(tf.cast(tf.greater(margin, 0), 'float32')) as Scalar,
  };
}

/** Whether β·KL belongs in this run's loss (the klIn setting; see specs.ts). */
export function klInLoss(config: Pick<Config, 'algorithm' | 'klIn'>): boolean {
  return !klInReward(config);
}

/**
 * The KL to the reference as a loss term, for runs whose KL is in the loss (klIn): β·mean over action
 * tokens of k3 = π_ref/π − log(π_ref/π) − 1 on the current policy (Schulman 2020; GRPO's eq. 4). Empty
 * when the KL is in the reward or β = 0, so it costs no kernels then. GRPO aggregates its own.
 */
export function klLossTerms(
  config: Pick<Config, 'algorithm' | 'klIn'>,
  beta: number,
  logp: Tensor,
  batch: Pick<EpisodeBatch, 'refLogp' | 'mask' | 'count'>,
): Scalar[] {
  if (beta <= 0 || !klInLoss(config)) return [];
  return [tf.mul(beta, maskedMean(k3ToReference(logp, batch), batch.mask, batch.count)) as Scalar];
}

/** Per token, k3 = π_ref/π − log(π_ref/π) − 1 on the current policy (0 at masked positions). */
export function k3ToReference(logp: Tensor, batch: Pick<EpisodeBatch, 'refLogp' | 'mask'>): Tensor {
  const refLogRatio = tf.where(batch.mask, tf.sub(batch.refLogp, logp), tf.zerosLike(logp));
  return tf.sub(tf.sub(tf.exp(refLogRatio), refLogRatio), 1);
}

/** The per-token k3 when this run's KL is in the loss (for an explained update), else undefined. */
export function klLossPerToken(
  config: Pick<Config, 'algorithm' | 'klIn'>,
  beta: number,
  logp: Tensor,
  batch: Pick<EpisodeBatch, 'refLogp' | 'mask'>,
): Tensor | undefined {
  return beta > 0 && klInLoss(config) ? k3ToReference(logp, batch) : undefined;
}

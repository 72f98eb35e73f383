// Proximal policy optimisation (Schulman et al. 2017), as in CleanRL's ppo.py and TRL:
//   advantages: GAE(γ, λ) from rollout-time values, whitened over the batch; returns R = A + V_old
//   for each epoch, for each shuffled minibatch:
//     ratio  = exp(log π(a) − log π_old(a))
//     L_clip = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)))
//     V_clip = V_old + clip(V − V_old, −ε_v, ε_v);  L_v = 0.5·mean(max((V−R)², (V_clip−R)²))
//     loss   = L_clip + c_v·L_v − c_e·H;  clip the gradient norm; Adam step
//   optional early stop when approx-KL > 1.5 · targetKl
import { gae } from '../advantages';
import { whitenAcrossBatch } from '../episodes';
import { Random } from '../random';
import { tf } from '../tf';
import {
  batchTensors,
  disposeBatch,
  entropyBonus,
  evaluate,
  optimizerStep,
  type Algorithm,
  type BatchTensors,
  type UpdateContext,
} from './common';
import { clippedSurrogate, clippedValueLoss, sumOf } from './losses';

export const ppo: Algorithm = {
  computeAdvantages(episodes, config) {
    // Advantages from rollout-time values (GAE); value targets R = A + V_old, before whitening.
    for (const e of episodes) Object.assign(e, gae(e.rewards, e.values, config.gamma, config.lambda));
    // Whitening: the same scale of update whatever the reward's scale.
    if (config.whitenAdvantages) whitenAcrossBatch(episodes);
  },

  async update(ctx, rollout, episodes) {
    const { epochs, minibatches, targetKl } = ctx.config;
    const rng = new Random(ctx.shuffleSeed);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const epochKl: tf.Scalar[] = [];
      for (const rows of minibatchRows(episodes.length, minibatches, rng)) {
        const batch = batchTensors(
          rollout,
          rows.map((i) => episodes[i]),
        );
        optimizerStep(ctx, () => {
          const loss = ppoLoss(ctx, batch);
          if (targetKl > 0) epochKl.push(tf.keep(tf.clone(loss.report['policy/approx_kl'])));
          return loss;
        });
        disposeBatch(batch);
      }
      // Early stopping costs one extra read-back per epoch, so it is only checked when enabled.
      if (targetKl > 0) {
        const klTensor = tf.tidy(() => tf.mean(tf.stack(epochKl)));
        const kl = (await klTensor.data())[0];
        tf.dispose([klTensor, ...epochKl]);
        if (kl > 1.5 * targetKl) break;
      }
    }
  },
};

/**
 * One epoch's minibatches: a fresh shuffle of the episode indices 0…n−1 (drawn from `rng`, so each
 * epoch differs), cut into exactly `minibatches` consecutive slices whose sizes differ by at most one
 * (slice i is [⌊i·n/m⌋, ⌊(i+1)·n/m⌋)), so the setting is the number of optimizer steps per epoch.
 */
export function minibatchRows(n: number, minibatches: number, rng: Random): number[][] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const m = Math.max(1, Math.min(minibatches, n));
  return Array.from({ length: m }, (_, i) => order.slice(Math.floor((i * n) / m), Math.floor(((i + 1) * n) / m)));
}

/** PPO's loss on one minibatch with the current weights: the total and the terms reported as metrics. */
export function ppoLoss(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape'>,
  batch: BatchTensors,
): { total: tf.Scalar; report: Record<string, tf.Scalar> } {
  const { clipEpsilon, valueClip, valueCoef, entropyCoef } = ctx.config;
  const { logp, values, logSoftmax } = evaluate(ctx, batch);
  const surrogate = clippedSurrogate(logp, batch.oldLogp, batch.advantages, batch.mask, batch.count, clipEpsilon);
  const critic = clippedValueLoss(values, batch.oldValues, batch.returns, batch.mask, batch.count, valueClip);
  const total = sumOf(surrogate.loss, tf.mul(valueCoef, critic.loss), ...entropyBonus(entropyCoef, logSoftmax, batch));
  return {
    total,
    report: {
      'loss/policy': surrogate.loss,
      'loss/value': critic.loss,
      'policy/clipfrac': surrogate.clipfrac,
      'policy/approx_kl': surrogate.approxKl,
      'value/clipfrac': critic.clipfrac,
    },
  };
}

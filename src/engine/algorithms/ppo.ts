// Proximal policy optimisation; update() reads like Spinning Up's ppo.py update(). Sources per rule:
//   advantages: GAE(γ, λ) from rollout-time values (Schulman et al. 2016), whitened over the whole
//     batch; value targets R = A + V_old
//   for each epoch, for each shuffled minibatch, one Adam step (gradient norm clipped) on
//     ratio  = exp(log π(a) − log π_old(a))
//     L_clip = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)))      (Schulman et al. 2017; CleanRL ppo.py)
//     V_clip = V_old + clip(V − V_old, −ε_v, ε_v)                 (CleanRL ppo.py, after OpenAI
//     L_v    = 0.5·mean(max((V − R)², (V_clip − R)²))              Baselines' ppo2; not in the paper)
//     loss   = L_clip + c_v·L_v − c_e·H                            (Schulman et al. 2017, eq. 9)
//   early stop: no more epochs once the epoch's mean approx-KL > 1.5 · targetKl. The 1.5 × rule is
//     OpenAI Spinning Up's ppo.py (there, before each full-batch step); CleanRL's ppo.py instead
//     compares the last minibatch's KL with 1 × target_kl.
import { ALGORITHM_SPECS } from './specs';
import { gae } from '../advantages';
import { whitenAcrossBatch, type Episode } from '../episodes';
import { Random } from '../random';
import type { Rollout } from '../rollout';
import { tf } from '../tf';
import { entropy } from '../log-probs';
import { fusedTokenLoss } from './fused-loss';
import {
  EpochKl,
  entropyBonus,
  evaluate,
  explaining,
  klBetaInLoss,
  logitsAndValues,
  shuffledMinibatches,
  stepOnBatch,
  type Algorithm,
  type EpisodeBatch,
  type Loss,
  type UpdateContext,
} from './common';
import { clippedSurrogate, clippedValueLoss, klLossPerToken, klLossTerms, sumOf } from './losses';

export const ppo: Algorithm = {
  spec: ALGORITHM_SPECS['ppo'],

  computeAdvantages(episodes, config) {
    // Advantages from rollout-time values (GAE); value targets R = A + V_old, before whitening.
    for (const e of episodes) Object.assign(e, gae(e.rewards, e.values, config.gamma, config.lambda));
    // Whitening: the same scale of update whatever the reward's scale.
    if (config.whitenAdvantages) whitenAcrossBatch(episodes);
  },

  update: (ctx, rollout, episodes) => clippedEpochs(ctx, rollout, episodes, (batch) => ppoLoss(ctx, batch)),
};

/**
 * PPO's optimisation loop, shared with GRPO: for each epoch, one optimizer step on `loss` per shuffled
 * minibatch; then stop early once the epoch's mean approx-KL passes 1.5 × targetKl.
 */
export async function clippedEpochs(
  ctx: UpdateContext,
  rollout: Rollout,
  episodes: Episode[],
  loss: (batch: EpisodeBatch) => Loss,
): Promise<void> {
  const { epochs, minibatches, targetKl } = ctx.config;
  const rng = new Random(ctx.shuffleSeed);
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (ctx.explain) ctx.explain.epoch = epoch;
    const kl = new EpochKl(targetKl > 0);
    for (const minibatch of shuffledMinibatches(episodes, minibatches, rng)) {
      stepOnBatch(ctx, rollout, minibatch, (batch) => kl.watch(loss(batch)));
    }
    if (targetKl > 0 && (await kl.read()) > 1.5 * targetKl) break;
  }
}

/**
 * PPO's loss on one minibatch with the current weights: the total and the terms reported as metrics,
 * as one fused op (fused-loss.ts); `ppoLossByAutodiff` is the same loss through tfjs's autodiff.
 */
export function ppoLoss(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape' | 'beta' | 'explain'>,
  batch: EpisodeBatch,
): Loss {
  const { clipEpsilon, valueClip, valueCoef, entropyCoef } = ctx.config;
  const { logits, values } = logitsAndValues(ctx, batch);
  return fusedTokenLoss(logits, values, batch, {
    policy: 'clipped',
    critic: true,
    clipEpsilon,
    valueCoef,
    valueClip,
    entropyCoef,
    klBeta: klBetaInLoss(ctx),
    tokens: ctx.explain !== undefined,
  });
}

/** PPO's loss written with tfjs ops and autodiff: the reference test/fused-loss.test.ts checks ppoLoss against. */
export function ppoLossByAutodiff(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape' | 'beta' | 'explain'>,
  batch: EpisodeBatch,
) {
  const { clipEpsilon, valueClip, valueCoef, entropyCoef } = ctx.config;
  const { logp, values, logSoftmax } = evaluate(ctx, batch);
  const surrogate = clippedSurrogate(logp, batch, clipEpsilon);
  const critic = clippedValueLoss(values, batch, valueClip);
  const total = sumOf(
    surrogate.loss,
    tf.mul(valueCoef, critic.loss),
    ...klLossTerms(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    ...entropyBonus(entropyCoef, logSoftmax, batch),
  );
  return {
    total,
    report: {
      'loss/policy': surrogate.loss,
      'loss/value': critic.loss,
      'policy/clipfrac': surrogate.clipfrac,
      'policy/approx_kl': surrogate.approxKl,
      'value/clipfrac': critic.clipfrac,
    },
    tokens: explaining(ctx, () => ({
      ratio: surrogate.ratio,
      clipped: surrogate.outside,
      objective: surrogate.objective,
      value: values,
      valueLoss: critic.perToken,
      entropy: entropy(logSoftmax),
      klLoss: klLossPerToken(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    })),
  } satisfies Loss;
}

// Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath §4.1), outcome supervision.
// Sources per rule:
//   groups: G responses o_1…o_G sampled for each prompt (the groupSize setting)      (§4.1.1, eq. 3)
//   reward: r_i = the task's score of response i (normalised with rewardNorm); the KL is NOT in the reward
//     (with klIn = reward it is: r_i − β·Σ_t KL_t, and the loss has no KL term)        (§4.1.1: "instead of
//     adding KL penalty in the reward, GRPO regularizes by directly adding the KL divergence ... to the loss")
//   advantage on every action token of response i:                                   (§4.1.2)
//     Â_i = (r_i − mean(r_group)) / (std(r_group) + ε)   (unbiased std, ε = 1e-4 as TRL's GRPOTrainer)
//     stdNorm off: Â_i = r_i − mean(r_group)                                          (Dr. GRPO, Liu et al. 2025)
//   no critic: the group's mean is the baseline
//   per token, with ratio = exp(log π(a) − log π_old(a)):                             (eq. 3; PPO's clip)
//     ℓ_t = max(−Â·ratio, −Â·clip(ratio, 1−ε_low, 1+ε_high)) + β·k3_t
//     ε_low = clipEpsilon; ε_high = clipEpsilonHigh, or clipEpsilon when that is 0     (DAPO, Yu et al. 2025:
//       a higher ε_high = 0.28 lets a low-probability token still rise: "clip-higher")
//     k3_t = π_ref/π − log(π_ref/π) − 1, per token on the current policy              (eq. 4; Schulman 2020)
//   ratioLevel sequence: one ratio per response, s_i = exp(mean_t(log π − log π_old)) over its action
//     tokens, clipped once per response; every token of response i carries the same ℓ  (GSPO, Zheng et al. 2025)
//   aggregation (lossAgg):
//     response: (1/G) Σ_i (1/|o_i|) Σ_t ℓ_t, the mean over a response's own length, then over responses (eq. 3)
//     token:    Σ_i Σ_t ℓ_t / Σ_i |o_i|, every token of the batch counts once           (DAPO; BNPO)
//     constant: (1/G) Σ_i (1/maxNewTokens) Σ_t ℓ_t, so a long wrong response is not
//       penalised less per token than a short one                                     (Dr. GRPO, Liu et al. 2025)
//   − c_e·H: the playground's entropy bonus, as for the other algorithms (not in the paper)
//   several epochs of shuffled minibatches with PPO's early stop on approx-KL            (§4.1.1 "μ", as ppo.ts)
// Dr. GRPO = GRPO with lossAgg constant and stdNorm off.
import { ALGORITHM_SPECS } from './specs';
import { groupAdvantages } from '../advantages';
import { byGroup } from '../episodes';
import { tf, type Scalar, type Tensor } from '../tf';
import { entropy } from '../log-probs';
import { fusedTokenLoss } from './fused-loss';
import {
  entropyBonus,
  evaluate,
  explaining,
  logitsAndValues,
  type Algorithm,
  type EpisodeBatch,
  type Loss,
  type UpdateContext,
} from './common';
import { k3ToReference, klInLoss, maskedMean, sumOf } from './losses';
import { clippedEpochs } from './ppo';

export const grpo: Algorithm = {
  spec: ALGORITHM_SPECS['grpo'],

  computeAdvantages(episodes, config) {
    // 1. Each group's rewards → one advantage per response, on all of its action tokens. A response's
    //    reward is its summed token rewards: the outcome alone, or minus β·KL when klIn puts the KL there.
    for (const group of byGroup(episodes, config.groupSize)) {
      const rewards = group.map((e) => e.rewards.reduce((a, b) => a + b, 0));
      const advantages = groupAdvantages(rewards, config.stdNorm);
      group.forEach((e, i) => {
        e.advantages = e.positions.map(() => advantages[i]);
        e.returns = e.positions.map(() => rewards[i]);
      });
    }
  },

  // 2. As PPO: epochs of shuffled minibatches, stopping early once approx-KL passes 1.5 × target.
  update: (ctx, rollout, episodes) => clippedEpochs(ctx, rollout, episodes, (batch) => grpoLoss(ctx, batch)),
};

/**
 * GRPO's loss on one minibatch with the current weights: the total and the terms reported as metrics.
 * With one ratio per token it is the fused op of fused-loss.ts, weighted by the loss aggregation; GSPO's
 * one ratio per response couples a response's tokens, so it goes through autodiff (`grpoLossByAutodiff`).
 */
export function grpoLoss(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape' | 'beta' | 'explain'>,
  batch: EpisodeBatch,
): Loss {
  const { clipEpsilon, clipEpsilonHigh, entropyCoef, lossAgg, maxNewTokens, ratioLevel } = ctx.config;
  if (ratioLevel === 'sequence') return grpoLossByAutodiff(ctx, batch);
  const { logits, values } = logitsAndValues(ctx, batch);
  const rows = batch.tokens.shape[0];
  const weights =
    lossAgg === 'response'
      ? tf.div(1 / rows, tf.maximum(tf.sum(tf.cast(batch.mask, 'float32'), 1, true), 1))
      : tf.scalar(lossAgg === 'token' ? 1 / Math.max(batch.count, 1) : 1 / (rows * maxNewTokens));
  return fusedTokenLoss(logits, values, batch, {
    policy: 'clipped',
    critic: false,
    clipEpsilon,
    clipEpsilonHigh: clipEpsilonHigh > 0 ? clipEpsilonHigh : clipEpsilon,
    weights,
    valueCoef: 0,
    valueClip: 0,
    entropyCoef,
    klBeta: klInLoss(ctx.config) ? (ctx.beta ?? ctx.config.beta) : 0,
    tokens: ctx.explain !== undefined,
  });
}

/** GRPO's loss written with tfjs ops and autodiff: GSPO's sequence ratio, and the reference test/fused-loss.test.ts checks grpoLoss against. */
export function grpoLossByAutodiff(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape' | 'beta' | 'explain'>,
  batch: EpisodeBatch,
): Loss {
  const { clipEpsilon, clipEpsilonHigh, entropyCoef, lossAgg, maxNewTokens, ratioLevel } = ctx.config;
  const beta = ctx.beta ?? ctx.config.beta;
  const { mask, count, advantages, oldLogp, refLogp } = batch;
  const { logp, logSoftmax } = evaluate(ctx, batch);
  const rows = batch.tokens.shape[0];
  const lengths = tf.maximum(tf.sum(tf.cast(mask, 'float32'), 1, true), 1); // |o_i|, [rows, 1]

  // The weight of each token in the aggregate (see the header), then Σ weight·ℓ over action tokens.
  const weights =
    lossAgg === 'response'
      ? tf.div(1 / rows, lengths)
      : lossAgg === 'token'
        ? tf.fill([rows, 1], 1 / Math.max(count, 1))
        : tf.fill([rows, 1], 1 / (rows * maxNewTokens));
  const aggregate = (perToken: Tensor): Scalar =>
    tf.sum(tf.where(mask, tf.mul(perToken, weights), tf.zerosLike(perToken))) as Scalar;

  // The importance ratio per token, or one per response (GSPO). Masked positions are zeroed before
  // exp (0·∞ = NaN otherwise).
  const tokenLogRatio = tf.where(mask, tf.sub(logp, oldLogp), tf.zerosLike(logp));
  const logRatio =
    ratioLevel === 'sequence'
      ? tf.where(mask, tf.mul(tf.div(tf.sum(tokenLogRatio, 1, true), lengths), tf.onesLike(logp)), tf.zerosLike(logp))
      : tokenLogRatio;
  const ratio = tf.exp(logRatio);
  const high = clipEpsilonHigh > 0 ? clipEpsilonHigh : clipEpsilon;
  const clipped = tf.clipByValue(ratio, 1 - clipEpsilon, 1 + high);
  const surrogate = tf.maximum(tf.mul(tf.neg(advantages), ratio), tf.mul(tf.neg(advantages), clipped));
  const policyLoss = aggregate(surrogate);

  // β·k3 to the reference in the loss, on the current policy so its gradient pulls towards π_ref.
  // At β = 0 (TRL's default since 2025), or with the KL in the reward instead (klIn), it is left out.
  const klTerms: Scalar[] = [];
  const k3 = beta > 0 && klInLoss(ctx.config) ? k3ToReference(logp, { refLogp, mask }) : undefined;
  if (k3) klTerms.push(tf.mul(beta, aggregate(k3)) as Scalar);

  const total = sumOf(policyLoss, ...klTerms, ...entropyBonus(entropyCoef, logSoftmax, batch));
  // Diagnostics as PPO's: no gradient flows through these. Per token, the true per-token ratio.
  const outside = tf.cast(tf.logicalOr(tf.less(ratio, 1 - clipEpsilon), tf.greater(ratio, 1 + high)), 'float32');
  const approxKl = tf.sub(tf.sub(tf.exp(tokenLogRatio), 1), tokenLogRatio);
  return {
    total,
    report: {
      'loss/policy': policyLoss,
      'policy/clipfrac': maskedMean(outside, mask, count),
      'policy/approx_kl': maskedMean(approxKl, mask, count),
    },
    tokens: explaining(ctx, () => ({
      ratio,
      clipped: outside,
      objective: surrogate,
      entropy: entropy(logSoftmax),
      klLoss: k3,
    })),
  };
}

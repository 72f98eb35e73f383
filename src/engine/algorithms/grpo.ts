// Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath §4.1), outcome supervision.
// Sources per rule:
//   groups: G responses o_1…o_G sampled for each prompt (the groupSize setting)      (§4.1.1, eq. 3)
//   reward: r_i = the task's score of response i; the KL is NOT in the reward        (§4.1.1: "instead of
//     adding KL penalty in the reward, GRPO regularizes by directly adding the KL divergence ... to the loss")
//   advantage on every action token of response i:                                   (§4.1.2)
//     Â_i = (r_i − mean(r_group)) / (std(r_group) + ε)   (unbiased std, ε = 1e-4 as TRL's GRPOTrainer)
//     stdNorm off: Â_i = r_i − mean(r_group)                                          (Dr. GRPO, Liu et al. 2025)
//   no critic: the group's mean is the baseline
//   per token, with ratio = exp(log π(a) − log π_old(a)):                             (eq. 3; PPO's clip)
//     ℓ_t = max(−Â·ratio, −Â·clip(ratio, 1−ε, 1+ε)) + β·k3_t
//     k3_t = π_ref/π − log(π_ref/π) − 1, per token on the current policy              (eq. 4; Schulman 2020)
//   aggregation: (1/G) Σ_i (1/|o_i|) Σ_t ℓ_t, the mean over a response's own length,   (eq. 3)
//     then over responses; lengthNorm off: (1/G) Σ_i (1/maxNewTokens) Σ_t ℓ_t, a constant in place
//     of |o_i|, so a long wrong response is not penalised less per token            (Dr. GRPO, Liu et al. 2025)
//   − c_e·H: the playground's entropy bonus, as for the other algorithms (not in the paper)
//   several epochs of shuffled minibatches with PPO's early stop on approx-KL            (§4.1.1 "μ", as ppo.ts)
// Dr. GRPO = GRPO with lengthNorm and stdNorm both off.
import { ALGORITHM_SPECS } from './specs';
import { groupAdvantages } from '../advantages';
import { byGroup } from '../episodes';
import { tf, type Scalar, type Tensor } from '../tf';
import { entropyBonus, evaluate, type Algorithm, type EpisodeBatch, type Loss, type UpdateContext } from './common';
import { maskedMean, sumOf } from './losses';
import { clippedEpochs } from './ppo';

export const grpo: Algorithm = {
  spec: ALGORITHM_SPECS['grpo'],

  computeAdvantages(episodes, config) {
    // 1. Each group's outcome rewards → one advantage per response, on all of its action tokens.
    for (const group of byGroup(episodes, config.groupSize)) {
      const advantages = groupAdvantages(
        group.map((e) => e.score),
        config.stdNorm,
      );
      group.forEach((e, i) => {
        e.advantages = e.positions.map(() => advantages[i]);
        e.returns = e.positions.map(() => e.score);
      });
    }
  },

  // 2. As PPO: epochs of shuffled minibatches, stopping early once approx-KL passes 1.5 × target.
  update: (ctx, rollout, episodes) => clippedEpochs(ctx, rollout, episodes, (batch) => grpoLoss(ctx, batch)),
};

/** GRPO's loss on one minibatch with the current weights: the total and the terms reported as metrics. */
export function grpoLoss(ctx: Pick<UpdateContext, 'config' | 'params' | 'shape' | 'beta'>, batch: EpisodeBatch): Loss {
  const { clipEpsilon, entropyCoef, lengthNorm, maxNewTokens } = ctx.config;
  const beta = ctx.beta ?? ctx.config.beta;
  const { mask, count, advantages, oldLogp, refLogp } = batch;
  const { logp, logSoftmax } = evaluate(ctx, batch);

  // Per response: 1/|o_i| (its own action tokens) or, as Dr. GRPO, 1/maxNewTokens; then 1/G over rows.
  const rows = batch.tokens.shape[0];
  const weights = lengthNorm
    ? tf.div(1, tf.maximum(tf.sum(tf.cast(mask, 'float32'), 1, true), 1))
    : tf.fill([rows, 1], 1 / maxNewTokens);
  const aggregate = (perToken: Tensor): Scalar =>
    tf.div(tf.sum(tf.where(mask, tf.mul(perToken, weights), tf.zerosLike(perToken))), rows) as Scalar;

  // PPO's clipped surrogate per token. Masked positions are zeroed before exp (0·∞ = NaN otherwise).
  const logRatio = tf.where(mask, tf.sub(logp, oldLogp), tf.zerosLike(logp));
  const ratio = tf.exp(logRatio);
  const clipped = tf.clipByValue(ratio, 1 - clipEpsilon, 1 + clipEpsilon);
  const surrogate = tf.maximum(tf.mul(tf.neg(advantages), ratio), tf.mul(tf.neg(advantages), clipped));
  const policyLoss = aggregate(surrogate);

  // β·k3 to the reference in the loss, on the current policy so its gradient pulls towards π_ref.
  // At β = 0 (TRL's default since 2025) the term and its kernels are left out.
  const klTerms: Scalar[] = [];
  if (beta > 0) {
    const refLogRatio = tf.where(mask, tf.sub(refLogp, logp), tf.zerosLike(logp));
    const k3 = tf.sub(tf.sub(tf.exp(refLogRatio), refLogRatio), 1);
    klTerms.push(tf.mul(beta, aggregate(k3)) as Scalar);
  }

  const total = sumOf(policyLoss, ...klTerms, ...entropyBonus(entropyCoef, logSoftmax, batch));
  // Diagnostics as PPO's: no gradient flows through these.
  const outside = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), clipEpsilon), 'float32');
  const approxKl = tf.sub(tf.sub(ratio, 1), logRatio);
  return {
    total,
    report: {
      'loss/policy': policyLoss,
      'policy/clipfrac': maskedMean(outside, mask, count),
      'policy/approx_kl': maskedMean(approxKl, mask, count),
    },
  };
}

// REINFORCE (Williams 1992), Monte-Carlo policy gradient, one optimizer step per batch:
//   G_t = Σ_{k≥t} γ^(k−t) r_k          (reward-to-go, per-token KL penalty included)
//   A_t = G_t − b                        (b: none | moving average of returns | batch mean)
//   A_t ← A_t / std(A)                   (optional whitening: scale only, over the batch's action tokens)
//   loss = −mean_t(A_t · log π(a_t))     (+ optional entropy bonus)
// Whitening here never subtracts the batch mean: that would erase every constant baseline and make
// none, batch-mean and moving-average the same update. The baseline alone centres the advantages.
import { ALGORITHM_SPECS } from './specs';
import { discountedReturns, mean } from '../advantages';
import { scaleAcrossBatch } from '../episodes';
import { entropy } from '../log-probs';
import { tf } from '../tf';
import {
  entropyBonus,
  evaluate,
  explaining,
  stepOnBatch,
  type Algorithm,
  type EpisodeBatch,
  type Loss,
  type UpdateContext,
} from './common';
import { policyGradientFusedLoss } from './fused-loss';
import { klLossPerToken, klLossTerms, policyGradientLoss, sumOf } from './losses';

/** How fast the moving-average baseline follows the batch's mean return. */
const MOVING_AVERAGE_RATE = 0.1;

export const reinforce: Algorithm = {
  spec: ALGORITHM_SPECS['reinforce'],
  // One step on the whole batch at the sampling weights: the rollout's recorded pass is its forward.
  readsRecordedForward: true,

  computeAdvantages(episodes, config, state) {
    // 1. Reward-to-go for every action token.
    for (const e of episodes) e.returns = discountedReturns(e.rewards, config.gamma);
    const batchMeanReturn = mean(episodes.flatMap((e) => e.returns));

    // 2. The baseline: a number that does not depend on the action, so the gradient stays unbiased.
    let baseline = 0;
    if (config.baseline === 'batch-mean') baseline = batchMeanReturn;
    if (config.baseline === 'moving-average') {
      baseline = state.movingAverageReturn ?? 0;
      const previous = state.movingAverageReturn ?? batchMeanReturn;
      state.movingAverageReturn = previous + MOVING_AVERAGE_RATE * (batchMeanReturn - previous);
    }
    for (const e of episodes) e.advantages = e.returns.map((g) => g - baseline);

    // 3. Optional whitening across the batch: divide by the std only (the same step size whatever the
    //    reward's scale); centring is the baseline's job.
    if (config.whitenAdvantages) scaleAcrossBatch(episodes);
  },

  async update(ctx, rollout, episodes) {
    // One step on the whole batch.
    stepOnBatch(ctx, rollout, episodes, (batch) => reinforceLoss(ctx, batch));
  },
};

/** −mean(A·log π) (+ β·k3 with the KL in the loss, − c_e·H), as one fused op (fused-loss.ts). */
export function reinforceLoss(ctx: UpdateContext, batch: EpisodeBatch): Loss {
  return policyGradientFusedLoss(ctx, batch, false);
}

/** REINFORCE's loss through tfjs's autodiff: the reference test/fused-loss.test.ts checks the fused one against. */
export function reinforceLossByAutodiff(ctx: UpdateContext, batch: EpisodeBatch): Loss {
  const { logp, logSoftmax } = evaluate(ctx, batch);
  const policyLoss = policyGradientLoss(logp, batch);
  const total = sumOf(
    policyLoss,
    ...klLossTerms(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    ...entropyBonus(ctx.config.entropyCoef, logSoftmax, batch),
  );
  return {
    total,
    report: { 'loss/policy': policyLoss },
    tokens: explaining(ctx, () => ({
      objective: tf.neg(tf.mul(batch.advantages, logp)),
      entropy: entropy(logSoftmax),
      klLoss: klLossPerToken(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    })),
  };
}

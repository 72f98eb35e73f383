// REINFORCE Leave-One-Out (Kool et al. 2019, "Buy 4 REINFORCE samples, get a baseline for free!";
// Ahmadian et al. 2024, "Back to basics", §3.2), one optimizer step per batch:
//   groups: G responses to each prompt (the groupSize setting)
//   R_i = Σ_t r_t, the response's return: its score minus β·KL per token, KL in the reward as for
//     REINFORCE and PPO (Ahmadian et al. treat the whole response as one action; undiscounted)
//   b_i = (Σ_j R_j − R_i) / (G − 1), the mean return of the other G − 1 responses in its group:
//     independent of response i, so the gradient stays unbiased
//   A_i = R_i − b_i                      (optionally whitened over the batch's responses, as TRL's
//                                         RLOOTrainer normalize_advantage)
//   loss = −(1/N) Σ_i A_i · Σ_t log π(a_t | response i)   (the sequence log-prob; + optional entropy bonus)
import { ALGORITHM_SPECS } from './specs';
import { leaveOneOutBaselines, whiten } from '../advantages';
import { byGroup } from '../episodes';
import { tf, type Scalar } from '../tf';
import { entropy } from '../log-probs';
import { entropyBonus, evaluate, explaining, stepOnBatch, type Algorithm } from './common';
import { klLossPerToken, klLossTerms, sumOf } from './losses';

export const rloo: Algorithm = {
  spec: ALGORITHM_SPECS['rloo'],
  // One step on the whole batch at the sampling weights: the rollout's recorded pass is its forward.
  readsRecordedForward: true,

  computeAdvantages(episodes, config) {
    // 1. Each response's return, and its baseline from the rest of its group.
    const advantage = new Map<number, number>();
    for (const group of byGroup(episodes, config.groupSize)) {
      const returns = group.map((e) => e.rewards.reduce((a, b) => a + b, 0));
      const baselines = leaveOneOutBaselines(returns);
      group.forEach((e, i) => {
        advantage.set(e.row, returns[i] - baselines[i]);
        e.returns = e.positions.map(() => returns[i]);
      });
    }
    // 2. Optional whitening over the batch's responses (one number per response, not per token).
    const perResponse = episodes.map((e) => advantage.get(e.row) ?? 0);
    const scaled = config.whitenAdvantages ? whiten(perResponse) : perResponse;
    episodes.forEach((e, i) => (e.advantages = e.positions.map(() => scaled[i])));
  },

  async update(ctx, rollout, episodes) {
    // 3. One step on the whole batch: every action token of response i carries A_i, so the sum over
    //    the batch's tokens of A·log π, divided by the number of responses, is the mean of A_i·log π(o_i).
    stepOnBatch(ctx, rollout, episodes, (batch) => {
      const { logp, logSoftmax } = evaluate(ctx, batch);
      const rows = batch.tokens.shape[0];
      const weighted = tf.mul(batch.advantages, logp);
      const policyLoss = tf.neg(tf.div(tf.sum(tf.where(batch.mask, weighted, tf.zerosLike(weighted))), rows)) as Scalar;
      const total = sumOf(
        policyLoss,
        ...klLossTerms(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
        ...entropyBonus(ctx.config.entropyCoef, logSoftmax, batch),
      );
      return {
        total,
        report: { 'loss/policy': policyLoss },
        // Per token −A·log π; the loss sums these and divides by the number of responses.
        tokens: explaining(ctx, () => ({
          objective: tf.neg(weighted),
          entropy: entropy(logSoftmax),
          klLoss: klLossPerToken(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
        })),
      };
    });
  },
};

// Advantage actor-critic with GAE (Schulman et al. 2016), one optimizer step per batch:
//   δ_t = r_t + γ V(s_{t+1}) − V(s_t)     (V after the last action = 0)
//   A_t = Σ_k (γλ)^k δ_{t+k},  R_t = A_t + V(s_t)
//   loss = −mean(A_t · log π(a_t)) + c_v · 0.5 · mean((V − R)²) − c_e · H
import { gae } from '../advantages';
import { whitenAcrossBatch } from '../episodes';
import { tf } from '../tf';
import { batchTensors, disposeBatch, entropyBonus, evaluate, optimizerStep, type Algorithm } from './common';
import { policyGradientLoss, sumOf, valueLoss } from './losses';

export const actorCritic: Algorithm = {
  computeAdvantages(episodes, config) {
    // 1. GAE from the critic's values at rollout time; the returns become the critic's targets.
    for (const e of episodes) Object.assign(e, gae(e.rewards, e.values, config.gamma, config.lambda));
    // 2. Optional whitening of advantages (returns keep their scale).
    if (config.whitenAdvantages) whitenAcrossBatch(episodes);
  },

  async update(ctx, rollout, episodes) {
    const batch = batchTensors(rollout, episodes);
    const { valueCoef, entropyCoef } = ctx.config;
    optimizerStep(ctx, () => {
      const { logp, values, logSoftmax } = evaluate(ctx, batch);
      const policyLoss = policyGradientLoss(logp, batch.advantages, batch.mask, batch.count);
      const criticLoss = valueLoss(values, batch.returns, batch.mask, batch.count);
      const total = sumOf(
        policyLoss,
        tf.mul(valueCoef, criticLoss),
        ...entropyBonus(entropyCoef, logSoftmax, batch),
      ) as tf.Scalar;
      return { total, report: { 'loss/policy': policyLoss, 'loss/value': criticLoss } };
    });
    disposeBatch(batch);
  },
};

// Advantage actor-critic with GAE (Schulman et al. 2016), one optimizer step per batch:
//   δ_t = r_t + γ V(s_{t+1}) − V(s_t)     (V after the last action = 0)
//   A_t = Σ_k (γλ)^k δ_{t+k},  R_t = A_t + V(s_t)
//   loss = −mean(A_t · log π(a_t)) + c_v · 0.5 · mean((V − R)²) − c_e · H
import { ALGORITHM_SPECS } from './specs';
import { gae } from '../advantages';
import { whitenAcrossBatch } from '../episodes';
import { tf } from '../tf';
import { entropy } from '../log-probs';
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
import { klLossPerToken, klLossTerms, policyGradientLoss, sumOf, valueLoss, valueLossPerToken } from './losses';

export const actorCritic: Algorithm = {
  spec: ALGORITHM_SPECS['actor-critic'],
  // One step on the whole batch at the sampling weights: the rollout's recorded pass is its forward.
  readsRecordedForward: true,

  computeAdvantages(episodes, config) {
    // 1. GAE from the critic's values at rollout time; the returns become the critic's targets.
    for (const e of episodes) Object.assign(e, gae(e.rewards, e.values, config.gamma, config.lambda));
    // 2. Optional whitening of advantages (returns keep their scale).
    if (config.whitenAdvantages) whitenAcrossBatch(episodes);
  },

  async update(ctx, rollout, episodes) {
    // One step on the whole batch: actor and critic share the network, so one loss trains both.
    stepOnBatch(ctx, rollout, episodes, (batch) => actorCriticLoss(ctx, batch));
  },
};

/** −mean(A·log π) + c_v·½mean((V − R)²) (+ β·k3, − c_e·H), as one fused op (fused-loss.ts). */
export function actorCriticLoss(ctx: UpdateContext, batch: EpisodeBatch): Loss {
  return policyGradientFusedLoss(ctx, batch, true);
}

/** Actor-critic's loss through tfjs's autodiff: the reference test/fused-loss.test.ts checks the fused one against. */
export function actorCriticLossByAutodiff(ctx: UpdateContext, batch: EpisodeBatch): Loss {
  const { valueCoef, entropyCoef } = ctx.config;
  const { logp, values, logSoftmax } = evaluate(ctx, batch);
  const policyLoss = policyGradientLoss(logp, batch);
  const criticLoss = valueLoss(values, batch);
  const total = sumOf(
    policyLoss,
    tf.mul(valueCoef, criticLoss),
    ...klLossTerms(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    ...entropyBonus(entropyCoef, logSoftmax, batch),
  );
  return {
    total,
    report: { 'loss/policy': policyLoss, 'loss/value': criticLoss },
    tokens: explaining(ctx, () => ({
      objective: tf.neg(tf.mul(batch.advantages, logp)),
      value: values,
      valueLoss: valueLossPerToken(values, batch),
      entropy: entropy(logSoftmax),
      klLoss: klLossPerToken(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch),
    })),
  };
}

// Trust Region Policy Optimization (Schulman et al. 2015), one policy step per update, laid out as
// OpenAI Spinning Up's trpo.py. Sources per rule:
//   advantages: GAE(γ, λ) from the critic's rollout-time values, whitened over the batch (as ppo.ts)
//   surrogate: L(θ) = mean_t(ratio_t · A_t) + c_e·H, ratio = π_θ(a)/π_old(a)         (eq. 14; our entropy bonus)
//   constraint: KL̄(θ) = mean over action tokens of KL(π_old(·|s) ‖ π_θ(·|s)) ≤ δ     (eq. 12, the maxKl setting)
//   direction: x ≈ (F + 0.1·I)⁻¹ g, g = ∇L at θ_old, F = ∇²KL̄ at θ_old (the Fisher matrix),
//     by 10 conjugate-gradient iterations on Fisher-vector products                  (App. C; damping 0.1)
//   full step: s = sqrt(2δ / xᵀ(F + 0.1·I)x) · x, where the quadratic model of KL̄ equals δ
//   line search: θ = θ_old + 0.8^k·s for k = 0…9; accept the first with KL̄ ≤ δ and a loss −L no
//     higher than at θ_old; if none passes, the policy stays at θ_old                 (Spinning Up)
//   critic: afterwards, epochs × minibatches Adam steps on 0.5·(V − R)², R = A + V_old, applied to the
//     value head's weights only: actor and critic share the trunk, and moving it would move the
//     policy out of the trust region it was just fitted to (Spinning Up uses two networks instead)
// Fisher-vector products: the fused layers (layers.ts) carry hand-written first derivatives, so a
// second backward pass through them is not available. F·v is therefore the central difference of
// the KL gradient along v: F·v ≈ (∇KL̄(θ_old + h·v) − ∇KL̄(θ_old − h·v)) / 2h with ‖h·v‖ = 3e-3;
// its error is O(h²). test/trpo.test.ts checks it against the exact Fisher E_a[∇log π(a) ∇log π(a)ᵀ]
// assembled from autodiff on a small model.
// Read-backs: one per line-search trial (usually one: the full step is accepted).
import { ALGORITHM_SPECS } from './specs';
import type { Episode } from '../episodes';
import type { MetricName } from '../metrics';
import type { Params } from '../params';
import { Random } from '../random';
import type { Rollout } from '../rollout';
import { tf, type Scalar, type Tensor, type Tensor1D, type Tensor3D } from '../tf';
import {
  batchTensors,
  disposeBatch,
  entropyBonus,
  evaluate,
  shuffledMinibatches,
  type Algorithm,
  type EpisodeBatch,
  type UpdateContext,
} from './common';
import { klLossTerms, maskedMean, sumOf, valueLoss, valueLossPerToken } from './losses';
import { ppo } from './ppo';

export const CG_ITERATIONS = 10;
export const CG_DAMPING = 0.1;
export const BACKTRACK_COEF = 0.8;
export const BACKTRACK_STEPS = 10;
/**
 * ‖h·v‖ of the finite difference. Measured against the exact Fisher (test/trpo.test.ts): relative
 * error 2e-4 at 3e-3; at 1e-2 the O(h²) term makes it 2e-3, at 1e-3 float32 rounding makes it 5e-4.
 */
const FD_STEP = 3e-3;

export const trpo: Algorithm = {
  spec: ALGORITHM_SPECS['trpo'],

  // GAE from the critic's rollout-time values, whitened: exactly PPO's.
  computeAdvantages: ppo.computeAdvantages,

  async update(ctx, rollout, episodes) {
    const step = await trustRegionStep(ctx, rollout, episodes);
    const { metrics } = ctx;
    for (const [name, value] of [
      ['trpo/kl', step.kl],
      ['trpo/line_search_steps', step.backtracks],
      ['trpo/accepted', step.accepted ? 1 : 0],
    ] as const)
      addNumber(metrics, name, value);
    fitCritic(ctx, rollout, episodes);
  },
};

/** Adds a number known on the CPU to the update's device-side metrics. */
function addNumber(metrics: UpdateContext['metrics'], name: MetricName, value: number): void {
  const scalar = tf.scalar(value);
  metrics.add(name, scalar);
  scalar.dispose();
}

/** What one trust-region step did: its KL, how many times it shrank (×0.8), whether it was taken. */
export interface TrustRegionStep {
  accepted: boolean;
  /** Backtracking steps before the accepted one (BACKTRACK_STEPS when none was accepted). */
  backtracks: number;
  /** Mean KL(π_old ‖ π_new) per action token of the step taken (0 when none was). */
  kl: number;
}

/** Steps 1–5 of the header: the natural-gradient step with its line search, on the policy's weights. */
export async function trustRegionStep(
  ctx: UpdateContext,
  rollout: Rollout,
  episodes: Episode[],
): Promise<TrustRegionStep> {
  const { maxKl } = ctx.config;
  const flat = ctx.params.flat;
  const start = flat.clone();
  // Everything made below is freed in `finally`, and on any exit without an accepted step the weights
  // go back to θ_old (an exception mid-way would otherwise leave them at θ_old ± h·v or a trial step).
  const kept: Tensor[] = [];
  let batch: EpisodeBatch | undefined;
  let accepted = false;
  try {
    batch = batchTensors(rollout, episodes);
    const b = batch;
    const oldLogSoftmax = tf.tidy(() => evaluate(ctx, b).logSoftmax);
    kept.push(oldLogSoftmax);
    // 1. g = ∇L at θ_old (the loss is −L, so g is minus its gradient); the loss at θ_old for the search.
    const { value: lossAtStart, grads } = tf.variableGrads(() => surrogateLoss(ctx, b).total, [flat]);
    kept.push(lossAtStart);
    const g = tf.neg(grads[flat.name]) as Tensor1D;
    tf.dispose(grads);
    kept.push(g);
    const gradNorm = tf.tidy(() => tf.norm(g) as Scalar);
    ctx.metrics.add('optim/grad_norm', gradNorm);
    kept.push(gradNorm);
    if (ctx.explain) ctx.explain.rows = episodes.map((e) => e.row);
    /** An explained update keeps the step's per-token ratio and objective at the weights it ends on. */
    const explainStep = (lossValue: number, facts: Record<string, number>) =>
      ctx.explain &&
      tf.tidy(() => {
        const { logp } = evaluate(ctx, b);
        const ratio = tf.exp(tf.where(b.mask, tf.sub(logp, b.oldLogp), tf.zerosLike(logp)));
        ctx.explain?.record({
          gradNorm,
          loss: tf.scalar(lossValue),
          maxGradNorm: Number.NaN,
          learningRate: Number.NaN,
          terms: { ratio, objective: tf.neg(tf.mul(ratio, b.advantages)) },
          facts,
        });
      });

    // 2–3. x ≈ (F + damping)⁻¹ g and the full step s, with no read-back.
    const fvp = (v: Tensor1D) =>
      tf.tidy(() => tf.add(fisherVectorProduct(ctx, b, oldLogSoftmax, start, v), tf.mul(CG_DAMPING, v)) as Tensor1D);
    const x = conjugateGradient(fvp, g, CG_ITERATIONS);
    kept.push(x);
    const fx = fvp(x);
    const fullStep = tf.tidy(() => tf.mul(x, tf.sqrt(tf.div(2 * maxKl, tf.add(tf.dot(x, fx), 1e-8)))));
    fx.dispose();
    kept.push(fullStep);

    // 4. Backtracking line search: the first step inside the trust region that does not raise the loss.
    for (let k = 0; k < BACKTRACK_STEPS; k++) {
      tf.tidy(() => flat.assign(tf.add(start, tf.mul(BACKTRACK_COEF ** k, fullStep))));
      const trial = tf.tidy(() => {
        const loss = surrogateLoss(ctx, b);
        return tf.stack([meanKl(ctx, b, oldLogSoftmax), loss.total, lossAtStart]);
      });
      kept.push(trial);
      const [kl, loss, before] = await trial.data();
      if (kl <= maxKl && loss <= before) {
        // The surrogate's total at the accepted weights (with its KL and entropy terms, as the others' loss/policy).
        addNumber(ctx.metrics, 'loss/policy', loss);
        accepted = true;
        explainStep(loss, { kl, backtracks: k, accepted: 1 });
        return { accepted, backtracks: k, kl };
      }
    }
    flat.assign(start);
    explainStep(Number.NaN, { kl: Number.NaN, backtracks: BACKTRACK_STEPS, accepted: 0 });
    return { accepted, backtracks: BACKTRACK_STEPS, kl: 0 };
  } finally {
    if (!accepted) flat.assign(start);
    tf.dispose([start, ...kept]);
    if (batch) disposeBatch(batch);
  }
}

/** −L(θ): minus the importance-weighted advantage, plus β·KL when it is in the loss (klIn), minus the entropy bonus. */
function surrogateLoss(ctx: UpdateContext, batch: EpisodeBatch): { total: Scalar } {
  const { logp, logSoftmax } = evaluate(ctx, batch);
  const logRatio = tf.where(batch.mask, tf.sub(logp, batch.oldLogp), tf.zerosLike(logp));
  const gain = maskedMean(tf.mul(tf.exp(logRatio), batch.advantages), batch.mask, batch.count);
  const kl = klLossTerms(ctx.config, ctx.beta ?? ctx.config.beta, logp, batch);
  return { total: sumOf(tf.neg(gain), ...kl, ...entropyBonus(ctx.config.entropyCoef, logSoftmax, batch)) };
}

/** KL̄(θ): mean over action tokens of Σ_v π_old(v) (log π_old(v) − log π_θ(v)), at the current weights. */
export function meanKl(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape'>,
  batch: Pick<EpisodeBatch, 'tokens' | 'next' | 'mask' | 'count'> & Partial<Pick<EpisodeBatch, 'keepFrom'>>,
  oldLogSoftmax: Tensor3D,
): Scalar {
  return tf.tidy(() => {
    const { logSoftmax } = evaluate(ctx, batch);
    const perToken = tf.sum(tf.mul(tf.exp(oldLogSoftmax), tf.sub(oldLogSoftmax, logSoftmax)), 2);
    return maskedMean(perToken, batch.mask, batch.count);
  });
}

/**
 * F·v at θ_old = `start`, by the central difference of ∇KL̄ along v (see the header). Leaves the
 * weights at `start`. Nothing is read back: the step h = FD_STEP / ‖v‖ stays on the device.
 */
export function fisherVectorProduct(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape'>,
  batch: Pick<EpisodeBatch, 'tokens' | 'next' | 'mask' | 'count'> & Partial<Pick<EpisodeBatch, 'keepFrom'>>,
  oldLogSoftmax: Tensor3D,
  start: Tensor,
  v: Tensor1D,
  step = FD_STEP,
): Tensor1D {
  const flat = ctx.params.flat;
  const norm = tf.tidy(() => tf.maximum(tf.norm(v), 1e-12));
  const offset = tf.tidy(() => tf.mul(v, tf.div(step, norm)));
  const gradientAt = (sign: 1 | -1): Tensor => {
    tf.tidy(() => flat.assign(sign > 0 ? tf.add(start, offset) : tf.sub(start, offset)));
    const { value, grads } = tf.variableGrads(() => meanKl(ctx, batch, oldLogSoftmax), [flat]);
    value.dispose();
    return grads[flat.name];
  };
  const plus = gradientAt(1);
  const minus = gradientAt(-1);
  flat.assign(start);
  const product = tf.tidy(() => tf.mul(tf.sub(plus, minus), tf.div(norm, 2 * step)) as Tensor1D);
  tf.dispose([norm, offset, plus, minus]);
  return product;
}

/**
 * Conjugate gradient for A·x = b with A symmetric positive definite, given only x ↦ A·x; a fixed
 * number of iterations from x = 0, all on the device (Spinning Up's cg, with its 1e-8 guard).
 */
export function conjugateGradient(multiply: (v: Tensor1D) => Tensor1D, b: Tensor1D, iterations: number): Tensor1D {
  let x: Tensor1D = tf.zerosLike(b);
  let r: Tensor1D = b.clone();
  let p: Tensor1D = b.clone();
  let rr = tf.tidy(() => tf.dot(r, r) as Scalar);
  try {
    for (let i = 0; i < iterations; i++) {
      const ap = multiply(p);
      const next = tf.tidy(() => {
        const alpha = tf.div(rr, tf.add(tf.dot(p, ap), 1e-8));
        const x2 = tf.add(x, tf.mul(alpha, p));
        const r2 = tf.sub(r, tf.mul(alpha, ap));
        const rr2 = tf.dot(r2, r2) as Scalar;
        const p2 = tf.add(r2, tf.mul(tf.div(rr2, tf.maximum(rr, 1e-30)), p));
        return { x2: x2 as Tensor1D, r2: r2 as Tensor1D, rr2, p2: p2 as Tensor1D };
      });
      tf.dispose([x, r, rr, p, ap]);
      ({ x2: x, r2: r, rr2: rr, p2: p } = next);
    }
  } catch (error) {
    tf.dispose([x, r, rr, p]);
    throw error;
  }
  tf.dispose([r, rr, p]);
  return x as Tensor1D;
}

/** 1 on the value head's weights, 0 elsewhere: the critic's steps move only these. */
function valueHeadMask(params: Params): Tensor1D {
  const ones = new Float32Array(params.flat.size);
  for (const entry of params.layout)
    if (entry.name.startsWith('valueHead.')) ones.fill(1, entry.offset, entry.offset + entry.size);
  return tf.tensor1d(ones);
}

/** Step 6: epochs × minibatches Adam steps on the value loss, on the value head only. */
function fitCritic(ctx: UpdateContext, rollout: Rollout, episodes: Episode[]): void {
  const { epochs, minibatches, maxGradNorm } = ctx.config;
  const learningRate = ctx.learningRate ?? ctx.config.learningRate;
  const flat = ctx.params.flat;
  const mask = valueHeadMask(ctx.params);
  const rng = new Random(ctx.shuffleSeed);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const minibatch of shuffledMinibatches(episodes, minibatches, rng)) {
        const batch = batchTensors(rollout, minibatch);
        try {
          const { value, grads } = tf.variableGrads(() => valueLoss(evaluate(ctx, batch).values, batch), [flat]);
          const masked = tf.mul(grads[flat.name], mask);
          // An explained update keeps the critic's values and loss per token at the weights this step starts from.
          const terms =
            ctx.explain &&
            tf.tidy(() => {
              const values = evaluate(ctx, batch).values;
              return { value: values, valueLoss: valueLossPerToken(values, batch) };
            });
          const norm = ctx.optimizer.apply(masked, learningRate, maxGradNorm);
          ctx.metrics.add('loss/value', value);
          if (ctx.explain && terms) {
            ctx.explain.rows = minibatch.map((e) => e.row);
            ctx.explain.epoch = epoch;
            ctx.explain.record({ gradNorm: norm, loss: value, maxGradNorm, learningRate, terms, facts: { critic: 1 } });
            tf.dispose([terms.value, terms.valueLoss]);
          }
          tf.dispose([value, norm, masked, ...Object.values(grads)]);
        } finally {
          disposeBatch(batch);
        }
      }
    }
  } finally {
    mask.dispose();
  }
}

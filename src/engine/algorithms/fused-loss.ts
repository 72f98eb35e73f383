// The per-token loss PPO, REINFORCE and actor-critic share, as one fused op with its gradient written
// by hand (as the layers in layers.ts are). Through tfjs's autodiff the same loss cost ~250 kernels per
// optimizer step — masked means, casts, a clone of every saved tensor — against ~300 for the whole
// model's forward and backward; each kernel launch costs more than its arithmetic at these sizes. The
// loss is a scalar, so its gradient is computed in the forward pass itself and the backward pass only
// scales it by dy. test/fused-loss.test.ts checks the value, every reported term and the gradient
// against the autodiff losses in losses.ts. Masked positions are zeroed by multiplying with the mask
// (one kernel) rather than tf.where: every input is finite there — the log-ratios are zeroed before
// exp, the logit mask is −1e9 (not −∞), and A, R and V_old are 0 at masked positions.
//
// With m the action mask, n = Σ m, z the logits, p = softmax(z), ℓ = log p(a), H = −Σ p log p:
//   total = Σ_t m_t (policy_t + β·k3_t − c_e·H_t) / n + c_v · value loss
//   ∂total/∂z_t = g_t·(onehot(a_t) − p_t) − (c_e m_t / n)·(−p_t ⊙ (log p_t + H_t))
//   where g_t = ∂total/∂ℓ_t:
//     clipped (PPO):  −A·r·[−A·r ≥ −A·clip(r)]·m/n, r = exp(ℓ − ℓ_old)   (tfjs's maximum: the first
//                     argument wins ties; when the clipped term wins, r is outside the clip and its
//                     gradient is 0)
//     plain:          −A·m/n
//     KL in the loss: + β·(1 − π_ref/π)·m/n                               (k3 = π_ref/π − log(π_ref/π) − 1)
//   ∂total/∂V_t = c_v·m_t/n·(V − R), or with the value clip ε_v: (V − R) when the unclipped square is
//   the larger, else (V_clip − R)·[|V − V_old| ≤ ε_v]
import { hasFusedKernel, KERNELS, type TokenLossAttrs } from '../kernels/wasm-fused';
import { hasWebgpuFused } from '../kernels/webgpu-fused-ops';
import { tokenLogProbs } from '../log-probs';
import { tf, type Scalar, type Tensor, type Tensor2D, type Tensor3D } from '../tf';
import type { MetricName } from '../metrics';
import type { TokenTerms } from '../explain';
import { klBetaInLoss, logitsAndValues, type EpisodeBatch, type UpdateContext } from './common';

export interface FusedLossSpec {
  /** PPO's clipped surrogate, or the plain policy gradient −A·log π. */
  policy: 'clipped' | 'plain';
  clipEpsilon: number;
  /** The clip's upper ε when it differs from the lower (GRPO's clip-higher); clipEpsilon when absent. */
  clipEpsilonHigh?: number;
  /**
   * Per-token weights of the policy and KL terms, broadcastable to [B, T] (GRPO's loss aggregation);
   * absent: the mean over action tokens, 1/n each.
   */
  weights?: Tensor;
  /** The run trains a critic: its value loss is reported (PPO, actor-critic), even at c_v = 0. */
  critic: boolean;
  /** c_v; 0 leaves the value term (and the value head's gradient) out of the total. */
  valueCoef: number;
  /** ε_v of PPO's value clip; 0 for an unclipped value loss. */
  valueClip: number;
  entropyCoef: number;
  /** β of the KL in the loss; 0 when the KL is in the reward (or β = 0). */
  klBeta: number;
  /** Keep the per-token terms too (an explained update). */
  tokens: boolean;
}

export interface FusedLoss {
  /** The loss, differentiable with respect to the logits and (with a value term) the values. */
  total: Scalar;
  /** The terms reported as metrics, owned by the caller. */
  report: Partial<Record<MetricName, Scalar>>;
  /** Per-token terms, owned by the caller (only when spec.tokens). */
  tokens?: TokenTerms;
}

type Batch = Pick<
  EpisodeBatch,
  'next' | 'mask' | 'count' | 'advantages' | 'oldLogp' | 'refLogp' | 'returns' | 'oldValues'
>;

/** The fused loss of `logits` [B, T, V] and `values` [B, T] on a batch (see the header). */
/** Whether the values are an input of the op: only when the value loss is part of the total. */
const withValueTerm = (spec: FusedLossSpec) => spec.critic && spec.valueCoef > 0;

export function fusedTokenLoss(logits: Tensor3D, values: Tensor2D, batch: Batch, spec: FusedLossSpec): FusedLoss {
  const withValue = withValueTerm(spec);
  let report: FusedLoss['report'] = {};
  let tokens: TokenTerms | undefined;
  const op = tf.customGrad(((...inputs: unknown[]) => {
    const save = inputs.pop() as (tensors: Tensor[]) => void;
    const [z, v] = inputs as [Tensor3D, Tensor2D | undefined];
    const out = fusedKernelFits(spec, batch)
      ? forwardAndGradientKernel(z, v ?? values, batch, spec)
      : forwardAndGradient(z, v ?? values, batch, spec);
    // Made inside the op's own scope: kept, so they outlive it; the caller disposes them.
    report = Object.fromEntries(Object.entries(out.report).map(([k, t]) => [k, tf.keep(t)]));
    if (spec.tokens) tokens = Object.fromEntries(Object.entries(out.tokens).map(([k, t]) => [k, tf.keep(t)]));
    save(withValue ? [out.dLogits, out.dValues] : [out.dLogits]);
    return {
      value: out.total,
      gradFunc: (dy: Tensor, saved: Tensor[]) => saved.map((g) => tf.mul(dy, g)),
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  const total = (withValue ? op(logits, values) : op(logits)) as Scalar;
  return tokens ? { total, report, tokens } : { total, report };
}

/**
 * Tokens per weight when the weights are one for all tokens, one a response ([B, 1]) or one a token
 * ([B, T]): the shapes the single kernel reads; undefined for any other.
 */
function weightSpan(weights: Tensor, [rows, time]: number[]): number | undefined {
  if (weights.size === 1) return rows * time;
  if (weights.rank === 2 && weights.shape[0] === rows && weights.shape[1] === 1) return time;
  if (weights.rank === 2 && weights.shape[0] === rows && weights.shape[1] === time) return 1;
  return undefined;
}

/** The wasm backend's single kernel (kernels/wasm-fused.ts) takes the loss without per-token terms. */
const fusedKernelFits = (spec: FusedLossSpec, batch: Batch) =>
  hasFusedKernel('loss') &&
  (!spec.weights || (spec.weights.dtype === 'float32' && weightSpan(spec.weights, batch.mask.shape) !== undefined)) &&
  !spec.tokens &&
  batch.mask.dtype === 'bool' &&
  batch.next.dtype === 'int32';

/** forwardAndGradient as one kernel: the same total, report and gradients. */
function forwardAndGradientKernel(z: Tensor3D, v: Tensor2D, batch: Batch, spec: FusedLossSpec) {
  const attrs: TokenLossAttrs = {
    inv: 1 / Math.max(batch.count, 1),
    clipped: spec.policy === 'clipped' ? 1 : 0,
    eps: spec.clipEpsilon,
    klBeta: spec.klBeta,
    entropyCoef: spec.entropyCoef,
    critic: spec.critic ? 1 : 0,
    valueTerm: withValueTerm(spec) ? 1 : 0,
    valueCoef: spec.valueCoef,
    valueClip: spec.valueClip,
    ...(spec.weights && { weightSpan: weightSpan(spec.weights, batch.mask.shape) }),
    ...(spec.clipEpsilonHigh !== undefined && { clipHigh: 1, epsHigh: spec.clipEpsilonHigh }),
  };
  const a = batch.advantages;
  const inputs = {
    z,
    v: spec.critic ? v : a,
    next: batch.next,
    mask: batch.mask,
    advantages: a,
    oldLogp: spec.policy === 'clipped' ? batch.oldLogp : a,
    refLogp: spec.klBeta > 0 ? batch.refLogp : a,
    returns: spec.critic ? batch.returns : a,
    oldValues: spec.critic && spec.valueClip > 0 ? batch.oldValues : a,
    ...(spec.weights && { weights: spec.weights }),
  };
  const [dLogits, dValues, total, policy, clipfrac, approxKl, valueLoss, valueClipfrac] = tf
    .engine()
    .runKernel(KERNELS.tokenLoss, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as Scalar[];
  const report: FusedLoss['report'] = { 'loss/policy': policy };
  if (spec.policy === 'clipped') Object.assign(report, { 'policy/clipfrac': clipfrac, 'policy/approx_kl': approxKl });
  if (spec.critic) {
    report['loss/value'] = valueLoss;
    if (spec.valueClip > 0 || spec.policy === 'clipped') report['value/clipfrac'] = valueClipfrac;
  }
  return { total, report, tokens: {} as TokenTerms, dLogits: dLogits as Tensor, dValues: dValues as Tensor };
}

function forwardAndGradient(z: Tensor3D, v: Tensor2D, batch: Batch, spec: FusedLossSpec) {
  const { next, mask, advantages, oldLogp } = batch;
  const inv = 1 / Math.max(batch.count, 1);
  const m = tf.cast(mask, 'float32');
  const maskedSum = (x: Tensor) => tf.mul(tf.sum(tf.mul(x, m)), inv) as Scalar;
  // On WebGPU's software adapter the log-softmax and log π(a) are a program each (log-probs.ts).
  const webgpu = hasWebgpuFused('logSoftmax') ? tokenLogProbs(z, next) : undefined;
  const logSoftmax = webgpu ? webgpu.logSoftmax : tf.logSoftmax(z, -1);
  const p = tf.exp(logSoftmax);
  const onehot = tf.oneHot(next, z.shape[2]);
  const logp = webgpu ? webgpu.logp : tf.sum(tf.mul(logSoftmax, onehot), -1);

  const report: FusedLoss['report'] = {};
  const tokens: TokenTerms = {};
  const terms: Scalar[] = [];
  // m/n per token; the policy and KL terms take the spec's weights instead when it has them.
  const scale = tf.mul(m, inv);
  const policyScale = spec.weights ? tf.mul(m, spec.weights) : scale;
  const policySum = spec.weights ? (x: Tensor) => tf.sum(tf.mul(x, policyScale)) as Scalar : maskedSum;

  // The policy term and g = ∂total/∂ℓ per token (before the m/n scale).
  let g: Tensor;
  if (spec.policy === 'clipped') {
    const logRatio = tf.where(mask, tf.sub(logp, oldLogp), tf.zerosLike(logp));
    const ratio = tf.exp(logRatio);
    const negA = tf.neg(advantages);
    const unclipped = tf.mul(negA, ratio);
    const high = spec.clipEpsilonHigh ?? spec.clipEpsilon;
    const clipped = tf.mul(negA, tf.clipByValue(ratio, 1 - spec.clipEpsilon, 1 + high));
    const objective = tf.maximum(unclipped, clipped);
    g = tf.mul(unclipped, tf.cast(tf.greaterEqual(unclipped, clipped), 'float32'));
    const outside = tf.cast(
      spec.clipEpsilonHigh === undefined
        ? tf.greater(tf.abs(tf.sub(ratio, 1)), spec.clipEpsilon)
        : tf.logicalOr(tf.less(ratio, 1 - spec.clipEpsilon), tf.greater(ratio, 1 + high)),
      'float32',
    );
    report['loss/policy'] = policySum(objective);
    report['policy/clipfrac'] = maskedSum(outside);
    report['policy/approx_kl'] = maskedSum(tf.sub(tf.sub(ratio, 1), logRatio));
    Object.assign(tokens, { ratio, clipped: outside, objective });
  } else {
    const objective = tf.neg(tf.mul(advantages, logp));
    g = tf.neg(advantages);
    report['loss/policy'] = policySum(objective);
    tokens.objective = objective;
  }
  terms.push(report['loss/policy'] as Scalar);

  if (spec.klBeta > 0) {
    const refLogRatio = tf.where(mask, tf.sub(batch.refLogp, logp), tf.zerosLike(logp));
    const refRatio = tf.exp(refLogRatio);
    const k3 = tf.sub(tf.sub(refRatio, refLogRatio), 1);
    terms.push(tf.mul(spec.klBeta, policySum(k3)) as Scalar);
    g = tf.add(g, tf.mul(spec.klBeta, tf.sub(1, refRatio)));
    tokens.klLoss = k3;
  }

  // ∂total/∂z = g·onehot − p ⊙ (g + e·(log p + H)), with g scaled by the policy weights, e = −c_e by m/n.
  const gScaled = tf.expandDims(tf.mul(g, policyScale), -1);
  let dLogits: Tensor;
  if (spec.entropyCoef > 0) {
    const entropy = tf.neg(tf.sum(tf.mul(p, logSoftmax), -1));
    terms.push(tf.mul(-spec.entropyCoef, maskedSum(entropy)) as Scalar);
    const eScaled = tf.expandDims(tf.mul(-spec.entropyCoef, scale), -1);
    const inner = tf.add(gScaled, tf.mul(eScaled, tf.add(logSoftmax, tf.expandDims(entropy, -1))));
    dLogits = tf.sub(tf.mul(gScaled, onehot), tf.mul(p, inner));
    tokens.entropy = entropy;
  } else {
    dLogits = tf.mul(gScaled, tf.sub(onehot, p));
    if (spec.tokens) tokens.entropy = tf.neg(tf.sum(tf.mul(p, logSoftmax), -1));
  }

  let dValues: Tensor | undefined;
  if (spec.critic) {
    const error = tf.sub(v, batch.returns);
    let perToken: Tensor;
    let dv: Tensor;
    if (spec.valueClip > 0) {
      const delta = tf.sub(v, batch.oldValues);
      const clippedError = tf.sub(
        tf.add(batch.oldValues, tf.clipByValue(delta, -spec.valueClip, spec.valueClip)),
        batch.returns,
      );
      const a = tf.square(error);
      const b = tf.square(clippedError);
      perToken = tf.mul(0.5, tf.maximum(a, b));
      const inside = tf.cast(tf.lessEqual(tf.abs(delta), spec.valueClip), 'float32');
      dv = tf.where(tf.greaterEqual(a, b), error, tf.mul(clippedError, inside));
      report['value/clipfrac'] = maskedSum(tf.cast(tf.greater(tf.abs(delta), spec.valueClip), 'float32'));
    } else {
      perToken = tf.mul(0.5, tf.square(error));
      dv = error;
      // PPO reports its value clip fraction, 0 with the clip off; actor-critic has no clip to report.
      if (spec.policy === 'clipped') report['value/clipfrac'] = tf.scalar(0);
    }
    report['loss/value'] = maskedSum(perToken);
    if (withValueTerm(spec)) {
      terms.push(tf.mul(spec.valueCoef, report['loss/value']) as Scalar);
      dValues = tf.mul(tf.mul(dv, scale), spec.valueCoef);
    }
    Object.assign(tokens, { value: tf.clone(v), valueLoss: perToken });
  }

  const total = terms.reduce((a, b) => tf.add(a, b)) as Scalar;
  return { total, report, tokens, dLogits, dValues: dValues as Tensor };
}

/**
 * The plain policy gradient −mean(A·log π) (+ c_v·½mean((V − R)²) with a critic, + β·k3 with the KL in
 * the loss, − c_e·H) on the current weights: REINFORCE's loss (no critic) and actor-critic's.
 */
export function policyGradientFusedLoss(ctx: UpdateContext, batch: EpisodeBatch, critic: boolean): FusedLoss {
  const { logits, values } = logitsAndValues(ctx, batch);
  return fusedTokenLoss(logits, values, batch, {
    policy: 'plain',
    critic,
    clipEpsilon: 0,
    valueCoef: critic ? ctx.config.valueCoef : 0,
    valueClip: 0,
    entropyCoef: ctx.config.entropyCoef,
    klBeta: klBetaInLoss(ctx),
    tokens: ctx.explain !== undefined,
  });
}

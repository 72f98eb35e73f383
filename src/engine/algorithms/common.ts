// What every algorithm's update needs: the context it runs in, batch tensors for a set of episodes,
// one optimizer step on a loss with side metrics, and the loop around them (minibatches, a batch's
// lifetime, the epoch's approx-KL read back once), so each algorithm's update reads like pseudocode.
import type { Config } from '../config';
import type { AlgorithmSpec } from './specs';
import type { Episode } from '../episodes';
import { DeviceAverages } from '../device-averages';
import type { ExplainRecorder, TokenTerms } from '../explain';
import { entropy, nextTokens, tokenLogProbs } from '../log-probs';
import type { MetricName } from '../metrics';
import { forward, type ModelShape, type Params } from '../model';
import type { RecordedForward } from '../fused-model';
import type { Adam } from '../optimizer';
import type { Random } from '../random';
import type { Rollout } from '../rollout';
import { tf, type Scalar, type Tensor2D, type Tensor3D } from '../tf';
import { maskedMean } from './losses';
import { klInReward } from './specs';

export interface UpdateContext {
  config: Config;
  params: Params;
  shape: ModelShape;
  optimizer: Adam;
  metrics: DeviceAverages;
  /** Seed for this update's minibatch shuffles. */
  shuffleSeed: number;
  /** This update's KL coefficient (adaptive β moves it); `config.beta` when not given. */
  beta?: number;
  /** This update's learning rate (the KL-adaptive rate moves it); `config.learningRate` when not given. */
  learningRate?: number;
  /** Set while the update is explained: each optimizer step's per-token terms are kept (explain.ts). */
  explain?: ExplainRecorder;
}

/** An algorithm = how advantages are made + how the weights are updated from them. */
export interface Algorithm {
  /** Its facts without TensorFlow.js (specs.ts): help, whether it trains a critic, settings it ignores. */
  readonly spec: AlgorithmSpec;
  /** Fills `advantages` and `returns` of every episode. `state` persists across updates (baselines). */
  computeAdvantages(episodes: Episode[], config: Config, state: AlgorithmState): void;
  /** Runs the optimizer steps; adds loss/... and policy/... metrics to ctx.metrics. */
  update(ctx: UpdateContext, rollout: Rollout, episodes: Episode[]): Promise<void>;
  /**
   * Its first loss runs the policy over the whole rollout, in row order, at the sampling weights (one step
   * on the whole batch), so the rollout may record that pass for it (Rollout.recorded).
   */
  readonly readsRecordedForward?: boolean;
}

export interface AlgorithmState {
  /** REINFORCE's moving-average baseline; undefined before the first batch. */
  movingAverageReturn?: number;
  /** rewardNorm's running statistics of every score seen: count, mean, sum of squared deviations. */
  scoreCount?: number;
  scoreMean?: number;
  scoreM2?: number;
  /** The KL-adaptive learning rate's current value; the learningRate setting until it first moves. */
  learningRate?: number;
}

/** Tensors of one (mini)batch of episodes, each array shaped [rows, contextLength]. */
export interface BatchTensors {
  tokens: Tensor2D;
  next: Tensor2D;
  mask: Tensor2D;
  count: number;
  oldLogp: Tensor2D;
  oldValues: Tensor2D;
  advantages: Tensor2D;
  returns: Tensor2D;
  /**
   * The first position any row's mask reads (0 for an empty mask): the losses and metrics read no earlier
   * logits or values, so the forward pass may skip them (model.ts forward's keepFrom).
   */
  keepFrom: number;
  /**
   * The rollout's recorded forward pass when these rows are the whole rollout in its order: forward()
   * reads it instead of running the pass while the weights are the ones that sampled (model.ts).
   */
  recorded?: RecordedForward;
}

/** A batch of episodes with the frozen reference's log-probs of the actions (GRPO's KL in the loss). */
export interface EpisodeBatch extends BatchTensors {
  refLogp: Tensor2D;
}

export function batchTensors(r: Rollout, episodes: readonly Episode[]): EpisodeBatch {
  const rows = episodes.length;
  const t = r.time;
  const tokens = new Int32Array(rows * t);
  const mask = new Int32Array(rows * t);
  const planes = { oldLogp: 0, oldValues: 1, advantages: 2, returns: 3, refLogp: 4 } as const;
  const floats = Array.from({ length: 5 }, () => new Float32Array(rows * t));
  let count = 0;
  let keepFrom = t;
  episodes.forEach((e, i) => {
    tokens.set(r.tokens.subarray(e.row * t, (e.row + 1) * t), i * t);
    e.positions.forEach((p, k) => {
      mask[i * t + p] = 1;
      keepFrom = Math.min(keepFrom, p);
      floats[planes.oldLogp][i * t + p] = e.oldLogp[k];
      floats[planes.oldValues][i * t + p] = e.values[k];
      floats[planes.advantages][i * t + p] = e.advantages[k];
      floats[planes.returns][i * t + p] = e.returns[k];
      floats[planes.refLogp][i * t + p] = e.refLogp[k];
      count++;
    });
  });
  const recorded = r.recorded && sameRows(r, episodes) ? r.recorded : undefined;
  const tensors = tf.tidy(() => {
    const tokensTensor = tf.tensor2d(tokens, [rows, t], 'int32');
    return {
      tokens: tokensTensor,
      next: nextTokens(tokensTensor),
      mask: tf.cast(tf.tensor2d(mask, [rows, t], 'int32'), 'bool') as Tensor2D,
      count,
      oldLogp: tf.tensor2d(floats[planes.oldLogp], [rows, t]),
      refLogp: tf.tensor2d(floats[planes.refLogp], [rows, t]),
      oldValues: tf.tensor2d(floats[planes.oldValues], [rows, t]),
      advantages: tf.tensor2d(floats[planes.advantages], [rows, t]),
      returns: tf.tensor2d(floats[planes.returns], [rows, t]),
      keepFrom: count > 0 ? keepFrom : 0,
    };
  });
  return recorded ? { ...tensors, recorded } : tensors;
}

/** Whether the episodes are every row of the rollout, in row order. */
function sameRows(r: Rollout, episodes: readonly Episode[]): boolean {
  return episodes.length === r.batchSize && episodes.every((e, i) => e.row === i);
}

export function disposeBatch(b: EpisodeBatch): void {
  for (const t of [b.tokens, b.next, b.mask, b.oldLogp, b.refLogp, b.oldValues, b.advantages, b.returns]) t.dispose();
}

/** The current policy on a batch: log π(a_t) and V [rows, T], and the full log-softmax [rows, T, V]. */
export function evaluate(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape'>,
  b: Pick<BatchTensors, 'tokens' | 'next'> & Partial<Pick<BatchTensors, 'keepFrom' | 'recorded'>>,
): { logp: Tensor2D; values: Tensor2D; logSoftmax: Tensor3D } {
  const out = forward(ctx.params, ctx.shape, b.tokens, ctx.config.temperature, b.keepFrom ?? 0, b.recorded);
  const { logp, logSoftmax } = tokenLogProbs(out.logits, b.next);
  return { logp, values: out.values, logSoftmax };
}

/** The policy head's logits [rows, T, V], tempered and masked, and the values [rows, T]: the fused loss's inputs. */
export function logitsAndValues(
  ctx: Pick<UpdateContext, 'config' | 'params' | 'shape'>,
  b: Pick<BatchTensors, 'tokens'> & Partial<Pick<BatchTensors, 'keepFrom' | 'recorded'>>,
): { logits: Tensor3D; values: Tensor2D } {
  return forward(ctx.params, ctx.shape, b.tokens, ctx.config.temperature, b.keepFrom ?? 0, b.recorded);
}

/** The KL coefficient of the loss: this update's β when the run puts the KL there (klIn), else 0. */
export function klBetaInLoss(ctx: Pick<UpdateContext, 'config' | 'beta'>): number {
  return klInReward(ctx.config) ? 0 : (ctx.beta ?? ctx.config.beta);
}

/**
 * The entropy bonus −c_e · mean entropy as a list of loss terms: empty when c_e = 0, since a zero-weight
 * term would still cost its forward and backward kernels every step.
 */
export function entropyBonus(coef: number, logSoftmax: Tensor3D, b: Pick<BatchTensors, 'mask' | 'count'>): Scalar[] {
  if (coef === 0) return [];
  return [tf.mul(-coef, maskedMean(entropy(logSoftmax), b.mask, b.count)) as Scalar];
}

/** One optimizer step's loss: the total to minimise and the terms reported as metrics, by metric name. */
export interface Loss {
  total: Scalar;
  report: Partial<Record<MetricName, Scalar>>;
  /** Per-token terms for an explained update (see `explaining`); absent otherwise. */
  tokens?: TokenTerms;
}

/**
 * `terms()` when this update is being explained, else undefined: per-token terms cost kernels, so a
 * normal update never builds them.
 */
export function explaining(ctx: Pick<UpdateContext, 'explain'>, terms: () => TokenTerms): TokenTerms | undefined {
  return ctx.explain ? terms() : undefined;
}

/**
 * One optimizer step on `lossFn`'s total loss. Side metrics the loss function returns are kept past
 * the gradient scope, accumulated into ctx.metrics and disposed; nothing is read back here.
 */
export function optimizerStep(ctx: UpdateContext, lossFn: () => Loss): void {
  let report: Array<[MetricName, Scalar]> = [];
  let tokens: TokenTerms = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = lossFn();
    report = Object.entries(out.report).filter((entry): entry is [MetricName, Scalar] => entry[1] !== undefined);
    for (const [, t] of report) tf.keep(t);
    tokens = out.tokens ?? {};
    for (const t of Object.values(tokens)) if (t) tf.keep(t);
    return out.total;
  }, [ctx.params.flat]);
  const learningRate = ctx.learningRate ?? ctx.config.learningRate;
  const norm = ctx.optimizer.apply(grads[ctx.params.flat.name], learningRate, ctx.config.maxGradNorm);
  ctx.metrics.add('optim/grad_norm', norm);
  ctx.metrics.add('loss/total', value);
  for (const [name, t] of report) ctx.metrics.add(name, t);
  ctx.explain?.record({
    gradNorm: norm,
    loss: value,
    maxGradNorm: ctx.config.maxGradNorm,
    learningRate,
    terms: tokens,
  });
  tf.dispose([value, norm, ...Object.values(grads), ...report.map(([, t]) => t), ...Object.values(tokens)]);
}

/** One optimizer step on a set of episodes: their batch tensors are built, used by the loss and freed. */
export function stepOnBatch(
  ctx: UpdateContext,
  rollout: Rollout,
  episodes: readonly Episode[],
  lossOf: (batch: EpisodeBatch) => Loss,
): void {
  const batch = batchTensors(rollout, episodes);
  if (ctx.explain) ctx.explain.rows = episodes.map((e) => e.row);
  try {
    optimizerStep(ctx, () => lossOf(batch));
  } finally {
    disposeBatch(batch);
  }
}

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

/** The episodes of each of one epoch's shuffled minibatches (see minibatchRows). */
export function shuffledMinibatches<T>(episodes: readonly T[], minibatches: number, rng: Random): T[][] {
  return minibatchRows(episodes.length, minibatches, rng).map((rows) => rows.map((i) => episodes[i]));
}

/**
 * The mean approx-KL of one epoch's optimizer steps, for PPO's early stop: each step's value stays on
 * the device and `read()` brings the mean back in one read-back. When off (no target), nothing is kept
 * and nothing read, so the stop costs nothing unless it is asked for.
 */
export class EpochKl {
  private readonly kept: Scalar[] = [];

  constructor(private readonly on: boolean) {}

  /** Passes `loss` through, keeping a copy of its approx-KL term; call inside the step's loss function. */
  watch<L extends Loss>(loss: L): L {
    const kl = loss.report['policy/approx_kl'];
    if (this.on && kl) this.kept.push(tf.keep(tf.clone(kl)));
    return loss;
  }

  /** The mean over the steps watched so far (NaN when off); frees the kept copies. */
  async read(): Promise<number> {
    if (!this.on) return Number.NaN;
    const mean = tf.tidy(() => tf.mean(tf.stack(this.kept)));
    const kl = (await mean.data())[0];
    tf.dispose([mean, ...this.kept]);
    this.kept.length = 0;
    return kl;
  }
}

/**
 * How far the whole update moved the policy: the mean over the batch's action tokens of the exact
 * KL(π_old(·|s) ‖ π_new(·|s)) over the vocabulary, reported as policy/update_kl. `measureUpdateKl`
 * keeps the old distributions (the rollout's own, when it kept them, else one forward pass before the
 * update; it takes ownership of the rollout's); `finish` compares them with the
 * new ones (one forward pass after it) and adds the metric to the update's read-back; `dispose` frees
 * what it kept, whether or not the update finished. Exact rather than sampled: a k3 estimate on the sampled actions is dominated by the rare
 * token whose probability an update multiplies (measured: 4.5× the exact value on a TRPO update).
 */
export function measureUpdateKl(
  ctx: UpdateContext,
  rollout: Rollout,
  episodes: readonly Episode[],
): { finish(): void; dispose(): void } {
  const batch = batchTensors(rollout, episodes);
  // The rollout's rows are the episodes' rows only when every episode is there, in row order.
  const oldLogSoftmax =
    rollout.logSoftmax && sameRows(rollout, episodes)
      ? rollout.logSoftmax
      : tf.tidy(() => evaluate(ctx, batch).logSoftmax);
  if (rollout.logSoftmax && oldLogSoftmax !== rollout.logSoftmax) rollout.logSoftmax.dispose();
  let disposed = false;
  return {
    finish() {
      const kl = tf.tidy(() => {
        const { logSoftmax } = evaluate(ctx, batch);
        const perToken = tf.sum(tf.mul(tf.exp(oldLogSoftmax), tf.sub(oldLogSoftmax, logSoftmax)), 2);
        return maskedMean(perToken, batch.mask, batch.count);
      });
      ctx.metrics.add('policy/update_kl', kl);
      kl.dispose();
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      oldLogSoftmax.dispose();
      disposeBatch(batch);
    },
  };
}

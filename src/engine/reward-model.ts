// Stage 2 of the RLHF pipeline: a reward model learnt from pairwise comparisons (Bradley–Terry).
// The same small transformer as the policy, read through its scalar (value) head at the response's
// last token: r(x, y). Trained on `-log σ(r(chosen) − r(rejected))`, tested on held-out pairs, and
// normalised so that its scores on the SFT policy's samples have mean 0 and standard deviation 1.
import { bradleyTerry } from './algorithms/losses';
import { forward, initParams, type ModelShape, type Params } from './model';
import { Adam, disposeSnapshot, type OptimizerSnapshot } from './optimizer';
import { disposeParams, loadFlat, type ReadBack } from './params';
import { Random } from './random';
import { packComparisons, unpackComparisons, type RewardModelSnapshot } from './snapshot';
import { tf, type Scalar, type Tensor1D, type Tensor2D } from './tf';

/** One labelled pair: two token rows [T] and the position of each response's last token. */
export interface Comparison {
  chosen: Int32Array;
  rejected: Int32Array;
  chosenEnd: number;
  rejectedEnd: number;
}

export interface RewardModelReport {
  /** Mean Bradley–Terry loss over the last training steps. */
  loss: number;
  /** Share of held-out pairs the model orders like the human. */
  accuracy: number;
}

const LEARNING_RATE = 0.003;
const MAX_GRAD_NORM = 1;
const PAIRS_PER_STEP = 32;
export const HELD_OUT_SHARE = 0.2;

/** r(x, y) for each row: the value head at the row's last response token. tokens [B, T], ends [B]. */
export function rewardScores(params: Params, shape: ModelShape, tokens: Tensor2D, ends: Tensor1D): Tensor1D {
  const { values } = forward(params, shape, tokens, 1);
  return tf.sum(tf.mul(values, tf.oneHot(ends, shape.contextLength)), 1) as Tensor1D;
}

export class RewardModel {
  readonly params: Params;
  private readonly optimizer: Adam;
  private readonly rng: Random;
  readonly train: Comparison[] = [];
  readonly heldOut: Comparison[] = [];
  /** Raw-score mean and standard deviation on the comparisons' responses (set by `normalise`). */
  private offset = 0;
  private scale = 1;
  steps = 0;
  /** The model as stage 2 left it: a re-run of RL starts from it again, whatever bootstrapping refit. */
  private checkpoint: { snapshot: OptimizerSnapshot; trainCount: number; offset: number; scale: number } | undefined;

  constructor(
    private readonly shape: ModelShape,
    seed: number,
  ) {
    this.params = initParams(shape, seed, 'reward');
    this.optimizer = new Adam(this.params);
    this.rng = new Random(seed + 1);
  }

  /** Adds pairs: every fifth goes to the held-out set when `holdOut`, the rest to training. */
  add(pairs: readonly Comparison[], holdOut: boolean): void {
    pairs.forEach((pair, i) => {
      if (holdOut && i % Math.round(1 / HELD_OUT_SHARE) === 0) this.heldOut.push(pair);
      else this.train.push(pair);
    });
  }

  /**
   * Runs `steps` optimizer steps on random minibatches of training pairs; returns their mean loss. The
   * NaN guard: if that loss is not finite, the weights and Adam's moments go back to before the fit.
   */
  async fit(steps: number): Promise<number> {
    if (this.train.length === 0 || steps <= 0) return Number.NaN;
    const snapshot = this.optimizer.snapshot();
    const loss = await this.fitSteps(steps);
    if (!Number.isFinite(loss)) this.optimizer.restore(snapshot);
    disposeSnapshot(snapshot);
    return loss;
  }

  /** Test seam: the next fit's loss (and so its gradients and weights) becomes NaN, to prove the guard. */
  poisonNextFit = false;

  private async fitSteps(steps: number): Promise<number> {
    const losses: Scalar[] = [];
    for (let s = 0; s < steps; s++) {
      const pairs = Array.from(
        { length: Math.min(PAIRS_PER_STEP, this.train.length) },
        () => this.train[this.rng.int(this.train.length)],
      );
      const batch = this.pairTensors(pairs);
      const { value, grads } = tf.variableGrads(() => {
        const [chosen, rejected] = this.scorePairs(batch);
        const loss = bradleyTerry(chosen, rejected).loss;
        return this.poisonNextFit ? (tf.mul(loss, Number.NaN) as Scalar) : loss;
      }, [this.params.flat]);
      tf.dispose(this.optimizer.apply(grads[this.params.flat.name], LEARNING_RATE, MAX_GRAD_NORM));
      tf.dispose([...Object.values(grads), batch.tokens, batch.ends]);
      losses.push(value);
      this.steps++;
    }
    this.poisonNextFit = false;
    const mean = tf.tidy(() => tf.mean(tf.stack(losses)));
    const loss = (await mean.data())[0];
    tf.dispose([mean, ...losses]);
    return loss;
  }

  /** Share of held-out pairs ordered like the human (NaN without held-out pairs). */
  async heldOutAccuracy(): Promise<number> {
    if (this.heldOut.length === 0) return Number.NaN;
    const batch = this.pairTensors(this.heldOut);
    const accuracy = tf.tidy(() => {
      const [chosen, rejected] = this.scorePairs(batch);
      return bradleyTerry(chosen, rejected).accuracy;
    });
    const value = (await accuracy.data())[0];
    tf.dispose([accuracy, batch.tokens, batch.ends]);
    return value;
  }

  /** Fixes the normalisation from the raw scores of every response in the comparisons so far. */
  async normalise(): Promise<void> {
    const all = [...this.train, ...this.heldOut];
    const rows = all.flatMap((p) => [
      { tokens: p.chosen, end: p.chosenEnd },
      { tokens: p.rejected, end: p.rejectedEnd },
    ]);
    if (rows.length === 0) return;
    const raw = await this.rawScores(rows);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const variance = raw.reduce((a, b) => a + (b - mean) ** 2, 0) / raw.length;
    this.offset = mean;
    this.scale = Math.sqrt(variance) || 1;
  }

  /** Remembers the current weights, optimizer, training pairs and normalisation (end of stage 2). */
  keepCheckpoint(): void {
    if (this.checkpoint) disposeSnapshot(this.checkpoint.snapshot);
    const { offset, scale } = this;
    this.checkpoint = { snapshot: this.optimizer.snapshot(), trainCount: this.train.length, offset, scale };
  }

  /** Back to the checkpoint: pairs added since are dropped, weights and normalisation restored. */
  restoreCheckpoint(): void {
    const c = this.checkpoint;
    if (!c) return;
    this.optimizer.restore(c.snapshot);
    this.train.length = c.trainCount;
    this.offset = c.offset;
    this.scale = c.scale;
  }

  /** Normalised scores as a tensor, for the rollout to read back with everything else. */
  scoreTensor(tokens: Tensor2D, ends: Tensor1D): Tensor1D {
    return tf.div(tf.sub(rewardScores(this.params, this.shape, tokens, ends), this.offset), this.scale) as Tensor1D;
  }

  /**
   * Everything the next fit and score depend on, as plain data: the tensors go into `read` (values
   * of this instant), the rest is copied now; the returned function builds the snapshot after the read.
   */
  capture(read: ReadBack): () => RewardModelSnapshot {
    const [m, v] = this.optimizer.moments;
    const tensors = { params: read.add(this.params.flat), m: read.add(m), v: read.add(v) };
    const c = this.checkpoint;
    const saved = c && {
      params: read.add(c.snapshot.params),
      m: read.add(c.snapshot.m),
      v: read.add(c.snapshot.v),
      step: c.snapshot.step,
      rest: { trainCount: c.trainCount, offset: c.offset, scale: c.scale },
    };
    const t = this.shape.contextLength;
    const plain = {
      rng: this.rng.getState(),
      steps: this.steps,
      offset: this.offset,
      scale: this.scale,
      train: packComparisons(this.train, t),
      heldOut: packComparisons(this.heldOut, t),
      step: this.optimizer.step,
    };
    return () => {
      const { step, ...rest } = plain;
      const snapshot: RewardModelSnapshot = {
        ...rest,
        params: tensors.params(),
        optimizer: { step, m: tensors.m(), v: tensors.v() },
      };
      if (saved)
        snapshot.checkpoint = {
          params: saved.params(),
          optimizer: { step: saved.step, m: saved.m(), v: saved.v() },
          ...saved.rest,
        };
      return snapshot;
    };
  }

  /** Continues from a snapshot (checked by checkSnapshot): weights, Adam, comparisons, normalisation. */
  load(s: RewardModelSnapshot): void {
    loadFlat(this.params, s.params);
    this.optimizer.load(s.optimizer.step, s.optimizer.m, s.optimizer.v);
    this.rng.setState(s.rng);
    this.steps = s.steps;
    this.offset = s.offset;
    this.scale = s.scale;
    const t = this.shape.contextLength;
    // A loop, not a spread: bootstrapping can grow the pairs past a call's argument limit.
    this.train.length = 0;
    for (const pair of unpackComparisons(s.train, t)) this.train.push(pair);
    this.heldOut.length = 0;
    for (const pair of unpackComparisons(s.heldOut, t)) this.heldOut.push(pair);
    if (this.checkpoint) disposeSnapshot(this.checkpoint.snapshot);
    this.checkpoint = undefined;
    const c = s.checkpoint;
    if (c) {
      // Plain tensors, as `keepCheckpoint` makes them (clones of the variables).
      const [params, m, v] = tf.tidy(() => [
        tf.tensor1d(c.params),
        tf.tensor1d(c.optimizer.m),
        tf.tensor1d(c.optimizer.v),
      ]);
      this.checkpoint = {
        snapshot: { step: c.optimizer.step, params, m, v },
        trainCount: c.trainCount,
        offset: c.offset,
        scale: c.scale,
      };
    }
  }

  dispose(): void {
    if (this.checkpoint) disposeSnapshot(this.checkpoint.snapshot);
    disposeParams(this.params);
    this.optimizer.dispose();
  }

  private async rawScores(rows: { tokens: Int32Array; end: number }[]): Promise<number[]> {
    const t = this.shape.contextLength;
    const tokens = new Int32Array(rows.length * t);
    rows.forEach((r, i) => tokens.set(r.tokens, i * t));
    const scores = tf.tidy(() =>
      rewardScores(
        this.params,
        this.shape,
        tf.tensor2d(tokens, [rows.length, t], 'int32'),
        tf.tensor1d(
          rows.map((r) => r.end),
          'int32',
        ),
      ),
    );
    const values = Array.from(await scores.data());
    scores.dispose();
    return values;
  }

  /** Chosen rows first, then rejected rows, in one [2n, T] batch. */
  private pairTensors(pairs: readonly Comparison[]): { tokens: Tensor2D; ends: Tensor1D; n: number } {
    const t = this.shape.contextLength;
    const n = pairs.length;
    const tokens = new Int32Array(2 * n * t);
    const ends = new Int32Array(2 * n);
    pairs.forEach((p, i) => {
      tokens.set(p.chosen, i * t);
      tokens.set(p.rejected, (n + i) * t);
      ends[i] = p.chosenEnd;
      ends[n + i] = p.rejectedEnd;
    });
    return { tokens: tf.tensor2d(tokens, [2 * n, t], 'int32'), ends: tf.tensor1d(ends, 'int32'), n };
  }

  private scorePairs(batch: { tokens: Tensor2D; ends: Tensor1D; n: number }): [Tensor1D, Tensor1D] {
    const scores = rewardScores(this.params, this.shape, batch.tokens, batch.ends);
    return [tf.slice(scores, [0], [batch.n]), tf.slice(scores, [batch.n], [batch.n])];
  }
}

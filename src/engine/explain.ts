// "Explain this update": the numbers of one real update, gathered from the tensors the trainer used.
// While an update is explained, every optimizer step keeps its per-token terms (the ratio, the clip
// decision, the objective, the value loss...), its gradient norm and its loss on the device; the policy's
// and the reference's next-token distributions are kept from before and after the update; everything
// comes back in one read-back at the end (`ExplainRecorder.read`). The trainer then lays it out per
// episode (explanation.ts). No TensorFlow.js types leak into the result: it crosses to the UI thread.
import { ReadBack } from './params';
import { tf, type Scalar, type Tensor } from './tf';

/**
 * Per-token quantities an algorithm's loss can expose for one optimizer step, each [rows, T] over the
 * step's batch (non-action positions are ignored):
 * - ratio: π/π_old of the sampled token at this step's weights
 * - clipped: 1 where the ratio left the clip range (what policy/clipfrac counts), else 0; the clip holds
 *   the token back only when it left in the direction its advantage pushes (the explainer says which)
 * - objective: the token's policy-loss term before aggregation (PPO: max(−A·r, −A·clip(r)); REINFORCE: −A·log π)
 * - valueLoss: the token's value-loss term, 0.5·(V − R)² (PPO: with the value clip)
 * - value: the critic's value at this step's weights
 * - entropy: the policy's entropy at the token's position
 * - klLoss: k3 to the reference, for runs with the KL in the loss
 */
export const TOKEN_QUANTITIES = ['ratio', 'clipped', 'objective', 'valueLoss', 'value', 'entropy', 'klLoss'] as const;
export type TokenQuantity = (typeof TOKEN_QUANTITIES)[number];
export type TokenTerms = Partial<Record<TokenQuantity, Tensor>>;

/** One optimizer step as read back: which batch rows it used, its epoch, its gradient norm and loss, its per-token terms. */
export interface RecordedStep {
  /** Rows of the rollout in this step's batch, in batch order. */
  rows: number[];
  epoch: number;
  /** Gradient norm before clipping (TRPO: of the surrogate's gradient). */
  gradNorm: number;
  /** The gradient's norm after clipping to maxGradNorm (NaN where no clipping applies, e.g. TRPO). */
  clippedGradNorm: number;
  loss: number;
  /** The step's learning rate (NaN for TRPO's natural-gradient step). */
  learningRate: number;
  /** Per quantity, a [rows.length, T] array, row-major. */
  terms: Partial<Record<TokenQuantity, Float32Array>>;
  /** Free-form facts of this step (TRPO: the step's KL, backtracks). */
  facts: Record<string, number>;
}

interface PendingStep {
  rows: number[];
  epoch: number;
  gradNorm: Scalar;
  loss: Scalar;
  maxGradNorm: number;
  learningRate: number;
  terms: Array<[TokenQuantity, Tensor]>;
  facts: Record<string, number>;
}

/** Keeps each optimizer step's per-token terms on the device during an explained update. */
export class ExplainRecorder {
  /** Set by loops with epochs (PPO, GRPO) before each epoch's steps. */
  epoch = 0;
  /** The rows of the batch the next recorded step runs on (set by stepOnBatch). */
  rows: number[] = [];
  private readonly steps: PendingStep[] = [];
  private readonly extra: Tensor[] = [];

  /**
   * Records one step: the tensors are cloned and kept (the caller may dispose its own). `maxGradNorm`
   * 0 means no clipping; NaN for a step that is not a clipped gradient step (TRPO).
   */
  record(step: {
    gradNorm: Scalar;
    loss: Scalar;
    maxGradNorm: number;
    learningRate: number;
    terms?: TokenTerms;
    facts?: Record<string, number>;
  }): void {
    const keep = <T extends Tensor>(t: T): T => tf.keep(t.clone()) as T;
    this.steps.push({
      rows: [...this.rows],
      epoch: this.epoch,
      gradNorm: keep(step.gradNorm),
      loss: keep(step.loss),
      maxGradNorm: step.maxGradNorm,
      learningRate: step.learningRate,
      terms: Object.entries(step.terms ?? {})
        .filter((entry): entry is [TokenQuantity, Tensor] => entry[1] !== undefined)
        .map(([name, t]) => [name, tf.keep(t.dtype === 'float32' ? t.clone() : tf.cast(t, 'float32'))]),
      facts: { ...step.facts },
    });
  }

  /** Keeps a tensor to be read back with the steps (the trainer's distributions); returns its reader. */
  keep(tensor: Tensor, read: ReadBack): () => Float32Array {
    this.extra.push(tensor);
    return read.add(tensor);
  }

  /** Adds every step's tensors to `read`; after `read.read()`, the returned function gives the steps. */
  collect(read: ReadBack): () => RecordedStep[] {
    const readers = this.steps.map((s) => ({
      step: s,
      gradNorm: read.add(s.gradNorm),
      loss: read.add(s.loss),
      terms: s.terms.map(([name, t]) => [name, read.add(t)] as const),
    }));
    return () =>
      readers.map(({ step, gradNorm, loss, terms }) => {
        const norm = gradNorm()[0];
        const clippedGradNorm = Number.isNaN(step.maxGradNorm)
          ? Number.NaN
          : step.maxGradNorm > 0
            ? norm * Math.min(1, step.maxGradNorm / (norm + 1e-6))
            : norm;
        return {
          rows: step.rows,
          epoch: step.epoch,
          gradNorm: norm,
          clippedGradNorm,
          loss: loss()[0],
          learningRate: step.learningRate,
          terms: Object.fromEntries(terms.map(([name, reader]) => [name, reader()])),
          facts: step.facts,
        };
      });
  }

  dispose(): void {
    for (const s of this.steps) tf.dispose([s.gradNorm, s.loss, ...s.terms.map(([, t]) => t)]);
    tf.dispose(this.extra);
    this.steps.length = 0;
    this.extra.length = 0;
  }
}

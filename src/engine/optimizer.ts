// Adam with an explicit epsilon (tfjs otherwise picks 1e-4 on devices it judges 16-bit) and global
// gradient-norm clipping, written out so that its state can be snapshot and restored by the NaN guard
// and the learning rate can change between steps.
import type { Params } from './model';
import { tf, type Scalar, type Tensor, type Variable } from './tf';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const ADAM_DEFAULTS: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-5 };

export class Adam {
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();
  /** Optimizer steps taken; bias correction uses it. */
  step = 0;

  constructor(
    private readonly params: Params,
    private readonly settings: AdamSettings = ADAM_DEFAULTS,
  ) {
    for (const [name, p] of params) {
      // tidy frees the zeros the variables copy (variables themselves survive a tidy).
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * One Adam step. Gradients are first scaled so their global norm is at most maxGradNorm (0 = off).
   * Parameters without a gradient (null: unused by this loss, e.g. the value head under REINFORCE)
   * are left alone. Returns the global norm before clipping (a scalar the caller owns).
   */
  apply(allGrads: ReadonlyMap<string, Tensor | null>, learningRate: number, maxGradNorm: number): Scalar {
    const grads = new Map([...allGrads].filter((entry): entry is [string, Tensor] => entry[1] != null));
    this.step++;
    const { beta1, beta2, epsilon } = this.settings;
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    return tf.tidy(() => {
      const norm = globalNorm([...grads.values()]);
      const scale = maxGradNorm > 0 ? tf.minimum(1, tf.div(maxGradNorm, tf.add(norm, 1e-6))) : tf.scalar(1);
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        const clipped = tf.mul(g, scale);
        const m = this.m.get(name) as Variable;
        const v = this.v.get(name) as Variable;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(clipped, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(clipped), 1 - beta2)));
        p.assign(tf.sub(p, tf.mul(stepSize, tf.div(m, tf.add(tf.sqrt(v), epsilon)))));
      }
      return norm;
    });
  }

  /** Copies of every parameter and moment, for the NaN guard to restore. */
  snapshot(): OptimizerSnapshot {
    const copy = (vars: Map<string, Variable>) => new Map([...vars].map(([k, t]) => [k, t.clone()]));
    return { step: this.step, params: copy(this.params), m: copy(this.m), v: copy(this.v) };
  }

  restore(s: OptimizerSnapshot): void {
    this.step = s.step;
    for (const [target, source] of [
      [this.params, s.params],
      [this.m, s.m],
      [this.v, s.v],
    ] as const) {
      for (const [k, t] of source) target.get(k)?.assign(t);
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

export interface OptimizerSnapshot {
  step: number;
  params: Map<string, Tensor>;
  m: Map<string, Tensor>;
  v: Map<string, Tensor>;
}

export function disposeSnapshot(s: OptimizerSnapshot): void {
  for (const map of [s.params, s.m, s.v]) for (const t of map.values()) t.dispose();
}

export function globalNorm(tensors: readonly Tensor[]): Scalar {
  // stack + sum, not addN: tfjs-backend-webgpu 4.22's addN sums only the first 5 of more inputs.
  return tf.tidy(() => tf.sqrt(tf.sum(tf.stack(tensors.map((t) => tf.sum(tf.square(t)))))) as Scalar);
}

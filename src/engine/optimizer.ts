// Adam with an explicit epsilon (tfjs otherwise picks 1e-4 on devices it judges 16-bit) and global
// gradient-norm clipping, on the model's one flat parameter vector: a whole step is a handful of
// kernels. Written out so its state can be snapshot and restored by the NaN guard and the learning
// rate can change between steps. On the wasm backend the step is one SIMD kernel (kernels/wasm-fused.ts),
// on WebGPU's software adapter the norm and three programs (kernels/webgpu-fused.ts).
import { hasFusedKernel, KERNELS } from './kernels/wasm-fused';
import { hasWebgpuFused } from './kernels/webgpu-fused-ops';
import type { Params } from './params';
import { tf, type Scalar, type Tensor, type Variable } from './tf';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const ADAM_DEFAULTS: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-5 };

/** The policy optimizer's settings from a run's config (β₁ is fixed). */
export function adamSettingsOf(config: { adamBeta2: number; adamEpsilon: number }): AdamSettings {
  return { beta1: ADAM_DEFAULTS.beta1, beta2: config.adamBeta2, epsilon: config.adamEpsilon };
}

export class Adam {
  private readonly m: Variable;
  private readonly v: Variable;
  /** Optimizer steps taken; bias correction uses it. */
  step = 0;

  constructor(
    private readonly params: Params,
    /** Read at every step, so a live change of β₂ or ε applies from the next one. */
    public settings: AdamSettings = ADAM_DEFAULTS,
  ) {
    // tidy frees the zeros the variables copy (variables themselves survive a tidy).
    this.m = tf.tidy(() => tf.variable(tf.zerosLike(params.flat), false));
    this.v = tf.tidy(() => tf.variable(tf.zerosLike(params.flat), false));
  }

  /**
   * One Adam step on the gradient of the flat parameters. The gradient is first scaled so its norm is
   * at most maxGradNorm (0 = off). Parameters a loss does not use get a zero gradient and stay put
   * (their moments stay zero). Returns the norm before clipping (a scalar the caller owns).
   */
  apply(grad: Tensor, learningRate: number, maxGradNorm: number): Scalar {
    this.step++;
    const { beta1, beta2, epsilon } = this.settings;
    const stepSize = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    if (hasFusedKernel('adam') || hasWebgpuFused('adam')) {
      const p = this.params.flat;
      const attrs = { beta1, beta2, epsilon, stepSize, maxGradNorm };
      const [params, m, v, norm] = tf
        .engine()
        .runKernel(KERNELS.adam, { grad, params: p, m: this.m, v: this.v }, attrs) as unknown as Tensor[];
      p.assign(params);
      this.m.assign(m);
      this.v.assign(v);
      tf.dispose([params, m, v]);
      return norm as Scalar;
    }
    return tf.tidy(() => {
      const norm = tf.sqrt(tf.sum(tf.square(grad))) as Scalar;
      const clipped = maxGradNorm > 0 ? tf.mul(grad, tf.minimum(1, tf.div(maxGradNorm, tf.add(norm, 1e-6)))) : grad;
      this.m.assign(tf.add(tf.mul(this.m, beta1), tf.mul(clipped, 1 - beta1)));
      this.v.assign(tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(clipped), 1 - beta2)));
      const p = this.params.flat;
      p.assign(tf.sub(p, tf.mul(stepSize, tf.div(this.m, tf.add(tf.sqrt(this.v), epsilon)))));
      return norm;
    });
  }

  /** Copies of the parameters and both moments, for the NaN guard to restore. */
  snapshot(): OptimizerSnapshot {
    return { step: this.step, params: this.params.flat.clone(), m: this.m.clone(), v: this.v.clone() };
  }

  restore(s: OptimizerSnapshot): void {
    this.step = s.step;
    this.params.flat.assign(s.params);
    this.m.assign(s.m);
    this.v.assign(s.v);
  }

  /** Both moments, for a saved run to read back (they stay owned here). */
  get moments(): readonly [Variable, Variable] {
    return [this.m, this.v];
  }

  /** Continues from saved state (a restored run): step count and both moments. */
  load(step: number, m: Float32Array, v: Float32Array): void {
    const size = this.params.flat.size;
    if (m.length !== size || v.length !== size)
      throw new Error(`expected ${size} values per Adam moment, got ${m.length} and ${v.length}`);
    this.step = step;
    tf.tidy(() => {
      this.m.assign(tf.tensor1d(m));
      this.v.assign(tf.tensor1d(v));
    });
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}

export interface OptimizerSnapshot {
  step: number;
  params: Tensor;
  m: Tensor;
  v: Tensor;
}

export function disposeSnapshot(s: OptimizerSnapshot): void {
  tf.dispose([s.params, s.m, s.v]);
}

// All of a model's parameters in one flat variable, with a layout that names the slices. One variable
// means the optimizer updates every weight in a handful of kernels instead of ten per tensor, and a
// snapshot or a frozen copy is a single clone. The forward pass takes named views with `views`.
import { Random } from './random';
import { tf, type Tensor, type Tensor1D, type Variable } from './tf';

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface Params {
  /** Every parameter, concatenated in layout order. */
  flat: Variable;
  layout: readonly ParamEntry[];
  /**
   * A policy's action vocabulary as a constant added to its logits [V]: 0 for a token it may write,
   * −1e9 for any other, so those have probability 0 (exp underflows to exactly 0: no NaN in entropy).
   * Not a parameter: no gradient, not in `flat`. Absent for a model whose logits are not a policy.
   */
  logitMask?: Tensor1D;
}

/** Far below any logit, yet finite: −∞ would turn 0·log 0 into NaN. */
export const FORBIDDEN = -1e9;

/** The additive logit mask of an action vocabulary: 0 at each id in `actions`, −1e9 elsewhere. */
export function logitMaskOf(vocabSize: number, actions: readonly number[]): Tensor1D {
  const mask = new Float32Array(vocabSize).fill(FORBIDDEN);
  for (const id of actions) mask[id] = 0;
  return tf.tensor1d(mask);
}

/** How each parameter starts: normal(0, std) or a constant. */
export type ParamInit = { normal: number } | { constant: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

/** tfjs wants every variable name unique in the process; several models may coexist. */
let variableCount = 0;

function layoutOf(specs: readonly ParamSpec[]): ParamEntry[] {
  let offset = 0;
  return specs.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { name, shape, offset, size };
    offset += size;
    return entry;
  });
}

/** Draws the parameters in spec order from one seeded generator (constants draw nothing). */
export function createParams(specs: readonly ParamSpec[], seed: number, prefix: string, logitMask?: Tensor1D): Params {
  const rng = new Random(seed);
  const layout = layoutOf(specs);
  const total = layout.reduce((n, e) => n + e.size, 0);
  const values = new Float32Array(total);
  specs.forEach((spec, i) => {
    const { offset, size } = layout[i];
    for (let k = 0; k < size; k++)
      values[offset + k] = 'normal' in spec.init ? rng.normal() * spec.init.normal : spec.init.constant;
  });
  const flat = tf.tidy(() => tf.variable(tf.tensor1d(values), true, `${prefix}${variableCount++}`));
  return logitMask ? { flat, layout, logitMask } : { flat, layout };
}

export function cloneParams(params: Params, prefix: string, trainable: boolean): Params {
  const flat = tf.tidy(() => tf.variable(params.flat.clone(), trainable, `${prefix}${variableCount++}`));
  return params.logitMask
    ? { flat, layout: params.layout, logitMask: params.logitMask.clone() }
    : { flat, layout: params.layout };
}

export function disposeParams(params: Params): void {
  params.flat.dispose();
  params.logitMask?.dispose();
}

export function countParams(params: Params): number {
  return params.flat.size;
}

/**
 * Named 1-D slices of the flat variable (gradients flow back into it); the layers reshape weight
 * matrices themselves. Call inside tf.tidy or a gradient function.
 */
export function views(params: Params): Map<string, Tensor> {
  const parts = tf.split(
    params.flat,
    params.layout.map((e) => e.size),
  );
  return new Map(params.layout.map((e, i) => [e.name, parts[i]]));
}

/** One parameter's current values, read back (for tests and inspection, not the training loop). */
export function readParam(params: Params, name: string): Float32Array {
  const entry = params.layout.find((e) => e.name === name);
  if (!entry) throw new Error(`model parameter ${name} is missing`);
  return (params.flat.dataSync() as Float32Array).slice(entry.offset, entry.offset + entry.size);
}

/** Overwrites every parameter with saved values (a restored run); the length must match the layout. */
export function loadFlat(params: Params, values: Float32Array): void {
  if (values.length !== params.flat.size)
    throw new Error(`expected ${params.flat.size} parameter values, got ${values.length}`);
  // The variable keeps the new tensor's data; tidy frees the wrapper.
  tf.tidy(() => params.flat.assign(tf.tensor1d(values)));
}

/**
 * Collects float tensors to read back together: `add` returns a getter for a tensor's values, valid
 * once `read` has finished. `read` concatenates synchronously (the values are those of that instant)
 * and reads once; every value is a copy in its own buffer, so a structured clone copies only it.
 */
export class ReadBack {
  private readonly tensors: Tensor[] = [];
  private values: Float32Array[] | undefined;

  add(tensor: Tensor): () => Float32Array {
    const i = this.tensors.push(tensor) - 1;
    return () => {
      if (!this.values) throw new Error('ReadBack: values requested before read()');
      return this.values[i];
    };
  }

  async read(): Promise<void> {
    if (this.tensors.length === 0) {
      this.values = [];
      return;
    }
    const all = tf.tidy(() => tf.concat(this.tensors.map((t) => tf.reshape(t, [-1]))));
    try {
      const data = (await all.data()) as Float32Array;
      let offset = 0;
      this.values = this.tensors.map((t) => {
        const part = data.slice(offset, offset + t.size);
        offset += t.size;
        return part;
      });
    } finally {
      all.dispose();
    }
  }
}

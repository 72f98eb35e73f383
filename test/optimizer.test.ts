// Adam (src/engine/optimizer.ts) against numbers worked out by hand from its formulas, three steps each:
//   g ← g · min(1, maxGradNorm / (‖g‖ + 1e-6))                  (when maxGradNorm > 0)
//   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²               (β1 = 0.9, β2 = 0.999)
//   p ← p − lr·√(1 − β2^t)/(1 − β1^t) · m / (√v + ε)             (ε = 1e-5)
// The bias correction is folded into the step size, so ε sits beside √v, not √v̂ (Kingma & Ba's ε̂
// form, as tf.keras; PyTorch adds ε to √v̂). It only shows for gradients near ε: the third coordinate
// below. Parameters are float32, so comparisons use 6 decimal places.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, ADAM_DEFAULTS, disposeSnapshot } from '../src/engine/optimizer';
import { createParams, disposeParams, type Params } from '../src/engine/params';
import { tf } from '../src/engine/tf';
import { startBackend } from './support/engine';

function paramsOf(values: number[]): Params {
  return createParams(
    values.map((v, i) => ({ name: `p${i}`, shape: [1], init: { constant: v } })),
    0,
    'adam-test',
  );
}

/** One step; returns the parameters after it and the gradient norm the step reported. */
function step(adam: Adam, params: Params, grad: number[], lr: number, maxGradNorm: number): [number[], number] {
  const g = tf.tensor1d(grad);
  const norm = adam.apply(g, lr, maxGradNorm);
  const reported = norm.dataSync()[0];
  tf.dispose([g, norm]);
  return [Array.from(params.flat.dataSync()), reported];
}

function expectAllClose(actual: readonly number[], expected: readonly number[], digits = 6): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a, `index ${i}`).toBeCloseTo(expected[i], digits));
}

describe.each(['cpu', 'wasm'] as const)('Adam on %s', (backend) => {
  let tensorsBefore = 0;
  beforeAll(async () => {
    await startBackend(backend);
    tensorsBefore = tf.memory().numTensors;
  });
  afterAll(() => {
    // Every test disposes its parameters, optimizer, gradients and norms.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('uses β1 = 0.9, β2 = 0.999, ε = 1e-5', () => {
    expect(ADAM_DEFAULTS).toEqual({ beta1: 0.9, beta2: 0.999, epsilon: 1e-5 });
  });

  it('matches three hand-computed steps without clipping', () => {
    // lr = 0.1, p = [1, −2, 0.5, 3]; step sizes lr·√(1 − 0.999^t)/(1 − 0.9^t):
    //   t = 1: 0.1·√0.001/0.1        = 0.0316227766
    //   t = 2: 0.1·√0.001999/0.19    = 0.0235316725
    //   t = 3: 0.1·√0.002997001/0.271 = 0.0202010597
    const params = paramsOf([1, -2, 0.5, 3]);
    const adam = new Adam(params);

    // t = 1, g = [0.5, −1, 1e-4, 0]: m = 0.1·g = [0.05, −0.1, 1e-5, 0], v = 0.001·g² = [2.5e-4, 1e-3, 1e-11, 0]
    //   p0 = 1 − 0.0316227766·0.05/(0.0158113883 + 1e-5)       = 0.9000632056
    //   p1 = −2 + 0.0316227766·0.1/(0.0316227766 + 1e-5)       = −1.9000316128
    //   p2 = 0.5 − 0.0316227766·1e-5/(3.16227766e-6 + 1e-5)    = 0.4759746927 (PyTorch's ε: 0.4090909)
    //   p3: zero gradient, zero moments, no move                = 3
    const [after1, norm] = step(adam, params, [0.5, -1, 1e-4, 0], 0.1, 0);
    expectAllClose(after1, [0.9000632056, -1.9000316128, 0.4759746927, 3]);
    // ‖g‖ = √(0.25 + 1 + 1e-8) = 1.1180339932
    expect(norm).toBeCloseTo(1.1180339932, 6);

    // t = 2, g = [0.1, 1, 1e-4, 0]: m = 0.9·m + 0.1·g = [0.055, 0.01, 1.9e-5, 0]
    //   v = 0.999·v + 0.001·g² = [2.5975e-4, 1.999e-3, 1.999e-11, 0]
    //   p0 = 0.9000632056 − 0.0235316725·0.055/(0.0161167610 + 1e-5) = 0.8198089033
    //   p1 = −1.9000316128 − 0.0235316725·0.01/(0.0447101778 + 1e-5) = −1.9052935940
    //   p2 = 0.4759746927 − 0.0235316725·1.9e-5/(4.4710178e-6 + 1e-5) = 0.4450783324
    const [after2] = step(adam, params, [0.1, 1, 1e-4, 0], 0.1, 0);
    expectAllClose(after2, [0.8198089033, -1.905293594, 0.4450783324, 3]);

    // t = 3, g = [−0.2, 0.5, −1e-4, 0]: m = [0.0295, 0.059, 7.1e-6, 0]
    //   v = [2.9949025e-4, 2.247001e-3, 2.997001e-11, 0]
    //   p0 = 0.8198089033 − 0.0202010597·0.0295/(0.0173057866 + 1e-5) = 0.7853934143
    //   p1 = −1.9052935940 − 0.0202010597·0.059/(0.0474025421 + 1e-5) = −1.9304317210
    //   p2 = 0.4450783324 − 0.0202010597·7.1e-6/(5.4744872e-6 + 1e-5) = 0.4358096877
    const [after3] = step(adam, params, [-0.2, 0.5, -1e-4, 0], 0.1, 0);
    expectAllClose(after3, [0.7853934143, -1.930431721, 0.4358096877, 3]);
    expect(adam.step).toBe(3);

    adam.dispose();
    disposeParams(params);
  });

  it('clips the gradient to norm maxGradNorm before the moments, and reports the norm before clipping', () => {
    // lr = 0.1, maxGradNorm = 1, p = [1, −1]; step sizes as above.
    const params = paramsOf([1, -1]);
    const adam = new Adam(params);

    // t = 1, g = [3, 4], ‖g‖ = 5 → ·1/(5 + 1e-6): g = [0.59999988, 0.79999984]
    //   m = [0.059999988, 0.079999984], v = [3.59999856e-4, 6.39999744e-4]
    //   p0 = 1 − 0.0316227766·0.059999988/(0.0189736660 + 1e-5)  = 0.9000526769
    //   p1 = −1 − 0.0316227766·0.079999984/(0.0252982213 + 1e-5) = −1.0999604870
    let [p, norm] = step(adam, params, [3, 4], 0.1, 1);
    expectAllClose(p, [0.9000526769, -1.099960487]);
    expect(norm).toBeCloseTo(5, 5);

    // t = 2, g = [0.3, 0.4], ‖g‖ = 0.5 < 1: not scaled
    //   m = [0.0839999892, 0.1119999856], v = [4.496398561e-4, 7.993597443e-4]
    //   p0 = 0.9000526769 − 0.0235316725·0.0839999892/(0.0212047132 + 1e-5) = 0.8068786503
    //   p1 = −1.0999604870 − 0.0235316725·0.1119999856/(0.0282729949 + 1e-5) = −1.1931454950
    [p, norm] = step(adam, params, [0.3, 0.4], 0.1, 1);
    expectAllClose(p, [0.8068786503, -1.193145495]);
    expect(norm).toBeCloseTo(0.5, 6);

    // t = 3, g = [−6, 8], ‖g‖ = 10 → [−0.59999994, 0.79999992]
    //   m = [0.0155999963, 0.180799979], v = [8.091901443e-4, 1.438560257e-3]
    //   p0 = 0.8068786503 − 0.0202010597·0.0155999963/(0.0284462676 + 1e-5) = 0.7958042374
    //   p1 = −1.1931454950 − 0.0202010597·0.180799979/(0.0379283615 + 1e-5) = −1.2894161690
    [p, norm] = step(adam, params, [-6, 8], 0.1, 1);
    expectAllClose(p, [0.7958042374, -1.289416169]);
    expect(norm).toBeCloseTo(10, 5);

    adam.dispose();
    disposeParams(params);
  });

  it('without clipping the same gradients give different numbers (the clip above is not vacuous)', () => {
    // t = 1..3 with g = [3, 4], [0.3, 0.4], [−6, 8] unclipped:
    //   m = [0.3, 0.4] → [0.3, 0.4] → [−0.33, 1.16]; v = [0.009, 0.016] → [0.009081, 0.016144] → [0.045071919, 0.080127856]
    //   p = [0.9000105398, −1.0999920947] → [0.8259372486, −1.1740673290] → [0.8573361616, −1.2568472560]
    const params = paramsOf([1, -1]);
    const adam = new Adam(params);
    step(adam, params, [3, 4], 0.1, 0);
    step(adam, params, [0.3, 0.4], 0.1, 0);
    const [p] = step(adam, params, [-6, 8], 0.1, 0);
    expectAllClose(p, [0.8573361616, -1.256847256]);
    adam.dispose();
    disposeParams(params);
  });

  it('restore puts back the parameters, both moments and the step count', () => {
    const params = paramsOf([1, -1]);
    const adam = new Adam(params);
    step(adam, params, [3, 4], 0.1, 0);
    const snapshot = adam.snapshot();
    step(adam, params, [100, -100], 0.1, 0);
    adam.restore(snapshot);
    disposeSnapshot(snapshot);
    expect(adam.step).toBe(1);
    // Continuing as in the unclipped run above: t = 2 with g = [0.3, 0.4] gives its numbers exactly.
    const [p] = step(adam, params, [0.3, 0.4], 0.1, 0);
    expectAllClose(p, [0.8259372486, -1.174067329]);
    adam.dispose();
    disposeParams(params);
  });
});

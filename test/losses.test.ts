// Tensor loss terms (docs/reference.md §4) on tiny hand-built batches. Values are float32, so comparisons use
// ~5–6 decimal places. Masked positions deliberately hold huge or infinite values: they must not leak.
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor, type Tensor2D } from '../src/engine/tf';
import {
  bradleyTerry,
  clippedSurrogate,
  clippedValueLoss,
  maskedMean,
  policyGradientLoss,
  valueLoss,
} from '../src/engine/algorithms/losses';
import { entropy, tokenLogProbs } from '../src/engine/log-probs';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const row = (xs: number[]): Tensor2D => tf.tensor2d([xs]);
const maskRow = (xs: boolean[]): Tensor2D => tf.tensor2d([xs], [1, xs.length], 'bool');
const scalar = (t: Tensor): number => t.dataSync()[0];

function expectAllClose(actual: ArrayLike<number>, expected: readonly number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  Array.from(actual).forEach((a, i) => expect(a, `index ${i}`).toBeCloseTo(expected[i], digits));
}

describe('maskedMean', () => {
  it('averages only the masked-in positions, dividing by count', () => {
    // (1 + 2 + 100) / 3 = 34.333…; the 7 at the masked position is ignored
    const m = maskedMean(row([1, 2, 7, 100]), maskRow([true, true, false, true]), 3);
    expect(scalar(m)).toBeCloseTo(103 / 3, 4);
  });

  it('ignores infinite and NaN values at masked positions', () => {
    const m = maskedMean(row([Infinity, 4, NaN, -Infinity, 6]), maskRow([false, true, false, false, true]), 2);
    expect(scalar(m)).toBe(5);
  });

  it('is 0, not NaN, when nothing is masked in', () => {
    expect(scalar(maskedMean(row([3, 4]), maskRow([false, false]), 0))).toBe(0);
  });

  it('works over a [batch, time] matrix', () => {
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const mask = tf.tensor2d(
      [
        [false, true, true],
        [true, false, false],
      ],
      [2, 3],
      'bool',
    );
    // (2 + 3 + 4) / 3 = 3
    expect(scalar(maskedMean(x, mask, 3))).toBeCloseTo(3, 6);
  });
});

describe('tokenLogProbs and entropy', () => {
  it('logp is the log-softmax of the chosen token', () => {
    // position 0: logits [1, 2, 3], next token 2 → 3 − log(e + e² + e³)
    // position 1: logits [2, 0, −1], next token 0 → 2 − log(e² + 1 + e^−1)
    const logits = tf.tensor3d([
      [
        [1, 2, 3],
        [2, 0, -1],
      ],
    ]);
    const next = tf.tensor2d([[2, 0]], [1, 2], 'int32');
    const { logp, logSoftmax } = tokenLogProbs(logits as tf.Tensor3D, next as tf.Tensor2D);
    expect(logp.shape).toEqual([1, 2]);
    const expected0 = 3 - Math.log(Math.E + Math.E ** 2 + Math.E ** 3); // −0.4076059644
    const expected1 = 2 - Math.log(Math.E ** 2 + 1 + Math.exp(-1)); // −0.1698990
    expectAllClose(logp.dataSync(), [expected0, expected1]);
    // the full log-softmax is returned too, and each row's probabilities sum to 1
    expect(logSoftmax.shape).toEqual([1, 2, 3]);
    expectAllClose(tf.sum(tf.exp(logSoftmax), -1).dataSync(), [1, 1]);
    expect(logSoftmax.dataSync()[0]).toBeCloseTo(1 - Math.log(Math.E + Math.E ** 2 + Math.E ** 3), 6);
  });

  it('entropy of a uniform distribution over V tokens is log V', () => {
    const V = 7;
    const logits = tf.fill([2, 3, V], 0.37) as tf.Tensor3D; // any constant logits are uniform
    const h = entropy(tf.logSoftmax(logits, -1) as tf.Tensor3D);
    expect(h.shape).toEqual([2, 3]);
    expectAllClose(h.dataSync(), new Array(6).fill(Math.log(V)), 5);
  });

  it('entropy of probabilities [1/2, 1/4, 1/4] is 1.5·ln 2', () => {
    // −(½ ln ½ + 2·¼ ln ¼) = ½ ln 2 + ln 2 = 1.0397207708
    const logits = tf.tensor3d([[[Math.log(0.5), Math.log(0.25), Math.log(0.25)]]]);
    const h = entropy(tf.logSoftmax(logits, -1) as tf.Tensor3D);
    expect(scalar(h)).toBeCloseTo(1.5 * Math.LN2, 5);
  });
});

describe('policyGradientLoss', () => {
  it('is −mean(A·logp) over masked-in tokens', () => {
    // A = [2, −1, 0.5], logp = [−0.5, −1, −2]: A·logp = [−1, 1, −1], mean −1/3, loss +1/3
    const loss = policyGradientLoss(row([-0.5, -1, -2, -Infinity]), {
      advantages: row([2, -1, 0.5, 0]),
      mask: maskRow([true, true, true, false]),
      count: 3,
    });
    expect(scalar(loss)).toBeCloseTo(1 / 3, 6);
  });

  it('has gradient −A/count w.r.t. logp on action tokens and 0 elsewhere', () => {
    const batch = { advantages: row([2, -1, 0.5, 9]), mask: maskRow([true, true, true, false]), count: 3 };
    const g = tf.grad((logp: Tensor) => policyGradientLoss(logp, batch))(row([-0.5, -1, -2, -3]));
    expectAllClose(g.dataSync(), [-2 / 3, 1 / 3, -0.5 / 3, 0]);
  });
});

describe('clippedSurrogate (PPO)', () => {
  const eps = 0.2;
  const oldLogp = -1;
  /** logp for a wanted ratio: old + ln r. */
  const lp = (ratio: number): number => oldLogp + Math.log(ratio);

  it('uses (1+ε)·A when ratio 1.5 exceeds 1+ε with a positive advantage', () => {
    // A = 2, r = 1.5: max(−2·1.5, −2·1.2) = max(−3, −2.4) = −2.4
    // masked positions: logp = +∞ (ratio ∞) and a huge logp with an infinite advantage
    const { loss, clipfrac } = clippedSurrogate(
      row([Infinity, lp(1.5), 1e30]),
      {
        oldLogp: row([oldLogp, oldLogp, oldLogp]),
        advantages: row([1, 2, Infinity]),
        mask: maskRow([false, true, false]),
        count: 1,
      },
      eps,
    );
    expect(scalar(loss)).toBeCloseTo(-2.4, 5);
    expect(scalar(clipfrac)).toBe(1);
  });

  it('uses ratio·A when ratio 1.1 is inside [1−ε, 1+ε]', () => {
    // A = 2, r = 1.1: max(−2.2, −2.2) = −2.2
    const { loss, clipfrac } = clippedSurrogate(
      row([Infinity, lp(1.1), 1e30]),
      {
        oldLogp: row([oldLogp, oldLogp, oldLogp]),
        advantages: row([1, 2, Infinity]),
        mask: maskRow([false, true, false]),
        count: 1,
      },
      eps,
    );
    expect(scalar(loss)).toBeCloseTo(-2.2, 5);
    expect(scalar(clipfrac)).toBe(0);
  });

  // One batch covering each case, plus a masked +∞ logp; count = 6 action tokens.
  //   ratio  A    −A·r   −A·clip(r)   max
  //   1.5    2    −3.0   −2.4         −2.4  (clip binds: optimistic step capped)
  //   0.5   −1     0.5    0.8          0.8  (clip binds: optimistic step capped)
  //   0.5    2    −1.0   −1.6         −1.0  (pessimistic: unclipped term kept)
  //   1.5   −1     1.5    1.2          1.5  (pessimistic: unclipped term kept)
  //   1.1    1    −1.1   −1.1         −1.1  (inside the range)
  //   0.9   −3     2.7    2.7          2.7  (inside the range)
  // sum = 0.5 → loss = 0.5 / 6
  const ratios = [1.5, 0.5, 0.5, 1.5, 1.1, 0.9];
  const advs = [2, -1, 2, -1, 1, -3];
  const batch = () => ({
    logp: row([...ratios.map(lp), Infinity]),
    targets: {
      oldLogp: row([...ratios.map(() => oldLogp), oldLogp]),
      advantages: row([...advs, 5]),
      mask: maskRow([true, true, true, true, true, true, false]),
      count: 6,
    },
  });

  it('takes the pessimistic max term by term and ignores an infinite masked logp', () => {
    const b = batch();
    const { loss } = clippedSurrogate(b.logp, b.targets, eps);
    expect(Number.isNaN(scalar(loss))).toBe(false);
    expect(scalar(loss)).toBeCloseTo(0.5 / 6, 5);
  });

  it('clipfrac is the fraction of action tokens whose ratio left [1−ε, 1+ε]', () => {
    const b = batch();
    // 1.5, 0.5, 0.5, 1.5 are outside; 1.1 and 0.9 inside → 4/6 (the masked ∞ ratio does not count)
    expect(scalar(clippedSurrogate(b.logp, b.targets, eps).clipfrac)).toBeCloseTo(4 / 6, 6);
  });

  it('approxKl is the mean of (r − 1) − log r over action tokens', () => {
    const b = batch();
    // (r−1) − ln r: 1.5 → 0.0945348919, 0.5 → 0.1931471806, 1.1 → 0.0046898202, 0.9 → 0.0053605157
    const k3 = [
      0.5 - Math.log(1.5),
      -0.5 - Math.log(0.5),
      -0.5 - Math.log(0.5),
      0.5 - Math.log(1.5),
      0.1 - Math.log(1.1),
      -0.1 - Math.log(0.9),
    ];
    const expected = k3.reduce((a, x) => a + x, 0) / 6; // 0.0975690…
    const { approxKl } = clippedSurrogate(b.logp, b.targets, eps);
    expect(scalar(approxKl)).toBeCloseTo(expected, 5);
    expect(scalar(approxKl)).toBeCloseTo(0.097569, 5);
  });

  it('approxKl and clipfrac are 0 when the policy has not moved', () => {
    const same = row([-0.3, -2, -1]);
    const targets = { oldLogp: same, advantages: row([1, -1, 2]), mask: maskRow([true, true, true]), count: 3 };
    const terms = clippedSurrogate(same, targets, eps);
    expect(scalar(terms.approxKl)).toBeCloseTo(0, 7);
    expect(scalar(terms.clipfrac)).toBe(0);
    // ratio 1 everywhere: loss = −mean(A) = −(1 − 1 + 2)/3
    expect(scalar(terms.loss)).toBeCloseTo(-2 / 3, 6);
  });

  it('gradient w.r.t. logp is 0 where the clip binds and −A·ratio/count where it does not', () => {
    const b = batch();
    const logpFinite = row([...ratios.map(lp), 3]); // finite masked value for this check
    const g = tf.grad((logp: Tensor) => clippedSurrogate(logp, b.targets, eps).loss)(logpFinite);
    // d(−A·r)/dlogp = −A·r since dr/dlogp = r
    expectAllClose(g.dataSync(), [
      0, //                 r 1.5, A  2: clipped
      0, //                 r 0.5, A −1: clipped
      (-2 * 0.5) / 6, //    r 0.5, A  2: pessimistic, unclipped → −0.1666…
      (1 * 1.5) / 6, //     r 1.5, A −1: pessimistic, unclipped → 0.25
      (-1 * 1.1) / 6, //    r 1.1, A  1: inside → −0.18333…
      (3 * 0.9) / 6, //     r 0.9, A −3: inside → 0.45
      0, //                 masked
    ]);
  });

  it('gradient w.r.t. logp stays 0 (not NaN) at a masked position whose ratio overflows', () => {
    // logp − old = 1e30 at the masked position: exp overflows to ∞ in float32. The forward pass is
    // protected by tf.where; the backward pass must be too, or one padding slot poisons every weight.
    const b = batch();
    const logpHuge = row([...ratios.map(lp), 1e30]);
    const g = tf.grad((logp: Tensor) => clippedSurrogate(logp, b.targets, eps).loss)(logpHuge);
    const grads = Array.from(g.dataSync());
    expect(grads.every(Number.isFinite)).toBe(true);
    expect(grads[6]).toBe(0);
  });
});

describe('value losses', () => {
  it('valueLoss is 0.5·mean((V − R)²) over action tokens', () => {
    // V − R = [−0.5, −0.9, 0.5] → squares 0.25, 0.81, 0.25 → 0.5 · 1.31 / 3 = 0.2183333
    const loss = valueLoss(row([1.5, 1.1, 1.5, Infinity]), {
      returns: row([2, 2, 1, 0]),
      mask: maskRow([true, true, true, false]),
      count: 3,
    });
    expect(scalar(loss)).toBeCloseTo(1.31 / 6, 6);
  });

  it('clippedValueLoss uses the clipped value when it is the worse fit (clip binds)', () => {
    // V_old 1, V 1.5, R 2, ε 0.2: V_clip = 1 + 0.2 = 1.2
    // (V − R)² = 0.25, (V_clip − R)² = 0.64 → 0.5 · 0.64 = 0.32 (plain value loss would be 0.125)
    const { loss, clipfrac } = clippedValueLoss(
      row([Infinity, 1.5]),
      { oldValues: row([0, 1]), returns: row([0, 2]), mask: maskRow([false, true]), count: 1 },
      0.2,
    );
    expect(scalar(loss)).toBeCloseTo(0.32, 6);
    expect(scalar(clipfrac)).toBe(1);
  });

  it('clippedValueLoss keeps the unclipped error when V moved within ε (clip does not bind)', () => {
    // V_old 1, V 1.1, R 2: V − V_old = 0.1 ≤ 0.2 so V_clip = V → 0.5 · 0.81 = 0.405
    const { loss, clipfrac } = clippedValueLoss(
      row([Infinity, 1.1]),
      { oldValues: row([0, 1]), returns: row([0, 2]), mask: maskRow([false, true]), count: 1 },
      0.2,
    );
    expect(scalar(loss)).toBeCloseTo(0.405, 6);
    expect(scalar(clipfrac)).toBe(0);
  });

  it('clippedValueLoss keeps the unclipped error when it is the worse of the two', () => {
    // V_old 1, V 1.5, R 1: V_clip 1.2; (0.5)² = 0.25 > (0.2)² = 0.04 → 0.5 · 0.25 = 0.125
    const targets = { oldValues: row([1]), returns: row([1]), mask: maskRow([true]), count: 1 };
    const { loss, clipfrac } = clippedValueLoss(row([1.5]), targets, 0.2);
    expect(scalar(loss)).toBeCloseTo(0.125, 6);
    // V still moved by more than ε, so it counts as clipped
    expect(scalar(clipfrac)).toBe(1);
  });

  it('clippedValueLoss averages the worst terms over action tokens', () => {
    // the three cases above together: 0.5 · (0.64 + 0.81 + 0.25) / 3 = 0.2833333; clipfrac 2/3
    const { loss, clipfrac } = clippedValueLoss(
      row([1.5, 1.1, 1.5, Infinity]),
      { oldValues: row([1, 1, 1, 1]), returns: row([2, 2, 1, 0]), mask: maskRow([true, true, true, false]), count: 3 },
      0.2,
    );
    expect(scalar(loss)).toBeCloseTo(1.7 / 6, 6);
    expect(scalar(clipfrac)).toBeCloseTo(2 / 3, 6);
  });

  it('clippedValueLoss with ε = 0 is the plain value loss (clipping off)', () => {
    const V = row([1.5, 1.1, 1.5, Infinity]);
    const targets = {
      oldValues: row([1, 1, 1, 1]),
      returns: row([2, 2, 1, 0]),
      mask: maskRow([true, true, true, false]),
      count: 3,
    };
    const { loss, clipfrac } = clippedValueLoss(V, targets, 0);
    // 0.5 · (0.25 + 0.81 + 0.25) / 3 = 0.2183333, not the ε→0 limit 0.5·(1 + 1 + 0.25)/3
    expect(scalar(loss)).toBeCloseTo(1.31 / 6, 6);
    expect(scalar(loss)).toBeCloseTo(scalar(valueLoss(V, targets)), 7);
    expect(scalar(clipfrac)).toBe(0);
  });
});

describe('bradleyTerry', () => {
  it('loss = mean(−log σ(r_c − r_r)) and accuracy = share of pairs with r_c > r_r, by hand', () => {
    // margins 2, 0, −1: −log σ(2) = 0.126928, −log σ(0) = ln 2 = 0.693147, −log σ(−1) = 1.313262
    const { loss, accuracy } = bradleyTerry(tf.tensor1d([3, 0.5, -1]), tf.tensor1d([1, 0.5, 0]));
    expect(loss.dataSync()[0]).toBeCloseTo((0.126928 + 0.693147 + 1.313262) / 3, 5);
    expect(accuracy.dataSync()[0]).toBeCloseTo(1 / 3, 6);
  });

  it('gradient pushes the chosen score up and the rejected score down by σ(−margin)/n', () => {
    const grads = tf.grads((c: Tensor, r: Tensor) => bradleyTerry(c, r).loss)([
      tf.tensor1d([0, 1]),
      tf.tensor1d([0, 0]),
    ]);
    // d/dr_c of softplus(r_r − r_c) = −σ(r_r − r_c); margin 0 → −0.5/2, margin 1 → −σ(−1)/2 = −0.134470
    expect(Array.from(grads[0].dataSync())).toEqual([expect.closeTo(-0.25, 6), expect.closeTo(-0.13447, 5)]);
    expect(Array.from(grads[1].dataSync())).toEqual([expect.closeTo(0.25, 6), expect.closeTo(0.13447, 5)]);
  });
});

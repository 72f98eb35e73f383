// Hand-computed checks of the per-token arithmetic (docs/reference.md §4). Every expected number is worked out
// in the test from the formula, not by a helper that mirrors the implementation.
import { describe, expect, it } from 'vitest';
import {
  adaptiveBeta,
  discountedReturns,
  explainedVariance,
  gae,
  klK1,
  klK3,
  klPerToken,
  mean,
  tokenRewards,
  variance,
  whiten,
} from '../src/engine/advantages';

function expectAllClose(actual: readonly number[], expected: readonly number[], digits = 10): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a, `index ${i}`).toBeCloseTo(expected[i], digits));
}

describe('KL estimators', () => {
  it('k1 is old − ref and can be negative for one sample', () => {
    expect(klK1(-1.0, -1.5)).toBeCloseTo(0.5, 12);
    expect(klK1(-2.0, -1.0)).toBeCloseTo(-1.0, 12);
    expect(klK1(-0.7, -0.7)).toBe(0);
  });

  it('k3 is e^(ref−old) − (ref−old) − 1 on numbers', () => {
    // old = −1, ref = −1.5: ref − old = −0.5 → e^−0.5 + 0.5 − 1 = 0.6065306597 − 0.5 = 0.1065306597
    expect(klK3(-1.0, -1.5)).toBeCloseTo(0.1065306597, 9);
    // old = −2, ref = −1: ref − old = 1 → e − 1 − 1 = 0.7182818285
    expect(klK3(-2.0, -1.0)).toBeCloseTo(0.7182818285, 9);
    // equal log-probs: e^0 − 0 − 1 = 0
    expect(klK3(-0.3, -0.3)).toBe(0);
  });

  it('k3 is positive exactly where k1 is negative', () => {
    // old = −2, ref = −1 gives k1 = −1 < 0 but k3 = e − 2 > 0.
    expect(klK1(-2, -1)).toBeLessThan(0);
    expect(klK3(-2, -1)).toBeGreaterThan(0.7);
  });

  it('k3 is never negative over a grid of log-prob pairs', () => {
    const logps = [-12, -5, -2.5, -1, -0.5, -0.1, -1e-4, 0];
    let negatives = 0;
    let k1Negatives = 0;
    for (const old of logps) {
      for (const ref of logps) {
        if (klK3(old, ref) < 0) negatives++;
        if (klK1(old, ref) < 0) k1Negatives++;
      }
    }
    expect(negatives).toBe(0);
    // The grid does contain pairs where k1 is negative, so the check above is not vacuous.
    expect(k1Negatives).toBe(28);
  });

  it('klPerToken applies the chosen estimator token by token', () => {
    const old = [-1.0, -2.0, -0.5];
    const ref = [-1.5, -1.0, -0.5];
    expectAllClose(klPerToken(old, ref, 'k1'), [0.5, -1.0, 0]);
    expectAllClose(klPerToken(old, ref, 'k3'), [Math.exp(-0.5) + 0.5 - 1, Math.E - 2, 0]);
  });
});

describe('tokenRewards', () => {
  it('is −β·kl on every token and adds the score on the last token only', () => {
    // β = 0.1, kl = [0.5, −1, 2], score 1:
    // r0 = −0.05, r1 = +0.1, r2 = −0.2 + 1 = 0.8
    expectAllClose(tokenRewards([0.5, -1, 2], 0.1, 1), [-0.05, 0.1, 0.8]);
  });

  it('with zero KL the only non-zero reward is the score on the final token', () => {
    const rewards = tokenRewards([0, 0, 0, 0], 0.5, 0.75);
    expect(rewards.slice(0, 3).every((r) => r === 0)).toBe(true);
    expect(rewards[3]).toBe(0.75);
  });

  it('a one-token episode gets −β·kl + score on that token', () => {
    // −2 · 0.25 + 1 = 0.5
    expectAllClose(tokenRewards([0.25], 2, 1), [0.5]);
  });

  it('an empty episode has no rewards', () => {
    expect(tokenRewards([], 0.1, 1)).toEqual([]);
  });
});

describe('discountedReturns', () => {
  it('sums discounted future rewards (γ = 0.9)', () => {
    // r = [1, 0, 2]
    // G2 = 2
    // G1 = 0 + 0.9·2 = 1.8
    // G0 = 1 + 0.9·0 + 0.81·2 = 2.62
    expectAllClose(discountedReturns([1, 0, 2], 0.9), [2.62, 1.8, 2]);
  });

  it('γ = 1 gives suffix sums and γ = 0 gives the rewards themselves', () => {
    expectAllClose(discountedReturns([1, 0, 2], 1), [3, 2, 2]);
    expectAllClose(discountedReturns([1, 0, 2], 0), [1, 0, 2]);
  });

  it('returns nothing for an empty episode', () => {
    expect(discountedReturns([], 0.9)).toEqual([]);
  });
});

describe('gae', () => {
  // r = [1, 0, 2], V = [0.5, 1.0, 1.5], γ = 0.9, V after the last action = 0:
  // δ2 = 2 + 0.9·0   − 1.5 = 0.5
  // δ1 = 0 + 0.9·1.5 − 1.0 = 0.35
  // δ0 = 1 + 0.9·1.0 − 0.5 = 1.4
  const rewards = [1, 0, 2];
  const values = [0.5, 1.0, 1.5];
  const gamma = 0.9;

  it('λ = 0 gives the one-step TD error δ_t', () => {
    const { advantages, returns } = gae(rewards, values, gamma, 0);
    expectAllClose(advantages, [1.4, 0.35, 0.5]);
    // R = A + V = [1.9, 1.35, 2.0]
    expectAllClose(returns, [1.9, 1.35, 2.0]);
  });

  it('λ = 1 gives the discounted return minus V', () => {
    // G = [2.62, 1.8, 2] (see discountedReturns above); A = G − V = [2.12, 0.8, 0.5]
    const { advantages, returns } = gae(rewards, values, gamma, 1);
    expectAllClose(advantages, [2.12, 0.8, 0.5]);
    expectAllClose(returns, [2.62, 1.8, 2]);
  });

  it('λ = 0.5 gives Σ (γλ)^k δ_{t+k} worked by hand', () => {
    // γλ = 0.45
    // A2 = 0.5
    // A1 = 0.35 + 0.45·0.5 = 0.575
    // A0 = 1.4 + 0.45·0.35 + 0.45²·0.5 = 1.4 + 0.1575 + 0.10125 = 1.65875
    const { advantages, returns } = gae(rewards, values, gamma, 0.5);
    expectAllClose(advantages, [1.65875, 0.575, 0.5]);
    expectAllClose(returns, [2.15875, 1.575, 2.0]);
  });

  it('does not bootstrap past the last action (V after it is 0)', () => {
    // One action: δ = r + γ·0 − V = 3 − 1 = 2, whatever γ and λ are.
    expectAllClose(gae([3], [1], 0.9, 0.95).advantages, [2]);
    expectAllClose(gae([3], [1], 0.9, 0.95).returns, [3]);
  });

  it('with γ = 1, λ = 1 and a zero critic the advantage is the undiscounted return-to-go', () => {
    // r = [−0.1, −0.1, 1] → A = [0.8, 0.9, 1]
    expectAllClose(gae([-0.1, -0.1, 1], [0, 0, 0], 1, 1).advantages, [0.8, 0.9, 1]);
  });
});

describe('mean, variance, whiten', () => {
  it('mean and unbiased variance on numbers', () => {
    // [1, 2, 3, 4]: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / (4 − 1) = 5/3
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(variance([1, 2, 3, 4])).toBeCloseTo(5 / 3, 12);
    // [2, 4, 4, 4, 5, 5, 7, 9]: mean 5; squared deviations sum to 32; 32 / 7
    expect(variance([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(32 / 7, 12);
  });

  it('mean of nothing is 0 and variance of fewer than two values is 0', () => {
    expect(mean([])).toBe(0);
    expect(variance([])).toBe(0);
    expect(variance([3])).toBe(0);
  });

  it('whiten divides the deviations by the unbiased std', () => {
    // [1, 2, 3, 4]: deviations [−1.5, −0.5, 0.5, 1.5], std = sqrt(5/3) = 1.2909944487
    const std = Math.sqrt(5 / 3);
    expectAllClose(whiten([1, 2, 3, 4]), [-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std], 7);
    expect(whiten([1, 2, 3, 4])[0]).toBeCloseTo(-1.1618950039, 7);
  });

  it('whitened values have mean 0 and unbiased std 1', () => {
    const xs = [0.3, -2, 5.5, 1, 1, 0, 12, -7.25];
    const w = whiten(xs);
    const m = w.reduce((a, b) => a + b, 0) / w.length;
    const unbiasedVar = w.reduce((a, b) => a + (b - m) ** 2, 0) / (w.length - 1);
    expect(m).toBeCloseTo(0, 9);
    expect(Math.sqrt(unbiasedVar)).toBeCloseTo(1, 7);
  });

  it('whitening a constant batch gives zeros, not NaN', () => {
    expect(whiten([2, 2, 2]).every((x) => x === 0)).toBe(true);
  });
});

describe('explainedVariance', () => {
  const returns = [1, 2, 3, 4]; // Var = 5/3

  it('is 1 for a perfect critic', () => {
    expect(explainedVariance([1, 2, 3, 4], returns)).toBeCloseTo(1, 12);
  });

  it('is 0 for a constant critic', () => {
    // R − V = R − 2.5 has the same variance as R
    expect(explainedVariance([2.5, 2.5, 2.5, 2.5], returns)).toBeCloseTo(0, 12);
  });

  it('is 1 − Var(R − V)/Var(R) on a partial critic', () => {
    // V = [2, 1, 4, 3]: R − V = [−1, 1, −1, 1], mean 0, Var = 4/3 → 1 − (4/3)/(5/3) = 0.2
    expect(explainedVariance([2, 1, 4, 3], returns)).toBeCloseTo(0.2, 12);
  });

  it('is negative for a critic worse than a constant', () => {
    // V = [4, 3, 2, 1]: R − V = [−3, −1, 1, 3], Var = 20/3 → 1 − 4 = −3
    expect(explainedVariance([4, 3, 2, 1], returns)).toBeCloseTo(-3, 12);
  });

  it('is NaN when the returns do not vary', () => {
    expect(explainedVariance([0, 1, 2], [5, 5, 5])).toBeNaN();
  });
});

describe('adaptiveBeta', () => {
  // β = 0.1, target 1, batchSize / horizon = 100 / 200 = 0.5
  it('moves β by the error when it is inside ±0.2', () => {
    // KL 1.1: error 0.1 → β·(1 + 0.1·0.5) = 0.1·1.05 = 0.105
    expect(adaptiveBeta(0.1, 1.1, 1, 100, 200)).toBeCloseTo(0.105, 12);
    // KL 0.9: error −0.1 → 0.1·(1 − 0.05) = 0.095
    expect(adaptiveBeta(0.1, 0.9, 1, 100, 200)).toBeCloseTo(0.095, 12);
  });

  it('clips the error to +0.2 when KL is far above target', () => {
    // KL 3: error 2 → clipped 0.2 → 0.1·(1 + 0.2·0.5) = 0.11
    expect(adaptiveBeta(0.1, 3, 1, 100, 200)).toBeCloseTo(0.11, 12);
  });

  it('clips the error to −0.2 when KL is far below target', () => {
    // KL 0: error −1 → clipped −0.2 → 0.1·(1 − 0.1) = 0.09
    expect(adaptiveBeta(0.1, 0, 1, 100, 200)).toBeCloseTo(0.09, 12);
  });

  it('leaves β unchanged on target and scales the step by batchSize/horizon', () => {
    expect(adaptiveBeta(0.1, 2, 2, 64, 10000)).toBeCloseTo(0.1, 12);
    // KL 2.2, target 2: error 0.1; 64/10000 = 0.0064 → 0.1·(1 + 0.00064) = 0.100064
    expect(adaptiveBeta(0.1, 2.2, 2, 64, 10000)).toBeCloseTo(0.100064, 12);
  });
});

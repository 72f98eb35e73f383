// The shared arithmetic of policy-gradient methods, on plain arrays (one episode's action tokens at a
// time): KL estimators, per-token rewards, discounted returns, GAE, whitening, the adaptive-KL step.
// Everything here is small, exact and unit-tested against hand-computed numbers.
import type { KlEstimator } from './config';

/** k1 = log π_old − log π_ref: unbiased, but one sample can be negative. */
export function klK1(oldLogp: number, refLogp: number): number {
  return oldLogp - refLogp;
}

/** k3 = e^(ref−old) − (ref−old) − 1: unbiased for KL(π_old‖π_ref) and never negative (Schulman 2020). */
export function klK3(oldLogp: number, refLogp: number): number {
  const logRatio = refLogp - oldLogp;
  return Math.exp(logRatio) - logRatio - 1;
}

export function klPerToken(oldLogp: readonly number[], refLogp: readonly number[], estimator: KlEstimator): number[] {
  const kl = estimator === 'k1' ? klK1 : klK3;
  return oldLogp.map((old, t) => kl(old, refLogp[t]));
}

/** r_t = −β·kl_t, plus the task's score on the episode's last action token. */
export function tokenRewards(kl: readonly number[], beta: number, score: number): number[] {
  const rewards = kl.map((k) => -beta * k);
  if (rewards.length > 0) rewards[rewards.length - 1] += score;
  return rewards;
}

/** G_t = Σ_{k≥t} γ^(k−t) r_k. */
export function discountedReturns(rewards: readonly number[], gamma: number): number[] {
  const returns = new Array<number>(rewards.length);
  let running = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    running = rewards[t] + gamma * running;
    returns[t] = running;
  }
  return returns;
}

/**
 * Generalised advantage estimation: δ_t = r_t + γV_{t+1} − V_t with V after the last action = 0,
 * A_t = Σ (γλ)^k δ_{t+k}; returns R_t = A_t + V_t are the value targets.
 */
export function gae(
  rewards: readonly number[],
  values: readonly number[],
  gamma: number,
  lambda: number,
): { advantages: number[]; returns: number[] } {
  const n = rewards.length;
  const advantages = new Array<number>(n);
  let running = 0;
  for (let t = n - 1; t >= 0; t--) {
    const nextValue = t + 1 < n ? values[t + 1] : 0;
    const delta = rewards[t] + gamma * nextValue - values[t];
    running = delta + gamma * lambda * running;
    advantages[t] = running;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]) };
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Unbiased (n − 1) variance, as torch.var and TRL's whiten use. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s / (xs.length - 1);
}

/** (x − mean) / (std + 1e-8) over all of xs. */
export function whiten(xs: readonly number[]): number[] {
  const m = mean(xs);
  const std = Math.sqrt(variance(xs));
  return xs.map((x) => (x - m) / (std + 1e-8));
}

/** 1 − Var(R − V) / Var(R): 1 is a perfect critic, 0 no better than a constant, < 0 worse. */
export function explainedVariance(values: readonly number[], returns: readonly number[]): number {
  const varReturns = variance(returns);
  if (varReturns === 0) return Number.NaN;
  return 1 - variance(returns.map((r, i) => r - values[i])) / varReturns;
}

/** GRPO's ε in (r − mean) / (std + ε), as TRL's GRPOTrainer (1e-4); a group of equal rewards gets 0. */
export const GROUP_STD_EPSILON = 1e-4;

/**
 * GRPO's outcome advantages for one group's rewards (Shao et al. 2024, §4.1.2): Â_i = (r_i − mean(r)) /
 * (std(r) + ε) with the unbiased std (TRL's GRPOTrainer); without `stdNorm`, Â_i = r_i − mean(r)
 * (Dr. GRPO, Liu et al. 2025).
 */
export function groupAdvantages(rewards: readonly number[], stdNorm: boolean): number[] {
  const m = mean(rewards);
  const scale = stdNorm ? Math.sqrt(variance(rewards)) + GROUP_STD_EPSILON : 1;
  return rewards.map((r) => (r - m) / scale);
}

/** RLOO's baselines (Kool et al. 2019; Ahmadian et al. 2024): b_i = mean of the other G − 1 rewards. */
export function leaveOneOutBaselines(rewards: readonly number[]): number[] {
  const n = rewards.length;
  if (n < 2) return rewards.map(() => 0);
  const total = rewards.reduce((a, b) => a + b, 0);
  return rewards.map((r) => (total - r) / (n - 1));
}

/** Ziegler et al. 2019: β ← β·(1 + clip(KL/target − 1, −0.2, 0.2)·batchSize/horizon). */
export function adaptiveBeta(beta: number, kl: number, klTarget: number, batchSize: number, horizon: number): number {
  const error = Math.min(0.2, Math.max(-0.2, kl / klTarget - 1));
  return beta * (1 + (error * batchSize) / horizon);
}

// Two training practices of the seed, each a switch: rewards normalised by running statistics, and a
// learning rate steered by how far each update moved the policy. Plain numbers; the trainer keeps
// their state in the run's AlgorithmState, so a saved run resumes them.
import type { AlgorithmState } from './algorithms/common';

/**
 * rewardNorm: folds this batch's scores into the running count, mean and sum of squared deviations
 * of every score seen (Chan et al.'s parallel update of Welford's), then returns each score as
 * (score − mean) / (std + 1e-8). The first batch is normalised by its own statistics.
 */
export function normaliseScores(scores: readonly number[], state: AlgorithmState): number[] {
  const n = scores.length;
  if (n === 0) return [];
  const batchMean = scores.reduce((a, b) => a + b, 0) / n;
  const batchM2 = scores.reduce((s, x) => s + (x - batchMean) ** 2, 0);
  const count = state.scoreCount ?? 0;
  const mean = state.scoreMean ?? 0;
  const total = count + n;
  const delta = batchMean - mean;
  state.scoreMean = mean + (delta * n) / total;
  state.scoreM2 = (state.scoreM2 ?? 0) + batchM2 + (delta * delta * count * n) / total;
  state.scoreCount = total;
  const std = Math.sqrt(state.scoreM2 / total);
  return scores.map((s) => (s - (state.scoreMean as number)) / (std + 1e-8));
}

/** The KL-adaptive learning rate's bounds (rl_games' defaults). */
export const ADAPTIVE_LR_BOUNDS = { min: 1e-6, max: 1e-2 } as const;

/**
 * adaptiveLr: the next update's learning rate from this update's approx-KL: halved above 2× the
 * target, ×1.5 below ½×, kept otherwise; a move stays within ADAPTIVE_LR_BOUNDS. (rl_games and Isaac
 * Gym divide by 1.5 rather than 2; a non-finite KL leaves the rate as it is.)
 */
export function klAdaptiveLearningRate(learningRate: number, approxKl: number, target: number): number {
  const clamp = (lr: number) => Math.min(ADAPTIVE_LR_BOUNDS.max, Math.max(ADAPTIVE_LR_BOUNDS.min, lr));
  // The bounds apply to a move: a rate set outside them (the setting allows up to 0.1) is kept while
  // the KL stays in the target's band, and a move never goes the wrong way.
  if (approxKl > 2 * target) return Math.min(learningRate, clamp(learningRate / 2));
  if (approxKl < target / 2) return Math.max(learningRate, clamp(learningRate * 1.5));
  return learningRate;
}

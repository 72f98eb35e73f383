// From a rollout to per-episode arrays over action tokens: score (the task's, or the reward model's),
// per-token KL and rewards. The
// algorithms then fill in advantages and returns. Plain numbers on the CPU: a batch is small.
import { klPerToken, tokenRewards, variance, whiten } from './advantages';
import type { KlEstimator } from './config';
import type { Rollout } from './rollout';
import type { Task } from './tasks';

export interface Episode {
  /** Its row in the rollout; with groups of G, rows g·G … g·G + G − 1 answer the same prompt (byGroup). */
  row: number;
  prompt: number[];
  /** Every response token, <eos> included when emitted; in agentic tasks also the environment's observations (see `observed`). */
  response: number[];
  /** The training score: the task's score, or the reward model's when the run has one. */
  score: number;
  /** The score as the rewards see it: the score, or with rewardNorm its running-normalised value. */
  outcome: number;
  /** The task's own score (the hidden human's verdict for preference), whatever the training score. */
  gold: number;
  /** Per response token: written by the environment (an observation), not chosen by the policy. */
  observed: boolean[];
  /** Decision positions of the action tokens (position t chose token t + 1). */
  positions: number[];
  oldLogp: number[];
  refLogp: number[];
  values: number[];
  entropy: number[];
  /** Per-token KL to the reference with the run's estimator, and the k1/k3 sums for metrics. */
  kl: number[];
  klK1Sum: number;
  klK3Sum: number;
  rewards: number[];
  advantages: number[];
  returns: number[];
}

/**
 * One episode per row of the rollout. `beta` is the KL penalty put into the rewards (0 for an algorithm
 * that puts the KL in its loss).
 */
export function buildEpisodes(
  r: Rollout,
  task: Task,
  beta: number,
  estimator: KlEstimator,
  outcomesOf: (scores: number[]) => number[] = (scores) => scores,
): Episode[] {
  const golds = r.prompts.map((prompt, row) => task.score(prompt, r.responses[row]));
  const scores = r.rewardScores ? Array.from(r.rewardScores) : golds;
  const outcomes = outcomesOf(scores);
  return r.prompts.map((prompt, row) => {
    const response = r.responses[row];
    // Observation tokens are context: only the policy's own tokens get log-probs, KL and rewards.
    const positions = r.actionPositions?.[row] ?? response.map((_, s) => r.responseStart - 1 + s);
    const at = (buffer: Float32Array) => positions.map((t) => buffer[row * r.time + t]);
    const oldLogp = at(r.oldLogp);
    const refLogp = at(r.refLogp);
    const kl = klPerToken(oldLogp, refLogp, estimator);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const gold = golds[row];
    const score = scores[row];
    return {
      row,
      prompt,
      response,
      score,
      outcome: outcomes[row],
      gold,
      observed: r.observed?.[row] ?? response.map(() => false),
      positions,
      oldLogp,
      refLogp,
      values: at(r.values),
      entropy: at(r.entropy),
      kl,
      klK1Sum: sum(klPerToken(oldLogp, refLogp, 'k1')),
      klK3Sum: sum(klPerToken(oldLogp, refLogp, 'k3')),
      rewards: tokenRewards(kl, beta, outcomes[row]),
      advantages: [],
      returns: [],
    };
  });
}

/** Whitens advantages across every action token of the batch (not per episode): actor-critic, PPO. */
export function whitenAcrossBatch(episodes: Episode[]): void {
  const flat = whiten(episodes.flatMap((e) => e.advantages));
  let i = 0;
  for (const e of episodes) e.advantages = e.advantages.map(() => flat[i++]);
}

/**
 * Divides advantages by their unbiased std across every action token of the batch, without centring:
 * REINFORCE's whitening, so that its baseline (not the batch mean) decides which tokens are pushed down.
 */
export function scaleAcrossBatch(episodes: Episode[]): void {
  const std = Math.sqrt(variance(episodes.flatMap((e) => e.advantages)));
  // A constant batch (or a single token) has no spread to scale by: without centring, dividing by
  // 0 + 1e-8 would turn an advantage of 1 into 1e8, so it keeps its advantages as they are.
  if (std === 0) return;
  for (const e of episodes) e.advantages = e.advantages.map((a) => a / (std + 1e-8));
}

/** Which group of G responses to one prompt an episode belongs to: the trainer lays groups on adjacent rows. */
export function groupOf(e: Pick<Episode, 'row'>, groupSize: number): number {
  return Math.floor(e.row / groupSize);
}

/** The episodes by group of `groupSize` responses to the same prompt, in group order. */
export function byGroup(episodes: readonly Episode[], groupSize: number): Episode[][] {
  const groups = new Map<number, Episode[]>();
  for (const e of episodes) {
    const g = groupOf(e, groupSize);
    const group = groups.get(g);
    if (group) group.push(e);
    else groups.set(g, [e]);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((g) => groups.get(g) as Episode[]);
}

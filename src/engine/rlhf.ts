// The RLHF pipeline's data (docs/reference.md §8): a fixed set of demonstrations for SFT, pairwise
// comparisons of policy samples labelled by the hidden human (with optional label noise), and how often
// the reward model orders a batch like the human does.
import type { ModelShape, Params } from './model';
import { Random } from './random';
import { responseEnd, rollout, type Rollout } from './rollout';
import type { Comparison } from './reward-model';
import type { Task } from './tasks';

/** N demonstrations written by the task's human, drawn once from the seed. */
export function demonstrationSet(task: Task, count: number, seed: number): number[][] {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => task.formatDemo(task.prompt(rng), rng));
}

/**
 * Pairs rows 2i and 2i + 1 of a rollout and lets the human pick; a pair the human cannot tell apart
 * (equal scores) is skipped. With probability `noise` the worse response is picked.
 */
export function labelPairs(r: Rollout, task: Task, noise: number, rng: Random): Comparison[] {
  const pairs: Comparison[] = [];
  const row = (b: number) => r.tokens.slice(b * r.time, (b + 1) * r.time);
  const end = (b: number) => responseEnd(r.responses[b], r.responseStart);
  for (let b = 0; b + 1 < r.batchSize; b += 2) {
    const first = task.score(r.prompts[b], r.responses[b]);
    const second = task.score(r.prompts[b + 1], r.responses[b + 1]);
    if (first === second) continue;
    const firstWins = first > second !== rng.next() < noise;
    const [chosen, rejected] = firstWins ? [b, b + 1] : [b + 1, b];
    pairs.push({ chosen: row(chosen), rejected: row(rejected), chosenEnd: end(chosen), rejectedEnd: end(rejected) });
  }
  return pairs;
}

/** `count` labelled pairs of the policy's samples (as real RLHF compares the SFT model's outputs). */
export async function collectComparisons(
  policy: Params,
  shape: ModelShape,
  task: Task,
  settings: { count: number; noise: number; maxNewTokens: number; temperature: number; seed: number },
): Promise<Comparison[]> {
  const rng = new Random(settings.seed);
  const pairs: Comparison[] = [];
  const rowsPerRound = 128;
  for (let round = 0; pairs.length < settings.count && round < 100; round++) {
    const prompts = Array.from({ length: rowsPerRound }, () => task.prompt(rng));
    const batch = await rollout(policy, policy, shape, prompts, {
      batchSize: rowsPerRound,
      maxNewTokens: settings.maxNewTokens,
      temperature: settings.temperature,
      samplingSeed: rng.int(2 ** 31),
    });
    pairs.push(...labelPairs(batch, task, settings.noise, rng));
  }
  return pairs.slice(0, settings.count);
}

/**
 * Share of pairs in a batch that the reward model orders as the human does (pairs the human scores
 * equal are left out): 1 = the proxy ranks like the gold, 0.5 = no better than a coin.
 */
export function rankAgreement(proxy: readonly number[], gold: readonly number[]): number {
  let agree = 0;
  let total = 0;
  for (let i = 0; i < gold.length; i++)
    for (let j = i + 1; j < gold.length; j++) {
      if (gold[i] === gold[j]) continue;
      total++;
      if (proxy[i] - proxy[j] > 0 === gold[i] - gold[j] > 0) agree++;
    }
  return total === 0 ? Number.NaN : agree / total;
}

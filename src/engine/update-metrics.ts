// One update's metrics (docs/reference.md §5) from its episodes and what the device read back: the
// numbers every chart, the CLI's JSONL and the lessons read. Plain numbers in, a full row out: a
// metric nobody set is NaN ("not defined for this run").
import { explainedVariance, mean } from './advantages';
import type { Episode } from './episodes';
import { METRIC_NAMES, type Metrics } from './metrics';
import type { Environment, Thinking } from './tasks/task';
import { EOS } from './tokens';

export interface UpdateFacts {
  /** The update just finished, and episodes so far, counting this update's. */
  update: number;
  episodes: number;
  /** Seconds since the run (or its re-run) started. */
  elapsedS: number;
  /** β this update's rewards were computed with. */
  beta: number;
  /** The learning rate this update's steps used (the KL-adaptive rate moves it). */
  learningRate: number;
  /** Scores were normalised by running statistics (rewardNorm): reward/normalised is their batch mean. */
  rewardNorm: boolean;
  /** Milliseconds: the update's start, the end of its rollout, the end of its optimizer steps. */
  started: number;
  rolledOut: number;
  finished: number;
  /** Live tensors and their bytes on the backend after the update. */
  memory: { numTensors: number; numBytes: number };
  /** Explained variance is reported only for algorithms that train a critic. */
  hasCritic: boolean;
  sftLoss: number;
  /** rm/loss, rm/accuracy, rm/agreement for runs with a reward model. */
  rewardModel?: Partial<Metrics>;
  environment?: Environment;
  /** Tasks with a scratchpad: episode/think_tokens and episode/think_tracks (NaN otherwise). */
  thinking?: Thinking;
}

export function updateMetrics(
  episodes: readonly Episode[],
  device: Readonly<Record<string, number>>,
  facts: UpdateFacts,
): Metrics {
  const scores = episodes.map((e) => e.score);
  const scoreMean = mean(scores);
  const actionTokens = episodes.reduce((n, e) => n + e.positions.length, 0);
  const failedLengths = episodes.filter((e) => e.score < 1).map((e) => e.positions.length);
  const stats = episodes.map((e) => facts.environment?.stats(e.prompt, e.response) ?? { turns: 1, toolCalls: 0 });
  const updateMs = facts.finished - facts.started;
  const thinking = facts.thinking;
  const fromRollout: Partial<Metrics> = {
    update: facts.update,
    episodes: facts.episodes,
    time_s: facts.elapsedS,
    'reward/score': scoreMean,
    'reward/score_std': Math.sqrt(mean(scores.map((s) => (s - scoreMean) ** 2))),
    'reward/total': mean(episodes.map((e) => e.rewards.reduce((a, b) => a + b, 0))),
    'reward/normalised': facts.rewardNorm ? mean(episodes.map((e) => e.outcome)) : Number.NaN,
    'kl/ref': mean(episodes.map((e) => e.klK1Sum)),
    'kl/ref_k3': mean(episodes.map((e) => e.klK3Sum)),
    'kl/beta': facts.beta,
    'policy/entropy': mean(episodes.flatMap((e) => e.entropy)),
    'value/explained_variance': facts.hasCritic
      ? explainedVariance(
          episodes.flatMap((e) => e.values),
          episodes.flatMap((e) => e.returns),
        )
      : Number.NaN,
    'episode/length': actionTokens / episodes.length,
    // The length of the answers that were not exactly right (NaN when every one was): what Dr. GRPO's
    // length bias is about.
    'episode/failed_length': failedLengths.length > 0 ? mean(failedLengths) : Number.NaN,
    'episode/turns': mean(stats.map((t) => t.turns)),
    'episode/tool_calls': mean(stats.map((t) => t.toolCalls)),
    'episode/think_tokens': thinking ? mean(episodes.map((e) => thinking.tokens(e.response))) : Number.NaN,
    'episode/think_tracks': thinking
      ? mean(episodes.map((e) => (thinking.tracks(e.prompt, e.response) ? 1 : 0)))
      : Number.NaN,
    'episode/eos_rate': mean(episodes.map((e) => (e.response.at(-1) === EOS ? 1 : 0))),
    'perf/update_ms': updateMs,
    'perf/tokens_per_s': (actionTokens / updateMs) * 1000,
    'perf/rollout_ms': facts.rolledOut - facts.started,
    'perf/optimize_ms': facts.finished - facts.rolledOut,
    // Live tensors and their megabytes on the backend: flat over a long run, or something leaks.
    'perf/tensors': facts.memory.numTensors,
    'perf/tensor_mb': facts.memory.numBytes / 2 ** 20,
    'optim/lr': facts.learningRate,
    'sft/loss': facts.sftLoss,
    'reward/gold': mean(episodes.map((e) => e.gold)),
    ...facts.rewardModel,
  };
  const metrics = {} as Metrics;
  for (const name of METRIC_NAMES) metrics[name] = fromRollout[name] ?? device[name] ?? Number.NaN;
  return metrics;
}

// Metric names (docs/reference.md §5) and their JSON form. No TensorFlow.js here: the UI thread imports this.

export const METRIC_NAMES = [
  'update',
  'episodes',
  'time_s',
  'reward/score',
  'reward/score_std',
  'reward/total',
  'reward/normalised',
  'reward/gold',
  'kl/ref',
  'kl/ref_k3',
  'kl/beta',
  'loss/policy',
  'loss/value',
  'policy/entropy',
  'policy/approx_kl',
  'policy/update_kl',
  'policy/clipfrac',
  'value/clipfrac',
  'trpo/kl',
  'trpo/line_search_steps',
  'trpo/accepted',
  'value/explained_variance',
  'episode/length',
  'episode/failed_length',
  'episode/eos_rate',
  'episode/turns',
  'episode/tool_calls',
  'episode/think_tokens',
  'episode/think_tracks',
  'perf/update_ms',
  'perf/tokens_per_s',
  'perf/rollout_ms',
  'perf/optimize_ms',
  'perf/tensors',
  'perf/tensor_mb',
  'optim/lr',
  'optim/grad_norm',
  'sft/loss',
  'rm/loss',
  'rm/accuracy',
  'rm/agreement',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];
/** One update's metrics. NaN means "not defined for this algorithm" (JSON writes it as null). */
export type Metrics = Record<MetricName, number>;

/** One update as a plain JSON-ready row with every metric name; NaN ("not defined here") becomes null. */
export function metricsRow(metrics: Metrics): Record<MetricName, number | null> {
  const row = {} as Record<MetricName, number | null>;
  for (const name of METRIC_NAMES) row[name] = Number.isFinite(metrics[name]) ? metrics[name] : null;
  return row;
}

// Metric names (DESIGN §5) and a device-side accumulator that turns many scalar tensors into one
// read-back per update.
import { tf, type Scalar } from './tf';

export const METRIC_NAMES = [
  'update',
  'episodes',
  'time_s',
  'reward/score',
  'reward/score_std',
  'reward/total',
  'kl/ref',
  'kl/ref_k3',
  'kl/beta',
  'loss/policy',
  'loss/value',
  'policy/entropy',
  'policy/approx_kl',
  'policy/clipfrac',
  'value/clipfrac',
  'value/explained_variance',
  'episode/length',
  'episode/eos_rate',
  'perf/update_ms',
  'perf/tokens_per_s',
  'perf/rollout_ms',
  'perf/optimize_ms',
  'optim/lr',
  'optim/grad_norm',
  'sft/loss',
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

/** Sums scalar tensors per name on the device; `read()` returns their means with one data() call. */
export class DeviceAverages {
  private readonly sums = new Map<string, Scalar>();
  private readonly counts = new Map<string, number>();

  add(name: string, value: Scalar): void {
    const previous = this.sums.get(name);
    this.sums.set(name, previous ? tf.tidy(() => tf.add(previous, value)) : tf.clone(value));
    previous?.dispose();
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  async read(): Promise<Record<string, number>> {
    const names = [...this.sums.keys()];
    if (names.length === 0) return {};
    const stacked = tf.stack(names.map((n) => this.sums.get(n) as Scalar));
    const values = await stacked.data(); // the update's one metrics read-back
    stacked.dispose();
    const means = Object.fromEntries(names.map((n, i) => [n, values[i] / (this.counts.get(n) ?? 1)]));
    this.dispose();
    return means;
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.counts.clear();
  }
}

// Export of a run's metrics, with docs/reference.md §5's names as columns / keys. NaN ("not defined") is empty in
// CSV and null in JSONL.
import { METRIC_NAMES, metricsRow, type Metrics } from '../engine/metrics';

export function metricsToCsv(history: readonly Metrics[]): string {
  const rows = history.map((m) =>
    METRIC_NAMES.map((name) => (Number.isFinite(m[name]) ? String(m[name]) : '')).join(','),
  );
  return [METRIC_NAMES.join(','), ...rows].join('\n') + '\n';
}

export function metricsToJsonl(history: readonly Metrics[]): string {
  return history.map((m) => `${JSON.stringify(metricsRow(m))}\n`).join('');
}

// Exported metrics: docs/reference.md §5 names as CSV columns and JSONL keys; undefined values are empty / null.
import { describe, expect, it } from 'vitest';
import { metricsToCsv, metricsToJsonl } from '../src/app/export';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';

const row = (update: number, valueLoss: number): Metrics => ({
  ...(Object.fromEntries(METRIC_NAMES.map((n) => [n, 1])) as Metrics),
  update,
  'loss/value': valueLoss,
});

describe('metrics export', () => {
  it('writes a CSV header of metric names and one line per update, NaN as empty', () => {
    const csv = metricsToCsv([row(1, 0.5), row(2, Number.NaN)]);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0].split(',')).toEqual([...METRIC_NAMES]);
    expect(lines).toHaveLength(3);
    const column = METRIC_NAMES.indexOf('loss/value');
    expect(lines[1].split(',')[column]).toBe('0.5');
    expect(lines[2].split(',')[column]).toBe('');
    expect(lines[2].split(',')[0]).toBe('2');
  });

  it('writes one JSON object per line with every metric name, NaN as null', () => {
    const lines = metricsToJsonl([row(1, 0.5), row(2, Number.NaN)])
      .trimEnd()
      .split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, number | null>);
    expect(Object.keys(parsed[0])).toEqual([...METRIC_NAMES]);
    expect(parsed[0]['loss/value']).toBe(0.5);
    expect(parsed[1]['loss/value']).toBeNull();
    expect(parsed[1].update).toBe(2);
  });
});

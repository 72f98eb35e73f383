import { describe, expect, test } from 'vitest';
import {
  column,
  decimate,
  ema,
  describeLatest,
  formatValue,
  lastFinite,
  stdBand,
  toPoints,
  withAlpha,
  type Point,
} from '../src/app/charts/series';
import { klLines, MAX_POINTS, pinnedLines, rewardLines, smoothedLine, xsOf } from '../src/app/charts/panel-series';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';

describe('ema (TensorBoard smoothing)', () => {
  test('debiased moving average, by hand for w = 0.5', () => {
    // n=1: last = 0.5·1 = 0.5, debias 1 − 0.5 = 0.5 → 1
    // n=2: last = 0.25 + 0.5·2 = 1.25, debias 0.75 → 5/3
    // n=3: last = 0.625 + 0.5·3 = 2.125, debias 0.875 → 17/7
    const out = ema([1, 2, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(out[1]).toBeCloseTo(5 / 3, 12);
    expect(out[2]).toBeCloseTo(17 / 7, 12);
  });

  test('w = 0.9 on [10, 0]: first value unchanged, then 0.9·1/1.9·10', () => {
    // n=1: last = 0.1·10 = 1, debias 0.1 → 10; n=2: last = 0.9, debias 1 − 0.81 = 0.19 → 0.9/0.19
    const out = ema([10, 0], 0.9);
    expect(out[0]).toBeCloseTo(10, 12);
    expect(out[1]).toBeCloseTo(0.9 / 0.19, 12);
  });

  test('smoothing 0 is the identity', () => {
    expect(ema([3, -1, 0.25, 7], 0)).toEqual([3, -1, 0.25, 7]);
  });

  test('a constant series stays constant', () => {
    for (const v of ema([4, 4, 4, 4, 4], 0.95)) expect(v).toBeCloseTo(4, 10);
  });

  test('NaN is skipped: kept as NaN, does not poison the average', () => {
    // w = 0.5 on [1, NaN, 3]: n=1 → 1; NaN; n=2: last = 0.25 + 1.5 = 1.75, debias 0.75 → 7/3
    const out = ema([NaN, 1, NaN, 3], 0.5);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeCloseTo(1, 12);
    expect(out[2]).toBeNaN();
    expect(out[3]).toBeCloseTo(7 / 3, 12);
  });

  test('empty input, out-of-range smoothing is clamped', () => {
    expect(ema([], 0.6)).toEqual([]);
    expect(ema([1, 2], -3)).toEqual([1, 2]);
    expect(ema([5, 5], 1).every((v) => Math.abs(v - 5) < 1e-9)).toBe(true);
  });
});

describe('decimate', () => {
  const pts = (ys: number[]): Point[] => ys.map((y, x) => ({ x, y }));

  test('short input is returned as a copy', () => {
    const input = pts([1, 2, 3]);
    const out = decimate(input, 10);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
  });

  test('min and max per bucket, first and last kept, by hand', () => {
    // 10 points, 6 allowed → 2 buckets over indices 1..8: [1..4] and [5..8].
    // Bucket 1: y 1, 9, −4, 2 → max at 2, min at 3. Bucket 2: y 3, −7, 8, 5 → min at 6, max at 7.
    const input = pts([0, 1, 9, -4, 2, 3, -7, 8, 5, 6]);
    expect(decimate(input, 6).map((p) => p.x)).toEqual([0, 2, 3, 6, 7, 9]);
  });

  test('10,000 points → at most 500, ordered, extremes kept', () => {
    const input = pts(Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 50) + (i === 4321 ? 9 : 0)));
    input[7777].y = -9;
    const out = decimate(input, 500);
    expect(out.length).toBeLessThanOrEqual(500);
    expect(out.length).toBeGreaterThan(400);
    expect(out[0]).toBe(input[0]);
    expect(out.at(-1)).toBe(input[9999]);
    for (let i = 1; i < out.length; i++) expect(out[i].x).toBeGreaterThan(out[i - 1].x);
    expect(out.some((p) => p.x === 4321 && p.y > 8)).toBe(true);
    expect(out.some((p) => p.x === 7777 && p.y === -9)).toBe(true);
  });

  test('gaps (NaN) survive decimation and the bound holds', () => {
    const ys = Array.from({ length: 1000 }, (_, i) => (i >= 300 && i < 310 ? NaN : i % 7));
    const out = decimate(pts(ys), 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.some((p) => Number.isNaN(p.y) && p.x >= 300 && p.x < 310)).toBe(true);
  });

  test('a tiny budget still keeps first and last', () => {
    expect(decimate(pts([1, 2, 3, 4]), 1).map((p) => p.x)).toEqual([0, 3]);
  });
});

describe('band and helpers', () => {
  test('stdBand: mean ± k·std, NaN where undefined, optional clamp', () => {
    const { upper, lower } = stdBand([0.5, 0.9, NaN, 0.2], [0.1, 0.2, 0.1, NaN]);
    expect(upper[0]).toBeCloseTo(0.6, 12);
    expect(lower[0]).toBeCloseTo(0.4, 12);
    expect(upper[1]).toBeCloseTo(1.1, 12);
    expect(lower[1]).toBeCloseTo(0.7, 12);
    expect(upper[2]).toBeNaN();
    expect(lower[3]).toBeNaN();
    const clamped = stdBand([0.9, 0.05], [0.2, 0.1], { k: 2, min: 0, max: 1 });
    expect(clamped.upper).toEqual([1, 0.25]);
    expect(clamped.lower[0]).toBeCloseTo(0.5, 12);
    expect(clamped.lower[1]).toBe(0);
  });

  test('toPoints, column, lastFinite', () => {
    expect(toPoints([1, 2, 3], [4, 5])).toEqual([
      { x: 1, y: 4 },
      { x: 2, y: 5 },
    ]);
    expect(column([{ a: 1 }, { a: 2 }], 'a')).toEqual([1, 2]);
    expect(
      lastFinite([
        { x: 1, y: 1 },
        { x: 2, y: 3 },
        { x: 3, y: NaN },
      ]),
    ).toEqual({ x: 2, y: 3 });
    expect(lastFinite([{ x: 1, y: NaN }])).toBeUndefined();
  });

  test('describeLatest: uses `latest` when given', () => {
    const line = { label: 'score', color: 'blue', points: [{ x: 5, y: 0.4 }], latest: { x: 5, y: 0.75 } };
    expect(describeLatest('Reward', 'update', [line])).toBe('Reward: score 0.75 at update 5');
  });

  test('describeLatest: legend series only, grouped by x', () => {
    const p = (...ys: number[]): Point[] => ys.map((y, i) => ({ x: 100 + i * 10, y }));
    expect(describeLatest('Reward', 'update', [])).toBe('Reward: no data yet');
    expect(
      describeLatest('Reward', 'update', [
        { label: '±1 std', color: 'blue', fillToNext: true, points: p(0.7, 0.8) },
        { label: 'lower', color: 'blue', hiddenFromLegend: true, points: p(0.3, 0.4) },
        { label: 'score', color: 'blue', points: p(0.5, 0.53123, NaN) },
        { label: 'total', color: 'red', points: p(0.4, 0.41) },
        { label: 'pinned', color: 'grey', points: p(0.2) },
      ]),
    ).toBe('Reward: score 0.531, total 0.41 at update 110; pinned 0.2 at update 100');
  });

  test('withAlpha', () => {
    expect(withAlpha('#2563eb', 0.3)).toBe('rgba(37, 99, 235, 0.3)');
    expect(withAlpha('red', 0.3)).toBe('red');
  });

  test('formatValue', () => {
    expect(formatValue(0.53123)).toBe('0.531');
    expect(formatValue(120)).toBe('120');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(0.0003)).toBe('3.00e-4');
    expect(formatValue(NaN)).toBe('–');
  });
});

describe('panel series', () => {
  const row = (update: number, values: Partial<Metrics>): Metrics => {
    const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, NaN])) as Metrics;
    return { ...m, update, ...values };
  };
  const history = [
    row(1, { 'reward/score': 0.2, 'reward/score_std': 0.3, 'reward/total': 0.1, 'kl/ref': 2, 'kl/beta': 0.05 }),
    row(2, { 'reward/score': 0.6, 'reward/score_std': 0.5, 'reward/total': 0.4, 'kl/ref': 4, 'kl/beta': 0.06 }),
  ];
  const ys = (s: { points: Point[] }) => s.points.map((p) => p.y);

  test('reward: raw band clamped to 0–1 first, then smoothed score and total', () => {
    const lines = rewardLines(xsOf(history), history, 0.5);
    expect(lines.map((l) => l.label)).toEqual([
      '±1 std',
      '−1 std',
      'score',
      'total (score − β·KL) (raw)',
      'total (score − β·KL)',
    ]);
    expect(lines[0].fillToNext).toBe(true);
    expect(ys(lines[0])).toEqual([0.5, 1]); // 0.2 + 0.3, min(1, 0.6 + 0.5)
    expect(ys(lines[1])[0]).toBe(0); // max(0, 0.2 − 0.3)
    expect(ys(lines[1])[1]).toBeCloseTo(0.1, 12);
    // w = 0.5 on [0.2, 0.6]: 0.2, then (0.05 + 0.3) / 0.75
    expect(ys(lines[2])[1]).toBeCloseTo(0.35 / 0.75, 12);
    expect(lines[2].latest).toEqual({ x: 2, y: 0.6 }); // the text alternative states the raw value
    expect(lines[3].hiddenFromLegend).toBe(true);
    expect(ys(lines[3])).toEqual([0.1, 0.4]);
  });

  test('smoothing 0 draws no separate raw line; β on the right axis only with adaptive KL', () => {
    expect(smoothedLine([1, 2], [3, 4], 'x', '#000000', 0)).toHaveLength(1);
    expect(klLines(xsOf(history), history, 0, false).map((l) => l.label)).toEqual(['KL']);
    const adaptive = klLines(xsOf(history), history, 0, true);
    expect(adaptive.at(-1)).toMatchObject({ label: 'β', yAxis: 'right' });
    expect(ys(adaptive.at(-1)!)).toEqual([0.05, 0.06]);
  });

  test('long histories are decimated; pinned runs are dashed', () => {
    const long = Array.from({ length: 5000 }, (_, i) => row(i + 1, { 'kl/ref': Math.sin(i) }));
    for (const line of klLines(xsOf(long), long, 0.6, false))
      expect(line.points.length).toBeLessThanOrEqual(MAX_POINTS);
    const pinned = pinnedLines([{ label: 'run A', history }], 'kl/ref', 0);
    expect(pinned).toMatchObject([{ label: 'run A', dashed: true, underneath: true }]);
    expect(ys(pinned[0])).toEqual([2, 4]);
  });
});

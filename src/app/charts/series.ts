// Pure helpers that turn per-update metrics into chart series: smoothing (TensorBoard's debiased EMA),
// decimation to a bounded number of points, and the ±std band. No DOM, no Chart.js: unit-tested in Node.

/** One chart point; y = NaN draws a gap. */
export interface Point {
  x: number;
  y: number;
}

/** One line of a LineChart. */
export interface ChartSeries {
  label: string;
  /** Line colour (any CSS colour). */
  color: string;
  points: Point[];
  dashed?: boolean;
  /** Fill the area between this series and the next one (the upper edge of a band). */
  fillToNext?: boolean;
  /** Fill colour for `fillToNext`; defaults to `color`. */
  fillColor?: string;
  /** Line width in CSS pixels; 0 draws no line (band edges). Default 2. */
  width?: number;
  /** Leave this series out of the legend and the tooltip (faint raw lines, the lower band edge). */
  hiddenFromLegend?: boolean;
  yAxis?: 'left' | 'right';
  /** Draw beneath all other series (comparison lines); otherwise later series are drawn on top. */
  underneath?: boolean;
  /** The point the text alternative states, e.g. the raw latest value of a smoothed line (default: last finite). */
  latest?: Point;
}

/**
 * TensorBoard's smoothing: an exponential moving average debiased like Adam's moments
 * (`last = last * w + (1 - w) * v`, output `last / (1 - w^n)` after `n` finite values).
 * `smoothing` 0 returns the values unchanged; it is clamped to [0, 0.999]. Non-finite values are skipped:
 * they stay NaN in the output and do not enter the average.
 */
export function ema(values: readonly number[], smoothing: number): number[] {
  const w = Math.min(0.999, Math.max(0, Number.isFinite(smoothing) ? smoothing : 0));
  const out = new Array<number>(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    last = last * w + (1 - w) * v;
    n += 1;
    out[i] = w === 0 ? v : last / (1 - Math.pow(w, n));
  }
  return out;
}

/**
 * At most `maxPoints` points (at least 2) that look like the full series: the first and last points, and
 * for each of equal-sized buckets in between its minimum and maximum (in their original order), so spikes
 * survive. When the input has gaps (non-finite y) a bucket also keeps its first gap point, so gaps stay
 * visible. Returns a copy when no decimation is needed.
 */
export function decimate(points: readonly Point[], maxPoints: number): Point[] {
  const n = points.length;
  const limit = Math.max(2, Math.floor(maxPoints));
  if (n <= limit) return points.slice();
  const hasGaps = points.some((p) => !Number.isFinite(p.y));
  const perBucket = hasGaps ? 3 : 2;
  const buckets = Math.floor((limit - 2) / perBucket);
  const out: Point[] = [points[0]];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let iMin = -1;
    let iMax = -1;
    let iGap = -1;
    for (let i = start; i < end; i++) {
      const y = points[i].y;
      if (!Number.isFinite(y)) {
        if (iGap < 0) iGap = i;
        continue;
      }
      if (iMin < 0 || y < points[iMin].y) iMin = i;
      if (iMax < 0 || y > points[iMax].y) iMax = i;
    }
    const keep = [...new Set([iMin, iMax, iGap])].filter((i) => i >= 0).sort((a, b) => a - b);
    for (const i of keep) out.push(points[i]);
  }
  out.push(points[n - 1]);
  return out;
}

/** Pairs x and y values into points (the shorter array sets the length). */
export function toPoints(xs: readonly number[], ys: readonly number[]): Point[] {
  const n = Math.min(xs.length, ys.length);
  const out = new Array<Point>(n);
  for (let i = 0; i < n; i++) out[i] = { x: xs[i], y: ys[i] };
  return out;
}

export interface BandOptions {
  /** Half-width in standard deviations (default 1). */
  k?: number;
  /** Clamp the band to this range, e.g. [0, 1] for a score. */
  min?: number;
  max?: number;
}

/** Upper and lower edges `mean ± k·std`, optionally clamped; NaN where either input is not finite. */
export function stdBand(
  mean: readonly number[],
  std: readonly number[],
  { k = 1, min = -Infinity, max = Infinity }: BandOptions = {},
): { upper: number[]; lower: number[] } {
  const n = Math.min(mean.length, std.length);
  const upper = new Array<number>(n);
  const lower = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const m = mean[i];
    const s = std[i];
    if (!Number.isFinite(m) || !Number.isFinite(s)) {
      upper[i] = NaN;
      lower[i] = NaN;
      continue;
    }
    upper[i] = Math.min(max, Math.max(min, m + k * s));
    lower[i] = Math.min(max, Math.max(min, m - k * s));
  }
  return { upper, lower };
}

/** One named column of a table of rows (`undefined` cells become NaN). */
export function column<K extends string>(rows: readonly Readonly<Record<K, number>>[], key: K): number[] {
  const out = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[i][key] ?? NaN;
  return out;
}

/** The last point with a finite y, or undefined. */
export function lastFinite(points: readonly Point[]): Point | undefined {
  for (let i = points.length - 1; i >= 0; i--) if (Number.isFinite(points[i].y)) return points[i];
  return undefined;
}

/**
 * A text alternative stating the latest values of the legend series (bands left out), e.g.
 * "Reward: score 0.53, total 0.41 at update 120" (each with its own x when they differ).
 */
export function describeLatest(title: string, xLabel: string, series: readonly ChartSeries[]): string {
  const latest: { label: string; point: Point }[] = [];
  for (const line of series) {
    const point = line.hiddenFromLegend || line.fillToNext ? undefined : (line.latest ?? lastFinite(line.points));
    if (point) latest.push({ label: line.label, point });
  }
  if (latest.length === 0) return `${title}: no data yet`;
  // Group by x: the first series' x first ("score 0.53, total 0.41 at update 120"), then the others.
  const groups = new Map<number, string[]>();
  for (const { label, point } of latest) {
    const parts = groups.get(point.x) ?? [];
    parts.push(`${label} ${formatValue(point.y)}`);
    groups.set(point.x, parts);
  }
  const text = [...groups].map(([x, parts]) => `${parts.join(', ')} at ${xLabel} ${x}`);
  return `${title}: ${text.join('; ')}`;
}

/** `#rrggbb` with an alpha, as `rgba(...)` (Chart.js and canvas both accept it). */
export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** A short, readable number for labels: 3 significant digits, exponent notation when very small or large. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

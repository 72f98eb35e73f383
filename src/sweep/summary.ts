// What a finished sweep reports: one summary row per run (summary.csv) and, per combination, the mean
// and the spread across seeds of one metric over the updates (summary.svg). Plain numbers in, text out.
import type { MetricName, Metrics } from '../engine/metrics';
import type { GridAxis, SweepRun } from './grid';

export interface SummaryOptions {
  /** The metric summary.svg draws and `updates_to` tests (default reward/score). */
  metric: MetricName;
  /** updates_to: the first update whose 5-update mean of `metric` reaches this. */
  threshold: number;
  /** The last updates the final_* columns average over. */
  finalWindow: number;
}

export const DEFAULT_SUMMARY: SummaryOptions = { metric: 'reward/score', threshold: 0.9, finalWindow: 10 };

/** Mean of the finite values (NaN when there are none). */
function mean(xs: readonly number[]): number {
  const finite = xs.filter(Number.isFinite);
  return finite.length === 0 ? Number.NaN : finite.reduce((a, b) => a + b, 0) / finite.length;
}

function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The first update (1-based) whose mean over it and the 4 before reaches `threshold`. */
export function updatesTo(history: readonly Metrics[], metric: MetricName, threshold: number): number | undefined {
  for (let u = 5; u <= history.length; u++)
    if (mean(history.slice(u - 5, u).map((m) => m[metric])) >= threshold) return u;
  return undefined;
}

export interface SummaryRow {
  run: string;
  settings: Record<string, string>;
  seed: number;
  updates: number;
  updatesTo?: number;
  finalMetric: number;
  finalScore: number;
  finalKl: number;
  finalEntropy: number;
  msPerUpdate: number;
}

export function summaryRow(run: SweepRun, history: readonly Metrics[], options: SummaryOptions): SummaryRow {
  const last = history.slice(-options.finalWindow);
  return {
    run: run.id,
    settings: { ...run.combination.settings } as Record<string, string>,
    seed: run.seed,
    updates: history.length,
    updatesTo: updatesTo(history, options.metric, options.threshold),
    finalMetric: mean(last.map((m) => m[options.metric])),
    finalScore: mean(last.map((m) => m['reward/score'])),
    finalKl: mean(last.map((m) => m['kl/ref'])),
    finalEntropy: mean(last.map((m) => m['policy/entropy'])),
    msPerUpdate: median(history.map((m) => m['perf/update_ms'])),
  };
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function field(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const num = (x: number | undefined, digits = 4) =>
  x === undefined || !Number.isFinite(x) ? '' : String(Number(x.toFixed(digits)));

/** summary.csv: a header, then one row per run; an empty cell means "never" or "not defined". */
export function summaryCsv(axes: readonly GridAxis[], rows: readonly SummaryRow[], options: SummaryOptions): string {
  const metric = options.metric;
  // The chosen metric's final mean gets its own column unless it is the score, which always has one.
  const extra = metric !== 'reward/score';
  const header = [
    'run',
    ...axes.map((a) => a.key),
    'seed',
    'updates',
    `updates_to_${metric}_${options.threshold}`,
    ...(extra ? [`final_${metric}`] : []),
    'final_score',
    'final_kl',
    'final_entropy',
    'ms_per_update',
  ];
  const lines = rows.map((r) =>
    [
      r.run,
      ...axes.map((a) => r.settings[a.key] ?? ''),
      String(r.seed),
      String(r.updates),
      r.updatesTo === undefined ? '' : String(r.updatesTo),
      ...(extra ? [num(r.finalMetric)] : []),
      num(r.finalScore),
      num(r.finalKl),
      num(r.finalEntropy),
      num(r.msPerUpdate, 1),
    ]
      .map(field)
      .join(','),
  );
  return [header.map(field).join(','), ...lines].join('\n') + '\n';
}

export interface Curve {
  label: string;
  /** Per update (index 0 is update 1): mean across seeds, and the lowest and highest seed. */
  mean: number[];
  low: number[];
  high: number[];
  seeds: number;
}

/** Per combination, the metric's mean and range across its seeds at each update. */
export function curves(
  groups: readonly { label: string; histories: readonly (readonly Metrics[])[] }[],
  metric: MetricName,
): Curve[] {
  return groups.map(({ label, histories }) => {
    const length = Math.max(0, ...histories.map((h) => h.length));
    const at = (u: number) => histories.map((h) => h[u]?.[metric]).filter((x): x is number => Number.isFinite(x));
    const columns = Array.from({ length }, (_, u) => at(u));
    return {
      label,
      mean: columns.map((c) => mean(c)),
      low: columns.map((c) => (c.length ? Math.min(...c) : Number.NaN)),
      high: columns.map((c) => (c.length ? Math.max(...c) : Number.NaN)),
      seeds: histories.length,
    };
  });
}

const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0e7490', '#be185d', '#4d7c0f'];

/** Escapes text for SVG: labels come from the command line. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round numbers for an axis between lo and hi. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * summary.svg: one line per combination (the mean across seeds) over a band from the lowest to the
 * highest seed, with axes, a title and a legend. Self-contained: no scripts, no external resources.
 */
export function summarySvg(all: readonly Curve[], metric: MetricName, title: string): string {
  const [width, height] = [760, 420];
  const legendRows = all.length;
  const plot = { left: 60, right: width - 20, top: 40, bottom: height - 50 - 16 * legendRows };
  const length = Math.max(1, ...all.map((c) => c.mean.length));
  const values = all.flatMap((c) => [...c.low, ...c.high]).filter(Number.isFinite);
  let [lo, hi] = values.length ? [Math.min(...values), Math.max(...values)] : [0, 1];
  if (metric === 'reward/score' || metric === 'reward/gold') [lo, hi] = [Math.min(0, lo), Math.max(1, hi)];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x = (u: number) => plot.left + ((plot.right - plot.left) * u) / Math.max(1, length - 1);
  const y = (v: number) => plot.bottom - ((plot.bottom - plot.top) * (v - lo)) / (hi - lo);
  const pathOf = (points: [number, number][]) =>
    points.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${xml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${xml(title)}</text>`,
  ];
  for (const t of ticks(lo, hi)) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e7eb"/>`,
      `<text x="${plot.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of ticks(1, length)) {
    if (!Number.isInteger(t)) continue;
    parts.push(`<text x="${x(t - 1).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(
    `<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#6b7280"/>`,
    `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 32}" text-anchor="middle">update</text>`,
    `<text transform="translate(14 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">${xml(metric)}</text>`,
  );
  all.forEach((curve, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const band: [number, number][] = [];
    const back: [number, number][] = [];
    const line: [number, number][] = [];
    curve.mean.forEach((m, u) => {
      if (!Number.isFinite(m)) return;
      band.push([x(u), y(curve.high[u])]);
      back.unshift([x(u), y(curve.low[u])]);
      line.push([x(u), y(m)]);
    });
    if (line.length === 0) return;
    parts.push(
      `<path d="${pathOf([...band, ...back])}Z" fill="${colour}" fill-opacity="0.15" stroke="none"/>`,
      `<path d="${pathOf(line)}" fill="none" stroke="${colour}" stroke-width="1.8"/>`,
    );
    const ly = plot.bottom + 46 + 16 * k;
    parts.push(
      `<rect x="${plot.left}" y="${ly - 9}" width="14" height="10" fill="${colour}"/>`,
      `<text x="${plot.left + 20}" y="${ly}">${xml(`${curve.label} (mean of ${curve.seeds} seeds; band: lowest to highest)`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

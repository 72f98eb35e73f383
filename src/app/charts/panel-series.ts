// What ChartPanel draws: the chart specs, colours and series builders (pure, no runes).
import type { MetricName, Metrics } from '../../engine/metrics';
import { column, decimate, ema, stdBand, toPoints, withAlpha, type ChartSeries, type Point } from './series';

/** A saved run drawn for comparison. */
export interface PinnedRun {
  label: string;
  history: Metrics[];
}

/** Points per series handed to Chart.js. */
export const MAX_POINTS = 500;

/** Metrics offered for the fourth ("Extra") chart. */
export const EXTRA_CHARTS: readonly { metric: MetricName; title: string; yLabel: string }[] = [
  { metric: 'policy/entropy', title: 'Entropy', yLabel: 'nats per token' },
  { metric: 'policy/clipfrac', title: 'Clip fraction', yLabel: 'fraction of tokens' },
  { metric: 'policy/approx_kl', title: 'Approx. KL (old → new)', yLabel: 'nats per token' },
  { metric: 'policy/update_kl', title: 'KL moved by the update', yLabel: 'nats per token' },
  { metric: 'trpo/kl', title: 'TRPO step KL (≤ δ)', yLabel: 'nats per token' },
  { metric: 'trpo/line_search_steps', title: 'TRPO line-search backtracks', yLabel: 'steps of ×0.8' },
  { metric: 'reward/normalised', title: 'Normalised reward (batch mean)', yLabel: 'running z-score' },
  { metric: 'value/explained_variance', title: 'Explained variance', yLabel: 'fraction of return variance' },
  { metric: 'episode/length', title: 'Episode length', yLabel: 'tokens' },
  { metric: 'episode/failed_length', title: 'Length of wrong answers', yLabel: 'tokens (answers scoring below 1)' },
  { metric: 'episode/eos_rate', title: '<eos> rate', yLabel: 'share of responses ending in <eos>' },
  { metric: 'optim/lr', title: 'Learning rate', yLabel: 'step size' },
  { metric: 'episode/turns', title: 'Turns per episode', yLabel: 'turns' },
  { metric: 'episode/tool_calls', title: 'Tool calls per episode', yLabel: 'calls' },
  { metric: 'episode/think_tokens', title: 'Scratchpad length', yLabel: 'tokens between <think> and </think>' },
  { metric: 'episode/think_tracks', title: 'Scratchpad on the chain', yLabel: 'share writing the path in order' },
  { metric: 'reward/gold', title: 'Gold score (hidden human)', yLabel: 'score (0–1)' },
  { metric: 'rm/agreement', title: 'Reward model agrees with the human', yLabel: 'share of pairs' },
  { metric: 'rm/accuracy', title: 'Reward model held-out accuracy', yLabel: 'share of pairs' },
];

export const COLORS = {
  score: '#2563eb',
  total: '#d97706',
  kl: '#7c3aed',
  beta: '#059669',
  value: '#dc2626',
  extra: '#0e7490',
  gold: '#15803d',
} as const;
const PINNED_COLORS = ['#64748b', '#a16207', '#be185d', '#0f766e'];

/** x values: each row's `update`, or its index where that is missing. */
export function xsOf(rows: readonly Metrics[]): number[] {
  return rows.map((m, i) => (Number.isFinite(m.update) ? m.update : i));
}

function points(xs: readonly number[], ys: readonly number[]): Point[] {
  return decimate(toPoints(xs, ys), MAX_POINTS);
}

/** The last raw (unsmoothed) point, which a line's text alternative states. */
function latestRaw(xs: readonly number[], raw: readonly number[]): Point | undefined {
  for (let i = Math.min(xs.length, raw.length) - 1; i >= 0; i--)
    if (Number.isFinite(raw[i])) return { x: xs[i], y: raw[i] };
  return undefined;
}

/**
 * A smoothed line; while smoothing is on, the raw values under it as a faint line (not in the legend).
 * The text alternative states the raw latest value.
 */
export function smoothedLine(
  xs: readonly number[],
  raw: readonly number[],
  label: string,
  color: string,
  smoothing: number,
): ChartSeries[] {
  const smooth: ChartSeries = { label, color, points: points(xs, ema(raw, smoothing)), latest: latestRaw(xs, raw) };
  if (smoothing === 0) return [smooth];
  const faint: ChartSeries = {
    label: `${label} (raw)`,
    color: withAlpha(color, 0.3),
    width: 1,
    hiddenFromLegend: true,
    points: points(xs, raw),
  };
  return [faint, smooth];
}

/** Pinned runs' values of one metric: dashed, muted, smoothed like the live lines. */
export function pinnedLines(pinned: readonly PinnedRun[], metric: MetricName, smoothing: number): ChartSeries[] {
  return pinned.map((run, j) => {
    const xs = xsOf(run.history);
    const raw = column(run.history, metric);
    const color = PINNED_COLORS[j % PINNED_COLORS.length];
    return {
      label: run.label,
      color,
      dashed: true,
      width: 1.5,
      underneath: true,
      points: points(xs, ema(raw, smoothing)),
      latest: latestRaw(xs, raw),
    };
  });
}

/** Reward chart: the raw ±1 std band of the score (clamped to 0–1), the smoothed score and total reward. */
export function rewardLines(xs: readonly number[], history: readonly Metrics[], smoothing: number): ChartSeries[] {
  const score = column(history, 'reward/score');
  const band = stdBand(score, column(history, 'reward/score_std'), { min: 0, max: 1 });
  const fill = withAlpha(COLORS.score, 0.14);
  return [
    { label: '±1 std', color: fill, fillColor: fill, width: 0, fillToNext: true, points: points(xs, band.upper) },
    { label: '−1 std', color: fill, width: 0, hiddenFromLegend: true, points: points(xs, band.lower) },
    { label: 'score', color: COLORS.score, points: points(xs, ema(score, smoothing)), latest: latestRaw(xs, score) },
    ...smoothedLine(xs, column(history, 'reward/total'), 'total (score − β·KL)', COLORS.total, smoothing),
  ];
}

/** KL chart: smoothed KL to the reference; with adaptive KL also β (raw) on the right axis. */
export function klLines(
  xs: readonly number[],
  history: readonly Metrics[],
  smoothing: number,
  adaptiveKl: boolean,
): ChartSeries[] {
  const kl = smoothedLine(xs, column(history, 'kl/ref'), 'KL', COLORS.kl, smoothing);
  if (!adaptiveKl) return kl;
  const beta = points(xs, column(history, 'kl/beta'));
  return [...kl, { label: 'β', color: COLORS.beta, dashed: true, yAxis: 'right', points: beta }];
}

/**
 * RLHF reward chart: the proxy (the reward model's normalised score, right axis) and the hidden human's
 * gold score (0–1, left axis), both smoothed.
 */
export function proxyGoldLines(xs: readonly number[], history: readonly Metrics[], smoothing: number): ChartSeries[] {
  const proxy = smoothedLine(xs, column(history, 'reward/score'), 'proxy (reward model)', COLORS.score, smoothing);
  return [
    ...smoothedLine(xs, column(history, 'reward/gold'), 'gold (hidden human)', COLORS.gold, smoothing),
    ...proxy.map((line) => ({ ...line, yAxis: 'right' as const })),
  ];
}

/**
 * Over-optimisation (Gao et al. 2022): gold and proxy against √KL to the reference, one point per
 * update, x and y smoothed alike so the line is the run's path. Proxy on the right axis.
 */
export function overoptimisationLines(history: readonly Metrics[], smoothing: number): ChartSeries[] {
  const rootKl = ema(
    column(history, 'kl/ref').map((kl) => Math.sqrt(Math.max(0, kl))),
    smoothing,
  );
  const path = (metric: MetricName) => decimate(toPoints(rootKl, ema(column(history, metric), smoothing)), MAX_POINTS);
  return [
    { label: 'gold', color: COLORS.gold, points: path('reward/gold') },
    { label: 'proxy', color: COLORS.score, yAxis: 'right', points: path('reward/score') },
  ];
}

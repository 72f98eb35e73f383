// Chart.js behind LineChart.svelte: one line chart, created once, redrawn at most ~10 times a second with
// the latest view. Plain TypeScript (no runes) so the component stays small.
import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ScaleOptions,
} from 'chart.js';
import type { ChartSeries, Point } from './series';

// Only the pieces used, so the rest of Chart.js is tree-shaken away.
Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Legend, Tooltip);

/** At most one redraw per this many milliseconds (~10 Hz); updates in between are coalesced. */
export const MIN_REDRAW_MS = 100;

/** Left axis bounds, as Chart.js linear-scale options. */
export type YRange = Pick<ScaleOptions<'linear'>, 'min' | 'max' | 'suggestedMin' | 'suggestedMax'>;

/** Everything a redraw needs. */
export interface LineChartView {
  title: string;
  yLabel: string;
  xLabel: string;
  rightLabel: string;
  series: ChartSeries[];
  yRange: YRange;
}

type Axis = ScaleOptions<'linear'> & { title: { text: string | string[] } };

export class LineChartDriver {
  private readonly chart: Chart<'line', Point[]>;
  /** Per dataset: left out of the legend and tooltip. */
  private quiet: boolean[] = [];
  private pending: LineChartView | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastDraw = -Infinity;

  /** `ondraw` runs after each redraw with the view drawn. */
  constructor(
    canvas: HTMLCanvasElement,
    private readonly ondraw: (view: LineChartView) => void,
  ) {
    const font = { size: 11 };
    // Four significant digits at most: a flat series otherwise labels its ticks 1.2552131814882160.
    const tickLabel = (value: number | string) => (typeof value === 'number' ? Number(value.toPrecision(4)) : value);
    const axis = { title: { display: true, font }, ticks: { font, maxTicksLimit: 6, callback: tickLabel } };
    this.chart = new Chart<'line', Point[]>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        spanGaps: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0, hoverRadius: 3 }, line: { tension: 0 } },
        scales: {
          x: { type: 'linear', ...axis, ticks: { font, maxTicksLimit: 8, includeBounds: false } },
          y: { type: 'linear', position: 'left', ...axis },
          y2: { type: 'linear', position: 'right', display: false, grid: { drawOnChartArea: false }, ...axis },
        },
        plugins: {
          legend: {
            position: 'top',
            align: 'end',
            labels: {
              font,
              boxWidth: 14,
              boxHeight: 2,
              filter: (item) => !this.quiet[item.datasetIndex ?? -1],
              sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
            },
          },
          tooltip: {
            filter: (item) => !this.quiet[item.datasetIndex],
            itemSort: (a, b) => a.datasetIndex - b.datasetIndex,
          },
        },
      },
    });
  }

  /** Draws this view soon: at once if the last redraw was long enough ago, else when the interval ends. */
  set(view: LineChartView): void {
    this.pending = view;
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastDraw + MIN_REDRAW_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastDraw = performance.now();
      if (this.pending) this.draw(this.pending);
    }, wait);
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.chart.destroy();
  }

  private draw(view: LineChartView): void {
    const datasets = this.chart.data.datasets;
    view.series.forEach((line, i) => {
      const ds: ChartDataset<'line', Point[]> = datasets[i] ?? { data: [] };
      ds.label = line.label;
      ds.data = line.points;
      ds.borderColor = line.color;
      ds.backgroundColor = line.fillToNext ? (line.fillColor ?? line.color) : line.color;
      ds.borderWidth = line.width ?? 2;
      ds.borderDash = line.dashed ? [6, 4] : [];
      ds.fill = line.fillToNext ? '+1' : false;
      ds.yAxisID = line.yAxis === 'right' ? 'y2' : 'y';
      // Chart.js paints lower `order` last (on top): later series go on top, `underneath` ones below all.
      ds.order = (line.underneath ? 1e6 : 0) - i;
      datasets[i] = ds;
    });
    datasets.length = view.series.length;
    this.quiet = view.series.map((line) => line.hiddenFromLegend === true);

    const options = this.chart.options;
    const { x, y, y2 } = options.scales as unknown as Record<'x' | 'y' | 'y2', Axis>;
    x.title.text = view.xLabel;
    // Tight x range (the data's), with round-numbered ticks inside it. All points, not the ends: on the
    // over-optimisation chart x is √KL, which does not grow monotonically.
    let low = Infinity;
    let high = -Infinity;
    for (const line of view.series)
      for (const p of line.points)
        if (Number.isFinite(p.x)) {
          low = Math.min(low, p.x);
          high = Math.max(high, p.x);
        }
    x.min = low <= high ? low : undefined;
    x.max = low <= high ? high : undefined;
    y.title.text = view.yLabel;
    y.min = view.yRange.min;
    y.max = view.yRange.max;
    y.suggestedMin = view.yRange.suggestedMin;
    y.suggestedMax = view.yRange.suggestedMax;
    y2.display = view.series.some((line) => line.yAxis === 'right');
    y2.title.text = view.rightLabel;
    if (options.plugins?.legend) options.plugins.legend.display = this.quiet.filter((q) => !q).length > 1;
    this.chart.update('none');
    this.ondraw(view);
  }
}

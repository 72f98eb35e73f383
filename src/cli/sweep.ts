// `npm run sweep`: every combination of a grid of settings on every seed, one run per process and
// `--jobs` processes at a time (default: every core), with a progress bar; each run's metrics as JSONL,
// then summary.csv (one row per run) and summary.svg (a metric's mean and spread across seeds per
// combination). Resumable: a run whose metrics file is complete is not run again.
//
//   npm run sweep -- --link '#v=4' --grid learningRate=0.001,0.003 --grid beta=0,0.02 --seeds 1-5 \
//                    --updates 200 --out runs/my-sweep
import { availableParallelism } from 'node:os';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../engine/backend';
import { METRIC_NAMES, type MetricName, type Metrics } from '../engine/metrics';
import { createTrainer } from '../engine/trainer';
import { parseAxis, parseSeeds, sweepRuns, type GridAxis, type SweepRun } from '../sweep/grid';
import { curves, DEFAULT_SUMMARY, summaryCsv, summaryRow, summarySvg, type SummaryOptions } from '../sweep/summary';
import { metricsToJson } from './format';
import { runChild, runPool } from './job-pool';

const USAGE = `Usage: npm run sweep -- --link LINK [--grid key=v1,v2,...]... [--seeds 1-5] [--updates N]
                        [--out DIR] [--jobs N] [--metric NAME] [--threshold X]

  --link LINK      the base settings, e.g. '#v=4&task=sort' (a preset's link, or one the app copied)
  --grid k=v1,v2   a setting and the values to try (repeatable: every combination runs)
  --seeds LIST     seeds per combination: 1-5, or 1,2,7 (default 1-3)
  --updates N      RL updates per run (default 200)
  --out DIR        where runs/<run>.jsonl, summary.csv and summary.svg go (default runs/sweep)
  --jobs N         runs at a time, one process each (default: the number of cores, here ${availableParallelism()})
  --metric NAME    what summary.svg draws and updates_to tests (default reward/score)
  --threshold X    updates_to: first update whose 5-update mean of the metric reaches X (default 0.9)

A run whose runs/<run>.jsonl holds all its updates is kept: run the same command again to finish an
interrupted sweep. A finished run of other settings under the same name is an error, not overwritten.`;

interface SweepArgs {
  link?: string;
  axes: GridAxis[];
  seeds: number[];
  updates: number;
  out: string;
  jobs: number;
  summary: SummaryOptions;
}

export function parseSweepArgs(argv: readonly string[]): SweepArgs | string {
  const args: SweepArgs = {
    axes: [],
    seeds: [1, 2, 3],
    updates: 200,
    out: 'runs/sweep',
    jobs: availableParallelism(),
    summary: { ...DEFAULT_SUMMARY },
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return USAGE;
    const value = argv[i + 1];
    if (value === undefined || (value.startsWith('--') && flag !== '--link'))
      return `${flag} needs a value.\n\n${USAGE}`;
    i++;
    if (flag === '--link') args.link = value;
    else if (flag === '--grid') {
      const axis = parseAxis(value);
      if (typeof axis === 'string') return axis;
      if (args.axes.some((a) => a.key === axis.key)) return `--grid ${axis.key} is given twice.`;
      args.axes.push(axis);
    } else if (flag === '--seeds') {
      const seeds = parseSeeds(value);
      if (typeof seeds === 'string') return seeds;
      args.seeds = seeds;
    } else if (flag === '--updates' || flag === '--jobs') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) return `${flag} needs a whole number ≥ 1 (got ${value}).`;
      if (flag === '--updates') args.updates = n;
      else args.jobs = n;
    } else if (flag === '--out') args.out = value;
    else if (flag === '--metric') {
      if (!(METRIC_NAMES as readonly string[]).includes(value))
        return `--metric needs one of: ${METRIC_NAMES.join(', ')} (got ${value}).`;
      args.summary.metric = value as MetricName;
    } else if (flag === '--threshold') {
      const x = Number(value);
      if (!Number.isFinite(x)) return `--threshold needs a number (got ${value}).`;
      args.summary.threshold = x;
    } else return `Unknown argument "${flag}".\n\n${USAGE}`;
  }
  if (args.link === undefined) return `--link is required.\n\n${USAGE}`;
  return args;
}

/** A run's file holds one JSON line per update; complete when it has them all (written last, by rename). */
function readHistory(file: string): Metrics[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const row = JSON.parse(line) as Record<string, number | null>;
      const metrics = {} as Metrics;
      for (const name of METRIC_NAMES) metrics[name] = row[name] ?? Number.NaN;
      return metrics;
    });
}

/** Child mode: trains one run on wasm, writing <file>.partial and renaming it to <file> when done. */
async function child(job: { config: SweepRun['config']; updates: number; file: string }): Promise<void> {
  const backend = await useBackend('wasm');
  if (backend.name !== 'wasm') throw new Error(`wanted wasm, got ${backend.reason}`);
  const partial = `${job.file}.partial`;
  const out = createWriteStream(partial);
  const trainer = createTrainer(job.config);
  try {
    for (let u = 0; u < job.updates; u++) out.write(`${metricsToJson((await trainer.step()).metrics)}\n`);
  } finally {
    trainer.dispose();
    await new Promise<void>((resolve) => out.end(resolve));
  }
  renameSync(partial, job.file);
}

/** `[██████░░░░] 6/10 runs · 2.1 min · ~1.4 min left`: redrawn in place on a terminal, a line per run otherwise. */
function progress(done: number, total: number, skipped: number, startedMs: number): string {
  const width = 24;
  const filled = Math.round((width * done) / Math.max(1, total));
  const elapsed = (Date.now() - startedMs) / 60_000;
  const ran = done - skipped;
  const left = ran > 0 ? (elapsed / ran) * (total - done) : Number.NaN;
  const eta = Number.isFinite(left) && done < total ? ` · ~${left.toFixed(1)} min left` : '';
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} runs · ${elapsed.toFixed(1)} min${eta}`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--job') {
    await child(JSON.parse(argv[1]) as Parameters<typeof child>[0]);
    return 0;
  }
  const args = parseSweepArgs(argv);
  if (typeof args === 'string') {
    console.error(args);
    return args === USAGE ? 0 : 2;
  }
  const runs = sweepRuns(args.link ?? '', args.axes, args.seeds);
  if (typeof runs === 'string') {
    console.error(runs);
    return 2;
  }
  const runsDir = join(args.out, 'runs');
  mkdirSync(runsDir, { recursive: true });

  // What each run is, next to its metrics: a resumed sweep refuses a finished run of other settings.
  const fileOf = (run: SweepRun) => join(runsDir, `${run.id}.jsonl`);
  const settingsOf = (run: SweepRun) => JSON.stringify({ config: run.config, updates: args.updates });
  const finished = (run: SweepRun) => {
    if (!existsSync(fileOf(run))) return false;
    const recorded = existsSync(`${fileOf(run)}.settings.json`)
      ? readFileSync(`${fileOf(run)}.settings.json`, 'utf8')
      : '';
    if (recorded !== settingsOf(run))
      throw new Error(
        `${fileOf(run)} holds a run of other settings (or updates); use another --out, or delete it to run it again.`,
      );
    return readHistory(fileOf(run)).length === args.updates;
  };
  const todo = runs.filter((run) => !finished(run));
  const skipped = runs.length - todo.length;

  const tty = process.stderr.isTTY;
  const startedMs = Date.now();
  const failures: string[] = [];
  console.error(
    `${runs.length} runs (${runs.length / args.seeds.length} combinations × ${args.seeds.length} seeds, ${args.updates} updates each), ${args.jobs} at a time` +
      (skipped ? `; ${skipped} already finished, kept` : ''),
  );
  console.error(progress(skipped, runs.length, skipped, startedMs));
  await runPool(
    todo,
    args.jobs,
    (run) => {
      writeFileSync(`${fileOf(run)}.settings.json`, settingsOf(run));
      const job = { config: run.config, updates: args.updates, file: fileOf(run) };
      return runChild(fileURLToPath(import.meta.url), ['--job', JSON.stringify(job)]);
    },
    (run, outcome, done) => {
      if (!outcome.ok) failures.push(`${run.id}: ${outcome.error}`);
      const line = progress(skipped + done, runs.length, skipped, startedMs);
      process.stderr.write(tty ? `\x1b[1A\x1b[2K${line}\n` : `${line}  (${run.id}${outcome.ok ? '' : ': FAILED'})\n`);
    },
  );
  for (const failure of failures) console.error(`failed: ${failure}`);

  // The summary covers every finished run, this session's and earlier ones'.
  const complete = runs.filter((run) => existsSync(fileOf(run)));
  const histories = new Map(complete.map((run) => [run.id, readHistory(fileOf(run))]));
  const rows = complete.map((run) => summaryRow(run, histories.get(run.id) ?? [], args.summary));
  writeFileSync(join(args.out, 'summary.csv'), summaryCsv(args.axes, rows, args.summary));
  const combos = [...new Map(complete.map((r) => [r.combination.id, r.combination])).values()];
  const groups = combos.map((combo) => ({
    label:
      Object.entries(combo.settings)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ') || 'base link',
    histories: complete.filter((r) => r.combination.id === combo.id).map((r) => histories.get(r.id) ?? []),
  }));
  const title = `${args.summary.metric}: ${args.link}`;
  writeFileSync(
    join(args.out, 'summary.svg'),
    summarySvg(curves(groups, args.summary.metric), args.summary.metric, title),
  );
  console.log(
    `wrote ${join(args.out, 'summary.csv')} and summary.svg: ${complete.length} of ${runs.length} runs in ${((Date.now() - startedMs) / 60_000).toFixed(1)} min` +
      (failures.length ? ` (${failures.length} failed)` : ''),
  );
  return failures.length ? 1 : 0;
}

// Only as a program: tests import parseSweepArgs.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

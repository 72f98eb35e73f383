// `npm run lessons`: every gallery lesson (each arm) on several seeds, in parallel child processes, and
// lessons/RESULTS.md with each claim's numbers per seed and how often it held (src/lessons/).
//
//   npm run lessons -- [--seeds 1,2,3,4,5] [--lesson NAME ...] [--jobs 2] [--out lessons/RESULTS.md]
//
// One job is one arm on one seed, in its own process on wasm (tfjs holds global state; a process per
// job keeps runs independent and lets two run side by side). Arms shared by lessons run once per seed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../engine/backend';
import { LESSONS, type Lesson } from '../presets';
import type { ArmRun } from '../lessons/claims';
import { armKey, armsOf, judgeLesson, runArm } from '../lessons/run';
import { resultsMarkdown, summaryLine, type LessonReport, type SeedResult } from '../lessons/report';
import { runChild, runPool } from './job-pool';
import { watchSources } from './source-watch';

const USAGE = `Usage: npm run lessons -- [--seeds 1,2,3,4,5] [--lesson NAME ...] [--jobs N] [--out FILE]

  --seeds LIST   seeds to run each lesson on (default 1,2,3,4,5); each overrides the preset's seed in every arm
  --lesson NAME  a lesson to run (repeatable; default all): ${LESSONS.map((l) => l.name).join(', ')}
  --jobs N       child processes at a time (default 2), one per arm and seed
  --out FILE     where to write the results (default lessons/RESULTS.md); sections of lessons not run are kept`;

interface Args {
  seeds: number[];
  lessons: Lesson[];
  jobs: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Args | string {
  const args: Args = { seeds: [1, 2, 3, 4, 5], lessons: [], jobs: 2, out: 'lessons/RESULTS.md' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') return USAGE;
    if (value === undefined || value.startsWith('--')) return `${flag} needs a value.\n\n${USAGE}`;
    i++;
    if (flag === '--seeds') {
      const seeds = value.split(',').map(Number);
      if (!seeds.every((s) => Number.isInteger(s) && s >= 0))
        return `--seeds needs whole numbers, e.g. 1,2,3 (got ${value}).`;
      args.seeds = [...new Set(seeds)];
    } else if (flag === '--lesson') {
      const lesson = LESSONS.find((l) => l.name === value);
      if (!lesson) return `--lesson needs one of: ${LESSONS.map((l) => l.name).join(', ')} (got ${value}).`;
      if (!args.lessons.includes(lesson)) args.lessons.push(lesson);
    } else if (flag === '--jobs') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) return `--jobs needs a whole number ≥ 1 (got ${value}).`;
      args.jobs = n;
    } else if (flag === '--out') args.out = value;
    else return `Unknown argument "${flag}".\n\n${USAGE}`;
  }
  if (args.lessons.length === 0) args.lessons = [...LESSONS];
  else args.lessons = LESSONS.filter((l) => args.lessons.includes(l));
  return args;
}

interface Job {
  key: string;
  link: string;
  updates: number;
  seed: number;
  /** For progress lines: "calculator arm 1 (tools on)". */
  name: string;
}

// JSON has no NaN (reinforce's explained variance is NaN by design): non-finite numbers travel as strings.
const encode = (run: ArmRun) =>
  JSON.stringify(run, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
const decode = (text: string) =>
  JSON.parse(text, (_, v: unknown) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as ArmRun;

/** Child mode: `--job JSON --result FILE` trains one arm on wasm and writes its run. */
async function child(job: Job, resultFile: string): Promise<void> {
  const backend = await useBackend('wasm');
  if (backend.name !== 'wasm') throw new Error(`wanted wasm, got ${backend.reason}`);
  const run = await runArm(job.link, job.updates, { seed: job.seed });
  writeFileSync(resultFile, encode(run));
}

function gitDescription(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    // Read-only: exit code 1 means the working tree differs from the commit.
    let dirty = false;
    try {
      execFileSync('git', ['diff-index', '--quiet', 'HEAD', '--']);
    } catch {
      dirty = true;
    }
    return `commit ${commit}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--job') {
    await child(JSON.parse(argv[1]) as Job, argv[3]);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    console.error(args);
    return args === USAGE ? 0 : 2;
  }

  // One job per distinct (arm, seed); longest first so the last job to finish is a short one.
  const jobs = new Map<string, Job>();
  for (const lesson of args.lessons)
    for (const seed of args.seeds)
      armsOf(lesson).forEach((arm, i) => {
        const key = armKey(arm.link, lesson.updates, seed);
        const name = lesson.arms ? `${lesson.name} arm ${i + 1} (${arm.label})` : lesson.name;
        if (!jobs.has(key)) jobs.set(key, { key, link: arm.link, updates: lesson.updates, seed, name });
      });
  const queue = [...jobs.values()].sort((a, b) => b.updates - a.updates);

  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'lessons-'));
  const runs = new Map<string, ArmRun | string>();
  console.log(
    `${args.lessons.length} lessons × seeds ${args.seeds.join(',')}: ${queue.length} arm runs, ${args.jobs} at a time (wasm)`,
  );
  // The engine's sources, as each child process imports them: an edit during the run is reported.
  const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
  const sources = watchSources([join(root, 'src'), join(root, 'assembly')]);
  try {
    const jobStarted = new Map<string, number>();
    await runPool(
      queue,
      args.jobs,
      (job, index) => {
        jobStarted.set(job.key, Date.now());
        const file = join(dir, `${index + 1}.json`);
        return runChild(fileURLToPath(import.meta.url), ['--job', JSON.stringify(job), '--result', file]);
      },
      (job, outcome, done, index) => {
        runs.set(job.key, outcome.ok ? decode(readFileSync(join(dir, `${index + 1}.json`), 'utf8')) : outcome.error);
        const took = Date.now() - (jobStarted.get(job.key) ?? Date.now());
        const status = outcome.ok ? `${(took / 1000).toFixed(0)} s` : `FAILED: ${outcome.error}`;
        console.log(`[${done}/${queue.length}] ${job.name}, seed ${job.seed}: ${status}`);
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    sources.close();
  }

  const date = new Date().toISOString().slice(0, 10);
  const edited = [...sources.changed].map((file) => file.slice(root.length + 1));
  if (edited.length)
    console.error(
      `lessons: the engine's sources changed during the run (${edited.slice(0, 5).join(', ')}${edited.length > 5 ? ', …' : ''}): arms may mix versions; run again on a still tree.`,
    );
  const commit = `${gitDescription()}${edited.length ? ' (sources edited during the run)' : ''}`;
  const command = `npm run lessons${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const reports: LessonReport[] = args.lessons.map((lesson) => {
    const seeds: SeedResult[] = args.seeds.map((seed) => {
      const armRuns = armsOf(lesson).map((arm) => runs.get(armKey(arm.link, lesson.updates, seed)));
      const failed = armRuns.find((r) => typeof r === 'string' || r === undefined);
      if (failed !== undefined || armRuns.some((r) => typeof r !== 'object'))
        return { seed, error: typeof failed === 'string' ? failed : 'not run' };
      try {
        return { seed, claim: judgeLesson(lesson, armRuns as ArmRun[], seed) };
      } catch (error) {
        return { seed, error: error instanceof Error ? error.message : String(error) };
      }
    });
    return { lesson, arms: armsOf(lesson).length, seeds, provenance: `${date}, ${commit}, \`${command}\`` };
  });

  for (const report of reports) {
    console.log(`\n${report.lesson.name}: ${report.lesson.lesson}`);
    for (const s of report.seeds) console.log(`  seed ${s.seed}: ${s.claim?.text ?? `error: ${s.error}`}`);
    console.log(`  ${summaryLine(report.seeds)}`);
  }

  const previous = existsSync(args.out) ? readFileSync(args.out, 'utf8') : '';
  let markdown = resultsMarkdown(
    { command, date, backend: 'wasm', commit, seeds: args.seeds },
    LESSONS,
    reports,
    previous,
  );
  markdown = await prettierFormat(markdown, args.out);
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, markdown);
  console.log(
    `\nwrote ${args.out} (${minutes(Date.now() - started)} for ${queue.length} arm runs, --jobs ${args.jobs})`,
  );
  return 0;
}

/** Formats with the repository's Prettier (a dev dependency) so `npm run lint` stays clean; as-is without it. */
async function prettierFormat(markdown: string, file: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(markdown, { ...options, filepath: file });
  } catch {
    return markdown;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);

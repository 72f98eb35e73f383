// The PyTorch reference (bench/ppo_reference.py): the same PPO or GRPO update on the default preset, timed
// by Debian's python3-torch on one thread, so the bench can print our time next to PyTorch's. The script
// takes the settings we run with on its command line and prints back every setting it used; a value that
// differs from ours makes the result unavailable rather than a ratio of different work. Missing Python or
// torch is not an error either: the result says why the reference is unavailable.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from '../src/engine/config';

/** The settings the script takes on its command line; the rest of its work is the default preset's. */
export type ReferenceSettings = Pick<
  Config,
  'algorithm' | 'groupSize' | 'batchSize' | 'learningRate' | 'beta' | 'entropyCoef' | 'epochs' | 'minibatches'
>;

export type PytorchResult =
  | { available: true; torch: string; updateMs: number; rolloutMs: number; optimizeMs: number }
  | { available: false; reason: string };

export type LearningCurve = { available: true; means: number[] } | { available: false; reason: string };

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./ppo_reference.py', import.meta.url));
/** One thread everywhere, like the single-threaded tfjs backends it is compared with. */
const ENV = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const run = promisify(execFile);

interface RunFailure {
  code?: number | string | null;
  signal?: string | null;
  killed?: boolean;
  stderr?: string;
  message?: string;
}

/** The last non-empty line of stderr (a Python traceback ends with the exception), else the message. */
function describe(error: unknown): string {
  const e = (error ?? {}) as RunFailure;
  if (e.killed || e.signal) return `it was stopped (${e.signal ?? 'timeout'})`;
  const last = (e.stderr ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .at(-1);
  return last ?? e.message ?? String(error);
}

interface ScriptResult {
  torch: string;
  updateMs: number;
  rolloutMs: number;
  optimizeMs: number;
  settings: Record<string, unknown>;
}

function isResult(x: unknown): x is ScriptResult {
  if (x === null || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  return (
    typeof r.torch === 'string' &&
    finite(r.updateMs) &&
    finite(r.rolloutMs) &&
    finite(r.optimizeMs) &&
    r.settings !== null &&
    typeof r.settings === 'object'
  );
}

/** The script's command-line flags for these settings. */
export function referenceArgs(s: ReferenceSettings): string[] {
  return [
    ['--algorithm', s.algorithm],
    ['--group', s.groupSize],
    ['--batch', s.batchSize],
    ['--lr', s.learningRate],
    ['--beta', s.beta],
    ['--entropy-coef', s.entropyCoef],
    ['--epochs', s.epochs],
    ['--minibatches', s.minibatches],
  ].flatMap(([flag, value]) => [String(flag), String(value)]);
}

/** Settings the script reported that differ from ours, as "key ours ≠ theirs"; empty when the work is the same. */
export function settingMismatches(ours: Readonly<Config>, theirs: Record<string, unknown>): string[] {
  const mismatches: string[] = [];
  for (const [key, value] of Object.entries(theirs)) {
    const mine = (ours as Readonly<Record<string, unknown>>)[key];
    if (mine !== value) mismatches.push(`${key} ${String(mine)} ≠ ${String(value)}`);
  }
  return mismatches;
}

/** Why the reference cannot run here, or undefined when Python and torch are there. */
async function unavailable(): Promise<string | undefined> {
  try {
    await access(PYTHON, constants.X_OK);
  } catch {
    return `${PYTHON} not found (apt-get install python3-torch)`;
  }
  try {
    await run(PYTHON, ['-c', 'import torch'], { env: ENV, timeout: 60_000 });
  } catch (error) {
    return `python3-torch is not installed (apt-get install python3-torch): ${describe(error)}`;
  }
  return undefined;
}

/** One timed run of the script with `config`'s settings (the whole config, to check what it ran). */
export async function runPytorchReference(options: {
  warmup: number;
  updates: number;
  config: Readonly<Config>;
}): Promise<PytorchResult> {
  const reason = await unavailable();
  if (reason) return { available: false, reason };

  const args = [
    SCRIPT,
    ...referenceArgs(options.config),
    '--warmup',
    String(options.warmup),
    '--updates',
    String(options.updates),
  ];
  let stdout: string;
  try {
    // Generous: an update takes well under a second, format pretraining a few seconds.
    const timeout = 120_000 + 5_000 * (options.warmup + options.updates);
    ({ stdout } = await run(PYTHON, args, { env: ENV, timeout, maxBuffer: 1 << 20 }));
  } catch (error) {
    return { available: false, reason: `the PyTorch reference failed: ${describe(error)}` };
  }

  const line = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { available: false, reason: `the PyTorch reference printed no JSON: "${line.slice(0, 200)}"` };
  }
  if (!isResult(parsed)) {
    return { available: false, reason: `the PyTorch reference printed unexpected JSON: ${line.slice(0, 200)}` };
  }
  const mismatches = settingMismatches(options.config, parsed.settings);
  if (mismatches.length > 0) {
    return {
      available: false,
      reason: `the PyTorch reference ran different settings (ours ≠ its): ${mismatches.join(', ')}`,
    };
  }
  const { torch, updateMs, rolloutMs, optimizeMs } = parsed;
  return { available: true, torch, updateMs, rolloutMs, optimizeMs };
}

/** The script's `--learn`: the mean score of each 10 updates, over `updates` untimed updates on `seed`. */
export async function runPytorchLearningCurve(options: {
  updates: number;
  seed: number;
  settings: ReferenceSettings;
}): Promise<LearningCurve> {
  const reason = await unavailable();
  if (reason) return { available: false, reason };
  const args = [SCRIPT, ...referenceArgs(options.settings), '--learn', String(options.updates)];
  let stdout: string;
  try {
    const timeout = 120_000 + 5_000 * options.updates;
    ({ stdout } = await run(PYTHON, [...args, '--seed', String(options.seed)], { env: ENV, timeout }));
  } catch (error) {
    return { available: false, reason: `the PyTorch reference failed: ${describe(error)}` };
  }
  // Lines "update 10: mean score 0.192".
  const means = [...stdout.matchAll(/^update \d+: mean score ([\d.]+)$/gm)].map((m) => Number(m[1]));
  if (means.length !== Math.floor(options.updates / 10)) {
    return { available: false, reason: `the PyTorch reference printed "${stdout.trim().slice(0, 200)}"` };
  }
  return { available: true, means };
}

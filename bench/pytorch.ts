// The PyTorch references: the same PPO or GRPO update, timed by Debian's python3-torch on one thread, so the
// bench can print our time next to PyTorch's. Two scripts do the same work: ppo_independent.py, written for
// speed (the one the ratio is taken against), and ppo_reference.py, the textbook nn.Module + torch.optim
// version. A script takes the settings we run with on its command line and prints back every setting it
// used; a value that differs from ours makes the result unavailable rather than a ratio of different work.
// So does a torch whose matrix products run on the reference (netlib) BLAS, which makes its updates 2.4–5×
// slower than on OpenBLAS, where no packaged PyTorch is: a ratio against it would flatter us. Missing Python or torch is not an error
// either: the result says why the reference is unavailable.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Config } from '../src/engine/config';

/** The settings the scripts take on their command line; the rest of their work is the default preset's. */
export type ReferenceSettings = Pick<
  Config,
  | 'algorithm'
  | 'groupSize'
  | 'batchSize'
  | 'learningRate'
  | 'beta'
  | 'entropyCoef'
  | 'epochs'
  | 'minibatches'
  | 'dModel'
  | 'nLayers'
  | 'nHeads'
  | 'alphabetSize'
  | 'sftSteps'
  | 'adamBeta2'
  | 'adamEpsilon'
>;

/** `independent`: bench/ppo_independent.py, the fastest; `reference`: bench/ppo_reference.py, the textbook one. */
export const PYTORCH_SCRIPTS = ['independent', 'reference'] as const;
export type PytorchScript = (typeof PYTORCH_SCRIPTS)[number];

export type PytorchResult =
  | {
      available: true;
      script: PytorchScript;
      torch: string;
      /** The BLAS library torch's matrix products ran on (file name), or "built in" when none is loaded. */
      blas: string;
      updateMs: number;
      rolloutMs: number;
      optimizeMs: number;
    }
  | { available: false; reason: string };

export type LearningCurve = { available: true; means: number[] } | { available: false; reason: string };

const PYTHON = '/usr/bin/python3';
const SCRIPTS: Record<PytorchScript, string> = {
  independent: fileURLToPath(new URL('./ppo_independent.py', import.meta.url)),
  reference: fileURLToPath(new URL('./ppo_reference.py', import.meta.url)),
};
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
    ['--d-model', s.dModel],
    ['--layers', s.nLayers],
    ['--heads', s.nHeads],
    ['--alphabet', s.alphabetSize],
    ['--sft-steps', s.sftSteps],
    ['--adam-beta2', s.adamBeta2],
    ['--adam-epsilon', s.adamEpsilon],
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

// After one matrix product, the BLAS libraries mapped into the process (Linux; none elsewhere, or when the
// BLAS is linked into libtorch, as in pip's wheels).
const BLAS_PROBE = `
import json, torch
torch.ones(64, 64) @ torch.ones(64, 64)
try:
    maps = open('/proc/self/maps').read().splitlines()
except OSError:
    maps = []
print(json.dumps(sorted({l.split()[-1] for l in maps if 'blas' in l.lower() and l.split()[-1].startswith('/')})))
`;
/** Debian's and Ubuntu's reference BLAS (libblas3), what libblas.so.3 resolves to when no optimised one is installed. */
const REFERENCE_BLAS = /\/blas\/libblas\.so/;

/** Python with torch on a fast BLAS, or why the reference cannot run here. Probed once per bench. */
let probe: Promise<{ blas: string } | { reason: string }> | undefined;
function pythonTorch(): Promise<{ blas: string } | { reason: string }> {
  probe ??= (async () => {
    try {
      await access(PYTHON, constants.X_OK);
    } catch {
      return { reason: `${PYTHON} not found (apt-get install python3-torch libopenblas0-pthread)` };
    }
    let stdout: string;
    try {
      ({ stdout } = await run(PYTHON, ['-c', BLAS_PROBE], { env: ENV, timeout: 60_000 }));
    } catch (error) {
      return {
        reason: `python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread): ${describe(error)}`,
      };
    }
    let libraries: string[];
    try {
      libraries = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as string[];
    } catch {
      return { reason: `the BLAS probe printed "${stdout.trim().slice(0, 200)}"` };
    }
    const slow = libraries.find((path) => REFERENCE_BLAS.test(path));
    if (slow)
      return {
        reason:
          `torch runs its matrix products on the reference BLAS (${slow}): updates 2.4–5× slower than any ` +
          'packaged PyTorch, so a ratio would flatter us. apt-get install libopenblas0-pthread',
      };
    // The implementation's own file (libopenblasp-r0.3.21.so) rather than the libblas.so.3 shim in front of it.
    const names = libraries.map((path) => path.split('/').at(-1) ?? path);
    return { blas: names.find((name) => /openblas|mkl|blis|atlas/i.test(name)) ?? (names.join(', ') || 'built in') };
  })();
  return probe;
}

/** One timed run of a script with `config`'s settings (the whole config, to check what it ran). */
export async function runPytorchReference(options: {
  script: PytorchScript;
  warmup: number;
  updates: number;
  config: Readonly<Config>;
}): Promise<PytorchResult> {
  const python = await pythonTorch();
  if ('reason' in python) return { available: false, reason: python.reason };

  const args = [
    SCRIPTS[options.script],
    ...referenceArgs(options.config),
    '--warmup',
    String(options.warmup),
    '--updates',
    String(options.updates),
  ];
  let stdout: string;
  try {
    // Generous: an update takes well under a second, format pretraining a few seconds.
    const timeout = 120_000 + 5_000 * (options.warmup + options.updates) + 100 * options.config.sftSteps;
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
  return { available: true, script: options.script, torch, blas: python.blas, updateMs, rolloutMs, optimizeMs };
}

/** A script's `--learn`: the mean score of each 10 updates, over `updates` untimed updates on `seed`. */
export async function runPytorchLearningCurve(options: {
  script: PytorchScript;
  updates: number;
  seed: number;
  settings: ReferenceSettings;
}): Promise<LearningCurve> {
  const python = await pythonTorch();
  if ('reason' in python) return { available: false, reason: python.reason };
  const args = [SCRIPTS[options.script], ...referenceArgs(options.settings), '--learn', String(options.updates)];
  let stdout: string;
  try {
    const timeout = 120_000 + 5_000 * options.updates + 100 * options.settings.sftSteps;
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

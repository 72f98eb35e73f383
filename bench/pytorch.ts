// The PyTorch reference (bench/ppo_reference.py): the same PPO update on the default preset, timed by
// Debian's python3-torch on one thread, so the bench can print our time next to PyTorch's. Missing
// Python or torch is not an error: the result says why the reference is unavailable.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export type PytorchResult =
  | { available: true; torch: string; updateMs: number; rolloutMs: number; optimizeMs: number }
  | { available: false; reason: string };

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

function isResult(x: unknown): x is { torch: string; updateMs: number; rolloutMs: number; optimizeMs: number } {
  if (x === null || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  return typeof r.torch === 'string' && finite(r.updateMs) && finite(r.rolloutMs) && finite(r.optimizeMs);
}

export async function runPytorchReference(options: { warmup: number; updates: number }): Promise<PytorchResult> {
  try {
    await access(PYTHON, constants.X_OK);
  } catch {
    return { available: false, reason: `${PYTHON} not found (apt-get install python3-torch)` };
  }
  try {
    await run(PYTHON, ['-c', 'import torch'], { env: ENV, timeout: 60_000 });
  } catch (error) {
    return {
      available: false,
      reason: `python3-torch is not installed (apt-get install python3-torch): ${describe(error)}`,
    };
  }

  const args = [SCRIPT, '--warmup', String(options.warmup), '--updates', String(options.updates)];
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
  const { torch, updateMs, rolloutMs, optimizeMs } = parsed;
  return { available: true, torch, updateMs, rolloutMs, optimizeMs };
}

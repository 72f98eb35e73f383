// Runs many independent training jobs, `jobs` at a time, each in its own Node process (the same entry
// point in child mode). tfjs keeps global state (backend, engine), so one process per run keeps runs
// independent; the OS spreads the processes over the cores. Shared by `npm run lessons` and `npm run sweep`.
import { spawn } from 'node:child_process';

export type JobOutcome = { ok: true } | { ok: false; error: string };

/** Runs this script again with `args` (plus Node's own flags, e.g. the tsx loader); resolves when it exits. */
export function runChild(script: string, args: readonly string[]): Promise<JobOutcome> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [...process.execArgv, script, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', (error) => resolve({ ok: false, error: error.message }));
    proc.on('close', (code) =>
      resolve(code === 0 ? { ok: true } : { ok: false, error: stderr.trim().split('\n').at(-1) ?? `exit ${code}` }),
    );
  });
}

/** Calls `run` on every item, at most `jobs` at a time, in order of the list; `done` after each (with the item's index). */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  run: (item: T, index: number) => Promise<JobOutcome>,
  done: (item: T, outcome: JobOutcome, finished: number, index: number) => void,
): Promise<void> {
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      const outcome = await run(items[index], index);
      finished++;
      done(items[index], outcome, finished, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

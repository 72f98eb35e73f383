// Saved runs in the browser's IndexedDB (through `idb`): a run's settings, its metric history, its latest
// samples and the trainer's complete state, so a reload continues where it was. The training worker
// saves (off the UI thread); the app lists, reopens, pins and deletes. No TensorFlow.js here.
// Failures never stop the app: every function reports a problem in words instead of throwing.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Metrics } from '../engine/metrics';
import type { TrainerSnapshot } from '../engine/snapshot';
import type { Sample } from '../engine/trainer';

export const DB_NAME = 'token-rl-playground';
/** Bumped when a saved run's shape changes; an older store is cleared (its runs cannot be read). */
export const DB_VERSION = 1;
/** Saved runs kept; the oldest go first. A run is ~0.1–0.5 MB, its history ~0.7 KB per update. */
export const MAX_SAVED_RUNS = 12;

/** What the Runs list shows of a saved run, without its weights or history. */
export interface RunSummary {
  id: string;
  /** The experiment's share link (its settings, title and hidden controls). */
  link: string;
  title: string;
  task: string;
  algorithm: string;
  updates: number;
  savedAt: number;
}

export interface SavedRun extends RunSummary {
  history: Metrics[];
  samples: Sample[];
  snapshot: TrainerSnapshot;
}

interface RunsSchema extends DBSchema {
  runs: { key: string; value: SavedRun; indexes: { savedAt: number } };
  summaries: { key: string; value: RunSummary; indexes: { savedAt: number } };
  meta: { key: string; value: string };
}

/** A problem the caller shows as a notice; never thrown. */
export interface StoreProblem {
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problem: StoreProblem };

let opening: Promise<IDBPDatabase<RunsSchema>> | undefined;

function open(): Promise<IDBPDatabase<RunsSchema>> {
  opening ??= openDB<RunsSchema>(DB_NAME, DB_VERSION, {
    upgrade(db) {
      // From nothing, or from a store an older version wrote: start the stores afresh.
      for (const name of [...db.objectStoreNames]) db.deleteObjectStore(name);
      db.createObjectStore('runs', { keyPath: 'id' }).createIndex('savedAt', 'savedAt');
      db.createObjectStore('summaries', { keyPath: 'id' }).createIndex('savedAt', 'savedAt');
      db.createObjectStore('meta');
    },
    blocked: () => undefined,
    terminated: () => {
      opening = undefined;
    },
  }).catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

function describe(error: unknown, doing: string): StoreProblem {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  if (name === 'QuotaExceededError')
    return {
      message: `Could not ${doing}: the browser's storage for this site is full. Delete saved runs in the Runs list to make room.`,
    };
  if (name === 'VersionError')
    return {
      message: `Could not ${doing}: the saved runs were written by a newer version of the playground. Reload to get it.`,
    };
  const text = error instanceof Error ? error.message : String(error);
  return { message: `Could not ${doing}: ${text.slice(0, 200)}` };
}

async function attempt<T>(doing: string, work: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, problem: describe(error, doing) };
  }
}

function summaryOf(run: SavedRun): RunSummary {
  const { id, link, title, task, algorithm, updates, savedAt } = run;
  return { id, link, title, task, algorithm, updates, savedAt };
}

/** Saves (or replaces) a run, makes it the current one, and drops the oldest beyond MAX_SAVED_RUNS. */
export function saveRun(run: SavedRun): Promise<Result<void>> {
  return attempt('save the run', async () => {
    const db = await open();
    const tx = db.transaction(['runs', 'summaries', 'meta'], 'readwrite');
    await tx.objectStore('runs').put(run);
    await tx.objectStore('summaries').put(summaryOf(run));
    await tx.objectStore('meta').put(run.id, 'current');
    const ids = await tx.objectStore('summaries').index('savedAt').getAllKeys();
    for (const old of ids.slice(0, Math.max(0, ids.length - MAX_SAVED_RUNS))) {
      await tx.objectStore('runs').delete(old);
      await tx.objectStore('summaries').delete(old);
    }
    await tx.done;
  });
}

/** Summaries of the saved runs, newest first. */
export function listRuns(): Promise<Result<RunSummary[]>> {
  return attempt('list the saved runs', async () => {
    const db = await open();
    return (await db.getAllFromIndex('summaries', 'savedAt')).reverse();
  });
}

/** A saved run, checked for the fields the app relies on (a damaged entry is a problem, not a crash). */
export function loadRun(id: string): Promise<Result<SavedRun>> {
  return attempt('open the saved run', async () => {
    const db = await open();
    const run = await db.get('runs', id);
    if (!run) throw new Error('it is no longer saved');
    if (!Array.isArray(run.history) || typeof run.snapshot !== 'object' || run.snapshot === null)
      throw new Error('the saved entry is damaged');
    return run;
  });
}

export function deleteRun(id: string): Promise<Result<void>> {
  return attempt('delete the saved run', async () => {
    const db = await open();
    const tx = db.transaction(['runs', 'summaries', 'meta'], 'readwrite');
    await tx.objectStore('runs').delete(id);
    await tx.objectStore('summaries').delete(id);
    if ((await tx.objectStore('meta').get('current')) === id) await tx.objectStore('meta').delete('current');
    await tx.done;
  });
}

/** A saved run's summary (its settings' link, task, updates), without loading its weights. */
export function loadSummary(id: string): Promise<Result<RunSummary | undefined>> {
  return attempt('read the saved runs', async () => (await open()).get('summaries', id));
}

/** The run the page had open last (what a reload continues), if it is still saved. */
export function currentRunId(): Promise<Result<string | undefined>> {
  return attempt('read the saved runs', async () => {
    const db = await open();
    const id = await db.get('meta', 'current');
    return id !== undefined && (await db.getKey('summaries', id)) !== undefined ? id : undefined;
  });
}

/** For tests: forget the open connection (e.g. after deleting the database). */
export function closeRunStore(): void {
  void opening?.then((db) => db.close());
  opening = undefined;
}

/** A fresh run id: time, then randomness, so ids sort by creation. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

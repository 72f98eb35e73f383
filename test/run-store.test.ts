// Saved runs (src/store/runs.ts) on fake-indexeddb: what is saved comes back (typed arrays included),
// the list is newest first and bounded, the current run follows saves and deletes, and a damaged entry
// or a store from a newer version is a problem in words, never a throw.
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import type { Metrics } from '../src/engine/metrics';
import type { TrainerSnapshot } from '../src/engine/snapshot';
import {
  closeRunStore,
  currentRunId,
  DB_NAME,
  deleteRun,
  listRuns,
  loadRun,
  MAX_SAVED_RUNS,
  saveRun,
  type SavedRun,
} from '../src/store/runs';

function run(id: string, savedAt: number, updates = 3): SavedRun {
  return {
    id,
    link: `#v=2&seed=${savedAt}`,
    title: '',
    task: 'reverse',
    algorithm: 'ppo',
    updates,
    savedAt,
    history: Array.from({ length: updates }, (_, i) => ({ update: i + 1, 'reward/score': 0.5 }) as unknown as Metrics),
    samples: [],
    snapshot: { format: 1, policy: new Float32Array([1.5, -2, 3]) } as unknown as TrainerSnapshot,
  };
}

const value = <T>(result: { ok: true; value: T } | { ok: false; problem: { message: string } }): T => {
  if (!result.ok) throw new Error(result.problem.message);
  return result.value;
};

afterEach(async () => {
  closeRunStore();
  await new Promise<void>((done) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = request.onerror = request.onblocked = () => done();
  });
});

describe('saved runs', () => {
  it('a saved run comes back whole, typed arrays included, and becomes the current one', async () => {
    value(await saveRun(run('a', 1)));
    value(await saveRun(run('b', 2, 5)));
    const loaded = value(await loadRun('b'));
    expect(loaded.history).toHaveLength(5);
    expect(loaded.snapshot.policy).toBeInstanceOf(Float32Array);
    expect([...loaded.snapshot.policy]).toEqual([1.5, -2, 3]);
    expect(value(await listRuns()).map((r) => [r.id, r.updates])).toEqual([
      ['b', 5],
      ['a', 3],
    ]);
    expect(value(await currentRunId())).toBe('b');
  });

  it(`keeps the newest ${MAX_SAVED_RUNS} runs and forgets the current one when it is deleted`, async () => {
    for (let i = 1; i <= MAX_SAVED_RUNS + 2; i++) value(await saveRun(run(`r${i}`, i)));
    const ids = value(await listRuns()).map((r) => r.id);
    expect(ids).toHaveLength(MAX_SAVED_RUNS);
    expect(ids[0]).toBe(`r${MAX_SAVED_RUNS + 2}`);
    expect(ids).not.toContain('r1');
    expect(ids).not.toContain('r2');
    const missing = await loadRun('r1');
    expect(missing.ok).toBe(false);
    value(await deleteRun(`r${MAX_SAVED_RUNS + 2}`));
    expect(value(await currentRunId())).toBeUndefined();
  });

  it('a damaged entry is a problem in words, and the other runs still load', async () => {
    value(await saveRun(run('good', 1)));
    value(await saveRun(run('bad', 2)));
    closeRunStore();
    const db = await openDB(DB_NAME);
    await db.put('runs', { ...run('bad', 2), history: 'not a list' });
    db.close();
    const bad = await loadRun('bad');
    expect(bad.ok ? '' : bad.problem.message).toBe('Could not open the saved run: the saved entry is damaged');
    expect(value(await loadRun('good')).id).toBe('good');
  });

  it('a store written by a newer version is reported, not thrown', async () => {
    const newer = await openDB(DB_NAME, 99);
    newer.close();
    const result = await listRuns();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.message).toMatch(/written by a newer version of the playground/);
  });
});

// Pinned runs: kept with their link, at most MAX_PINNED (the oldest drops), never an empty run.
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import { MAX_PINNED, PlaygroundState } from '../src/app/state.svelte';

const row = (update: number): Metrics => ({
  ...(Object.fromEntries(METRIC_NAMES.map((n) => [n, 0])) as Metrics),
  update,
});

describe('pinning runs', () => {
  it('pins the current history with its link, keeps at least 4 and at most MAX_PINNED', () => {
    const state = new PlaygroundState();
    state.pin('empty', '#v=1');
    expect(state.pinned).toEqual([]);
    for (let run = 1; run <= MAX_PINNED + 2; run++) {
      state.clearRun();
      state.appendMetrics(row(run), []);
      state.pin(`run ${run}`, `#v=1&seed=${run}`);
    }
    expect(MAX_PINNED).toBeGreaterThanOrEqual(4);
    expect(state.pinned.map((p) => p.label)).toEqual(Array.from({ length: MAX_PINNED }, (_, i) => `run ${i + 3}`));
    expect(state.pinned[0].link).toBe('#v=1&seed=3');
    expect(state.pinned[0].history.map((m) => m.update)).toEqual([3]);
    state.unpin(0);
    expect(state.pinned[0].label).toBe('run 4');
  });
});

describe('a restarted run', () => {
  it('a late update of the old run does not mix into the new history', () => {
    const state = new PlaygroundState();
    for (const update of [1, 2, 3]) state.appendMetrics(row(update), []);
    state.clearRun(); // Reset or RL re-run
    state.appendMetrics(row(4), []); // the old run's update that was in flight
    state.appendMetrics(row(1), []);
    state.appendMetrics(row(2), []);
    expect(state.history.map((m) => m.update)).toEqual([1, 2]);
  });
});

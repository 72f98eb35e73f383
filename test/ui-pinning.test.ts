// Pinned runs: kept with their link, at most MAX_PINNED (the oldest drops), never an empty run. The
// experiment's link, and a comparison lesson run arm after arm with each arm pinned.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/engine/config';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import type { Preset } from '../src/presets';
import { LessonRunner } from '../src/app/lesson/lesson-runner.svelte';
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

describe('the experiment link', () => {
  it('follows the settings, hidden settings and title, and labels a pinned run by algorithm and seed', () => {
    const state = new PlaygroundState();
    expect(state.link).toBe('#v=4');
    state.config = { ...defaultConfig(), seed: 7, algorithm: 'reinforce' };
    state.hidden = ['beta'];
    state.title = 'A b';
    // Schema order (algorithm before seed), then hide, then the title with its space as '+'.
    expect(state.link).toBe('#v=4&algorithm=reinforce&seed=7&hide=beta&title=A+b');
    state.pinCurrent();
    expect(state.pinned).toEqual([]); // nothing trained yet
    state.appendMetrics(row(1), []);
    state.pinCurrent();
    state.pinCurrent();
    expect(state.pinned.map((p) => [p.label, p.link])).toEqual([
      ['run 1: reverse, reinforce, seed 7', '#v=4&algorithm=reinforce&seed=7&hide=beta&title=A+b'],
      ['run 2: reverse, reinforce, seed 7', '#v=4&algorithm=reinforce&seed=7&hide=beta&title=A+b'],
    ]);
  });
});

describe('a lesson', () => {
  const comparison: Preset = {
    name: 'fixture',
    title: 'Fixture comparison',
    summary: '',
    link: '#v=2&seed=5',
    updates: 3,
    arms: [
      { label: 'ppo', link: '#v=2&seed=5' },
      { label: 'reinforce', link: '#v=2&algo=reinforce&seed=5&hide=beta' },
    ],
  };

  /** A runner over real state; the fake client logs commands and, like TrainingClient, clears the run on reset. */
  function setup() {
    const state = new PlaygroundState();
    const calls: string[] = [];
    const runner = new LessonRunner(state, {
      play: () => calls.push('play'),
      pause: () => calls.push('pause'),
      reset: (config) => {
        calls.push(`reset ${config.algorithm} seed ${config.seed}`);
        state.config = config;
        state.clearRun();
      },
    });
    /** The worker reports `updates` more updates; App's effects re-check after each. */
    const train = (updates: number) => {
      for (let i = 0; i < updates; i++) {
        state.appendMetrics(row((state.latest?.update ?? 0) + 1), []);
        runner.advance();
      }
    };
    /** The worker reports the new run ready (paused, no updates yet), then playing. */
    const ready = () => {
      state.runState = 'paused';
      runner.playWhenReady();
      runner.playWhenReady(); // the effect re-runs (autoplay changed) before the worker reports playing
      state.runState = 'playing';
    };
    return { state, calls, runner, train, ready };
  }

  it('runs a comparison arm after arm, pausing and pinning each after its updates', () => {
    const { state, calls, runner, train, ready } = setup();
    state.appendMetrics(row(1), []);
    state.pin('an earlier run', '#v=2');
    runner.open(comparison);
    expect(state.pinned).toEqual([]); // a lesson starts on clean charts
    expect(calls).toEqual(['reset ppo seed 5']);
    expect(state.title).toBe('Fixture comparison');
    expect(runner.current?.arm).toBe(0);

    // No play until the worker says the run is ready, and only once.
    state.runState = 'starting';
    runner.playWhenReady();
    expect(calls).toEqual(['reset ppo seed 5']);
    ready();
    expect(calls).toEqual(['reset ppo seed 5', 'play']);

    train(2);
    expect(calls).toHaveLength(2);
    train(1); // update 3 ends arm 1
    expect(calls).toEqual(['reset ppo seed 5', 'play', 'pause', 'reset reinforce seed 5']);
    expect(state.pinned.map((p) => [p.label, p.link, p.history.map((m) => m.update)])).toEqual([
      ['ppo', '#v=2&seed=5', [1, 2, 3]],
    ]);
    expect(runner.current?.arm).toBe(1);
    expect(state.hidden).toEqual(['beta']);
    expect(state.title).toBe('Fixture comparison');

    // The pause has not reached the worker yet: still playing, so no play for arm 2 until it is ready.
    runner.playWhenReady();
    expect(calls).toHaveLength(4);
    ready();
    train(3);
    expect(calls).toEqual(['reset ppo seed 5', 'play', 'pause', 'reset reinforce seed 5', 'play', 'pause']);
    expect(state.pinned.map((p) => [p.label, p.link, p.history.length])).toEqual([
      ['ppo', '#v=2&seed=5', 3],
      ['reinforce', '#v=2&algo=reinforce&seed=5&hide=beta', 3],
    ]);
    expect(runner.current).toBeUndefined();
    train(5); // the last arm may train on by hand
    expect(calls).toHaveLength(6);
    expect(state.pinned).toHaveLength(2);
  });

  it('plays a single-arm lesson on, and a user reset stops a comparison', () => {
    const single = setup();
    single.runner.open({ name: 'one', title: 'One', summary: '', link: '#v=2&seed=9', updates: 3 });
    expect(single.runner.current).toBeUndefined();
    single.ready();
    single.train(5);
    expect(single.calls).toEqual(['reset ppo seed 9', 'play']);
    expect(single.state.pinned).toEqual([]);

    const stopped = setup();
    stopped.runner.open(comparison);
    stopped.ready();
    stopped.runner.stop();
    stopped.train(5);
    expect(stopped.calls).toEqual(['reset ppo seed 5', 'play']);
    expect(stopped.state.pinned).toEqual([]);
  });
});

// `auto` measures: what a probe's timings amount to, the budget that abandons a slow probe, the choice,
// the badge's text, and the memory per device and model shape (a fake storage, fake timings and timers).
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/engine/config';
import { BackendMemory, MAX_ENTRIES, MEMORY_KEY, type StorageLike } from '../src/app/backend-memory';
import { PlaygroundState } from '../src/app/state.svelte';
import { applyEvent } from '../src/app/training-client.svelte';
import {
  MEASURE_BUDGET_MS,
  chooseFastest,
  describeChoice,
  findRemembered,
  measureConfig,
  runProbe,
  shapeKey,
  summarize,
  type BackendMeasurement,
  type BackendMemoryEntry,
  type ProbeEvent,
  type Timers,
} from '../src/worker/backend-measure';
import { isCommand } from '../src/worker/protocol';

const started: ProbeEvent = { type: 'started' };
const update = (ms: number): ProbeEvent => ({ type: 'update', ms });
const measured = (backend: BackendMeasurement['backend'], updatesPerSecond: number): BackendMeasurement => ({
  backend,
  outcome: 'measured',
  updatesPerSecond,
});

describe('a probe’s timings', () => {
  it('rates the two updates after the warm-up: 2 / (0.1 + 0.15 s) = 8 updates/s', () => {
    // The 3 s warm-up (shader compilation) does not count.
    expect(summarize('webgpu', [started, update(3000), update(100), update(150)], false)).toEqual(
      measured('webgpu', 8),
    );
    // Three significant figures: 2 / 0.303 s = 6.6006… → 6.6.
    expect(summarize('wasm', [started, update(400), update(151), update(152)], false).updatesPerSecond).toBe(6.6);
  });

  it('says how far a probe got when its budget ran out', () => {
    expect(summarize('webgl', [], true)).toEqual({
      backend: 'webgl',
      outcome: 'too-slow',
      note: '> 5 s: had not started',
    });
    expect(summarize('webgl', [started], true).note).toBe('> 5 s: first update not done');
    expect(summarize('webgl', [started, update(4000), update(900)], true, 8000).note).toBe(
      '> 8 s: 2 of 3 updates done',
    );
  });

  it('reports a failure with its message; a probe that stopped early without one failed too', () => {
    expect(summarize('webgpu', [{ type: 'error', message: 'no adapter' }], false)).toEqual({
      backend: 'webgpu',
      outcome: 'failed',
      note: 'no adapter',
    });
    expect(summarize('wasm', [started, update(5)], false).outcome).toBe('failed');
  });
});

/** Timers that run only when the test says time has passed. */
function fakeTimers() {
  let now = 0;
  const pending = new Map<number, { at: number; run: () => void }>();
  let next = 1;
  const timers: Timers = {
    setTimeout(run, ms) {
      pending.set(next, { at: now + ms, run });
      return next++;
    },
    clearTimeout(id) {
      pending.delete(id as number);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...pending]) {
      if (t.at <= now) {
        pending.delete(id);
        t.run();
      }
    }
  };
  return { timers, advance, pending };
}

describe('runProbe', () => {
  it('resolves when the probe has done its updates, terminates it and clears its timer', async () => {
    const { timers, pending } = fakeTimers();
    let terminated = 0;
    const result = runProbe(
      'wasm',
      (emit) => {
        for (const e of [started, update(300), update(120), update(130)]) emit(e);
        // A late event after the probe finished changes nothing.
        emit({ type: 'error', message: 'late' });
        return { terminate: () => terminated++ };
      },
      MEASURE_BUDGET_MS,
      timers,
    );
    expect(await result).toEqual(measured('wasm', 8));
    expect(terminated).toBe(1);
    expect(pending.size).toBe(0);
  });

  it('abandons a probe whose budget runs out mid-update, terminating it (a GPU compiling shaders)', async () => {
    const { timers, advance } = fakeTimers();
    let emit: (e: ProbeEvent) => void = () => {};
    let terminated = 0;
    const result = runProbe(
      'webgpu',
      (e) => {
        emit = e;
        return { terminate: () => terminated++ };
      },
      5000,
      timers,
    );
    emit(started);
    advance(4999);
    expect(terminated).toBe(0);
    advance(1);
    expect(await result).toEqual({ backend: 'webgpu', outcome: 'too-slow', note: '> 5 s: first update not done' });
    expect(terminated).toBe(1);
    // The update that lands after the budget is ignored.
    emit(update(90_000));
    expect(terminated).toBe(1);
  });

  it('records a probe that cannot even be launched as failed', async () => {
    const { timers, pending } = fakeTimers();
    const result = await runProbe(
      'webgl',
      () => {
        throw new Error('no nested workers');
      },
      5000,
      timers,
    );
    expect(result).toEqual({ backend: 'webgl', outcome: 'failed', note: 'no nested workers' });
    expect(pending.size).toBe(0);
  });
});

describe('the choice', () => {
  it('picks wasm when WebGPU is slower for this tiny model, WebGPU when it is faster', () => {
    const wasm = measured('wasm', 8);
    expect(chooseFastest([wasm, measured('webgpu', 3.2)])).toBe('wasm');
    expect(chooseFastest([wasm, measured('webgpu', 12)])).toBe('webgpu');
    // A backend that did not finish never wins, however it compares.
    expect(chooseFastest([wasm, { backend: 'webgl', outcome: 'too-slow', note: '> 5 s' }])).toBe('wasm');
  });

  it('breaks ties by the usual order and picks nothing when nothing was measured', () => {
    expect(chooseFastest([measured('wasm', 5), measured('webgl', 5)])).toBe('webgl');
    expect(chooseFastest([{ backend: 'wasm', outcome: 'failed', note: 'x' }])).toBeUndefined();
  });

  it('lists every backend in the badge, fastest first', () => {
    const entry: BackendMemoryEntry = {
      device: 'd',
      shape: 's',
      backend: 'wasm',
      date: '2025-03-04T05:06:07.000Z',
      measurements: [
        { backend: 'webgpu', outcome: 'skipped', note: 'software adapter' },
        { backend: 'webgl', outcome: 'too-slow', note: '> 5 s: first update not done' },
        measured('wasm', 6.1),
        measured('cpu', 0.84),
      ],
    };
    expect(describeChoice(entry)).toBe(
      'auto picked wasm: wasm 6.1 updates/s, cpu 0.8 updates/s, webgl too slow (> 5 s: first update not done), ' +
        'webgpu skipped (software adapter)',
    );
    expect(describeChoice(entry, true)).toMatch(
      /^auto picked wasm \(measured 2025-03-04; .*measure again.*\): wasm 6\.1/,
    );
    const none = { ...entry, measurements: entry.measurements.filter((m) => m.outcome !== 'measured') };
    expect(describeChoice(none)).toMatch(/^auto: no backend finished its updates within 5 s, so wasm/);
  });
});

describe('the measured configuration and its memory key', () => {
  it('keys on the model shape, batch and algorithm, not on settings that leave the speed alone', () => {
    const config = defaultConfig();
    expect(shapeKey(config)).toBe('dModel=32&nLayers=1&nHeads=2&contextLength=10&batchSize=128&algorithm=ppo');
    expect(shapeKey({ ...config, learningRate: 0.01, seed: 7, sftSteps: 500 })).toBe(shapeKey(config));
    expect(shapeKey({ ...config, batchSize: 64 })).not.toBe(shapeKey(config));
  });

  it('measures without the stages before RL', () => {
    const m = measureConfig({ ...defaultConfig(), sftSteps: 300, dModel: 64 });
    expect([m.sftSteps, m.rmSteps, m.comparisons, m.dModel]).toEqual([0, 1, 8, 64]);
  });
});

function fakeStorage(initial?: string) {
  const items = new Map<string, string>(initial === undefined ? [] : [[MEMORY_KEY, initial]]);
  const storage: StorageLike = {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
  };
  return { storage, items };
}

const entry = (device: string, shape: string, backend: BackendMemoryEntry['backend'] = 'wasm'): BackendMemoryEntry => ({
  device,
  shape,
  backend,
  date: '2025-01-01T00:00:00.000Z',
  measurements: [measured(backend, 7)],
});

describe('the memory (localStorage)', () => {
  it('remembers per device and shape; a new measurement replaces the old one of the same pair', () => {
    const { storage } = fakeStorage();
    const memory = new BackendMemory(storage);
    memory.remember(entry('laptop', 'A'));
    memory.remember(entry('laptop', 'B'));
    memory.remember(entry('desktop', 'A', 'webgpu'));
    memory.remember(entry('laptop', 'A', 'webgl'));
    const all = memory.entries();
    expect(all.map((e) => `${e.device}/${e.shape}/${e.backend}`)).toEqual([
      'laptop/B/wasm',
      'desktop/A/webgpu',
      'laptop/A/webgl',
    ]);
    expect(findRemembered(all, 'laptop', 'A')?.backend).toBe('webgl');
    expect(findRemembered(all, 'desktop', 'A')?.backend).toBe('webgpu');
    expect(findRemembered(all, 'desktop', 'B')).toBeUndefined();
  });

  it('forgets a shape on every device (measure again), keeping the other shapes', () => {
    const { storage } = fakeStorage();
    const memory = new BackendMemory(storage);
    for (const e of [entry('laptop', 'A'), entry('desktop', 'A'), entry('laptop', 'B')]) memory.remember(e);
    memory.forgetShape('A');
    expect(memory.entries().map((e) => `${e.device}/${e.shape}`)).toEqual(['laptop/B']);
  });

  it(`keeps the newest ${MAX_ENTRIES} entries`, () => {
    const { storage } = fakeStorage();
    const memory = new BackendMemory(storage);
    for (let i = 0; i < MAX_ENTRIES + 3; i++) memory.remember(entry('d', `shape${i}`));
    const shapes = memory.entries().map((e) => e.shape);
    expect(shapes).toHaveLength(MAX_ENTRIES);
    expect(shapes[0]).toBe('shape3');
    expect(shapes.at(-1)).toBe(`shape${MAX_ENTRIES + 2}`);
  });

  it('ignores what it cannot read and never throws', () => {
    expect(new BackendMemory(fakeStorage('{not json').storage).entries()).toEqual([]);
    expect(new BackendMemory(fakeStorage('{"a":1}').storage).entries()).toEqual([]);
    const mixed = JSON.stringify([entry('d', 'A'), { device: 'd', shape: 'B', backend: 'tpu' }, null]);
    expect(new BackendMemory(fakeStorage(mixed).storage).entries().map((e) => e.shape)).toEqual(['A']);
    const full: StorageLike = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(() => new BackendMemory(full).remember(entry('d', 'A'))).not.toThrow();
    expect(new BackendMemory(undefined).entries()).toEqual([]);
    expect(findRemembered('nope', 'd', 'A')).toBeUndefined();
  });
});

describe('protocol and state', () => {
  it('accepts the remembered choices with a reset or restore, and probes for one named backend', () => {
    const config = defaultConfig();
    expect(isCommand({ type: 'reset', config, backend: 'auto', backendMemory: [entry('d', 'A')] })).toBe(true);
    expect(isCommand({ type: 'reset', config, backend: 'auto', backendMemory: 'all' })).toBe(false);
    expect(isCommand({ type: 'restore', runId: 'r', backend: 'auto', measureSoftware: true })).toBe(true);
    expect(isCommand({ type: 'restore', runId: 'r', backend: 'auto', measureSoftware: 'yes' })).toBe(false);
    expect(isCommand({ type: 'probe', config, backend: 'webgl' })).toBe(true);
    expect(isCommand({ type: 'probe', config, backend: 'auto' })).toBe(false);
  });

  it('shows "measuring" only while the worker says so', () => {
    const state = new PlaygroundState();
    applyEvent(state, { type: 'status', state: 'starting', measuring: 'webgl (2 of 3)' });
    expect(state.measuring).toBe('webgl (2 of 3)');
    applyEvent(state, { type: 'status', state: 'pretraining', backend: 'wasm', backendReason: 'auto picked wasm' });
    expect(state.measuring).toBe('');
    expect(state.backend).toBe('wasm');
  });
});

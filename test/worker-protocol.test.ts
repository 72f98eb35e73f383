// The worker protocol: which messages the worker accepts, and how events fold into the UI state.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/engine/config';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import { applyEvent } from '../src/app/training-client.svelte';
import { PlaygroundState, rate } from '../src/app/state.svelte';
import { isCommand } from '../src/worker/protocol';

function metrics(update: number, time: number): Metrics {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, 0])) as Metrics;
  return { ...m, update, time_s: time, 'reward/score': update / 10 };
}

describe('isCommand', () => {
  it.each([
    [{ type: 'play' }, true],
    [{ type: 'pause' }, true],
    [{ type: 'step' }, true],
    [{ type: 'step', explain: true }, true],
    [{ type: 'step', explain: 'yes' }, false],
    [{ type: 'reset', config: defaultConfig(), backend: 'auto' }, true],
    [{ type: 'reset', config: defaultConfig(), backend: 'tpu' }, false],
    [{ type: 'reset', backend: 'wasm' }, false],
    [{ type: 'set', key: 'learningRate', value: 0.001 }, true],
    [{ type: 'set', value: 1 }, false],
    [{ type: 'inspect', prefix: ['<bos>', 'a'] }, true],
    [{ type: 'inspect', prefix: [1, 2] }, false],
    [{ type: 'explode' }, false],
    [null, false],
    ['play', false],
  ])('%j -> %s', (message, expected) => {
    expect(isCommand(message)).toBe(expected);
  });
});

describe('UI state from worker events', () => {
  it('folds status, metrics, problems and distributions into the state', () => {
    const state = new PlaygroundState();
    applyEvent(state, {
      type: 'status',
      state: 'pretraining',
      backend: 'wasm',
      backendReason: 'wasm as requested',
      progress: 0.4,
    });
    expect([state.runState, state.backend, state.pretrainProgress]).toEqual(['pretraining', 'wasm', 0.4]);
    applyEvent(state, { type: 'metrics', metrics: metrics(1, 1.0), samples: [] });
    applyEvent(state, { type: 'metrics', metrics: metrics(2, 1.5), samples: [] });
    expect(state.history.map((m) => m.update)).toEqual([1, 2]);
    expect(state.latest?.['reward/score']).toBe(0.2);
    applyEvent(state, { type: 'problem', severity: 'warning', message: 'careful' });
    applyEvent(state, { type: 'problem', severity: 'warning', message: 'careful' });
    expect(state.notices.map((n) => n.message)).toEqual(['careful']);
    state.dismissNotice(state.notices[0].id);
    expect(state.notices).toEqual([]);
    applyEvent(state, {
      type: 'distribution',
      prefix: ['<bos>'],
      tokens: ['a', 'b'],
      policy: [0.9, 0.1],
      reference: [0.5, 0.5],
    });
    expect(state.distribution?.policy).toEqual([0.9, 0.1]);
    state.clearRun();
    expect([state.history.length, state.distribution]).toEqual([0, undefined]);
  });

  it('drops a late update of the run a reset replaced, so the new run starts empty (and can autoplay)', () => {
    const state = new PlaygroundState();
    state.runId = 'old';
    applyEvent(state, { type: 'metrics', runId: 'old', metrics: metrics(180, 1.0), samples: [] });
    // The app resets: a new run id, cleared charts; the update in flight then reports.
    state.runId = 'new';
    state.clearRun();
    applyEvent(state, { type: 'metrics', runId: 'old', metrics: metrics(181, 1.5), samples: [] });
    expect(state.history).toEqual([]);
    applyEvent(state, { type: 'metrics', runId: 'new', metrics: metrics(1, 2.0), samples: [] });
    expect(state.history.map((m) => m.update)).toEqual([1]);
  });

  it('keeps at most 5 notices, newest last', () => {
    const state = new PlaygroundState();
    for (let i = 0; i < 8; i++) state.addNotice('warning', `n${i}`);
    expect(state.notices.map((n) => n.message)).toEqual(['n3', 'n4', 'n5', 'n6', 'n7']);
  });

  it('computes updates/s over the last 10 updates from their time stamps', () => {
    expect(rate([])).toBe(0);
    const history = Array.from({ length: 15 }, (_, i) => metrics(i + 1, i * 0.5)); // 2 updates per second
    expect(rate(history)).toBeCloseTo(2, 12);
  });
});

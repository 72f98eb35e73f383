// Shared set-up for engine tests: a started backend and a helper that trains until a condition holds.
import type { BackendName } from '../../src/engine/backend';
import { useBackend } from '../../src/engine/backend';
import type { Metrics } from '../../src/engine/metrics';
import { tf } from '../../src/engine/tf';
import { createTrainer, type Trainer } from '../../src/engine/trainer';

export async function startBackend(name: BackendName): Promise<void> {
  const choice = await useBackend(name);
  if (choice.name !== name) throw new Error(`wanted ${name}, got ${choice.reason}`);
}

export interface Run {
  history: Metrics[];
  /** First update at which the mean score over the last `window` updates reached the threshold. */
  reachedAt: number | undefined;
}

/** Trains up to `maxUpdates`, stopping once the `window`-update mean score reaches `threshold`. */
export async function trainUntil(
  config: Record<string, unknown>,
  threshold: number,
  maxUpdates: number,
  window = 5,
): Promise<Run> {
  const trainer: Trainer = createTrainer(config);
  const history: Metrics[] = [];
  try {
    for (let i = 0; i < maxUpdates; i++) {
      history.push((await trainer.step()).metrics);
      if (history.length >= window && meanOf(history.slice(-window), 'reward/score') >= threshold) {
        return { history, reachedAt: history.length };
      }
    }
    return { history, reachedAt: undefined };
  } finally {
    trainer.dispose();
  }
}

export function meanOf(rows: readonly Metrics[], name: keyof Metrics): number {
  return rows.reduce((s, m) => s + m[name], 0) / rows.length;
}

/**
 * Trains `updates` updates and returns the live tensor count after update `from` and after the last:
 * equal when nothing leaks (the first updates may still create lasting state, e.g. compiled kernels).
 */
export async function tensorCounts(
  config: Record<string, unknown>,
  updates: number,
  from = 1,
): Promise<[number, number]> {
  const trainer = createTrainer(config);
  try {
    let atFrom = -1;
    for (let update = 1; update <= updates; update++) {
      await trainer.step();
      if (update === from) atFrom = tf.memory().numTensors;
    }
    return [atFrom, tf.memory().numTensors];
  } finally {
    trainer.dispose();
  }
}

/**
 * Every update's metrics but the timings (perf/…, time_s) over `updates` updates of a fresh trainer:
 * what two ways of computing the same run must agree on, number for number.
 */
export async function metricsOfUpdates(
  config: Record<string, unknown>,
  updates: number,
): Promise<Record<string, number>[]> {
  const trainer = createTrainer(config);
  try {
    const metrics: Record<string, number>[] = [];
    for (let update = 0; update < updates; update++) {
      const step = (await trainer.step()).metrics;
      metrics.push(
        Object.fromEntries(Object.entries(step).filter(([name]) => !name.startsWith('perf/') && name !== 'time_s')),
      );
    }
    return metrics;
  } finally {
    trainer.dispose();
  }
}

// Watches a run's metric history for the two signs of a collapse a student should be told about in
// one sentence: the policy has stopped exploring (entropy ≈ 0 for many updates), or the score fell
// sharply after the task was solved. Plain numbers, no TensorFlow.js: the UI imports it.
import type { Metrics } from './metrics';

/** Updates the entropy must stay below the floor before the watch speaks. */
export const FLAT_ENTROPY_UPDATES = 50;
/** Nats per token: below this the policy writes (almost) one fixed answer. */
export const ENTROPY_FLOOR = 0.02;
/** Updates per window when comparing a plateau with the latest score. */
export const SCORE_WINDOW = 20;
/** A plateau this good counts as solved, and a fall by this much from it as a collapse. */
export const SOLVED_SCORE = 0.9;
export const SCORE_FALL = 0.2;

export type HealthWarning =
  | { kind: 'entropy'; message: string; since: number }
  | { kind: 'score-drop'; message: string; from: number; to: number };

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

/**
 * The first warning that applies to the history (oldest first), or undefined. The score fall is the
 * stronger sign and is reported first; `lesson` names where the phenomenon is taught.
 */
export function runHealth(history: readonly Metrics[], lesson = 'Mode collapse'): HealthWarning | undefined {
  const n = history.length;
  if (n >= 2 * SCORE_WINDOW) {
    const scores = history.map((m) => m['reward/score']);
    const latest = mean(scores.slice(n - SCORE_WINDOW));
    // The best earlier window (ending before the latest one starts), by a running sum.
    let sum = 0;
    let best = -Infinity;
    for (let i = 0; i < n - SCORE_WINDOW; i++) {
      sum += scores[i] - (i >= SCORE_WINDOW ? scores[i - SCORE_WINDOW] : 0);
      if (i >= SCORE_WINDOW - 1) best = Math.max(best, sum / SCORE_WINDOW);
    }
    if (best >= SOLVED_SCORE && latest <= best - SCORE_FALL) {
      return {
        kind: 'score-drop',
        from: best,
        to: latest,
        message: `The score fell from ${best.toFixed(2)} to ${latest.toFixed(2)} after the task was solved: the policy collapsed (see the lesson “${lesson}”).`,
      };
    }
  }
  if (n >= FLAT_ENTROPY_UPDATES) {
    const recent = history.slice(n - FLAT_ENTROPY_UPDATES).map((m) => m['policy/entropy']);
    if (recent.every((h) => Number.isFinite(h) && h < ENTROPY_FLOOR)) {
      return {
        kind: 'entropy',
        since: history[n - FLAT_ENTROPY_UPDATES].update,
        message: `For ${FLAT_ENTROPY_UPDATES} updates the policy has written almost the same answer every time (entropy ${mean(recent).toFixed(3)} nats per token): it no longer explores, and one bad step can leave it stuck (see the lesson “${lesson}”).`,
      };
    }
  }
  return undefined;
}

// The collapse watch: silent on a healthy run, one sentence on a flat entropy or a fall after solving.
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, type Metrics } from '../src/engine/metrics';
import { ENTROPY_FLOOR, FLAT_ENTROPY_UPDATES, runHealth, SCORE_WINDOW } from '../src/engine/run-health';

/** A history with the given scores and entropies per update (other metrics NaN). */
function history(scores: number[], entropy: (i: number) => number = () => 0.5): Metrics[] {
  return scores.map((score, i) => {
    const m = Object.fromEntries(METRIC_NAMES.map((k) => [k, Number.NaN])) as Metrics;
    m.update = i + 1;
    m['reward/score'] = score;
    m['policy/entropy'] = entropy(i);
    return m;
  });
}

describe('runHealth', () => {
  it('says nothing about a run that learns and stays learned, or a short one', () => {
    const rising = Array.from({ length: 300 }, (_, i) => Math.min(1, i / 100));
    expect(runHealth(history(rising))).toBeUndefined();
    expect(runHealth(history([0.9, 0.1]))).toBeUndefined();
  });

  it('reports a fall of 0.2 or more from a solved plateau, with both window means', () => {
    const scores = [...Array(100).fill(0.98), ...Array(SCORE_WINDOW).fill(0.6)];
    const warning = runHealth(history(scores));
    expect(warning).toMatchObject({ kind: 'score-drop', from: expect.closeTo(0.98, 9), to: expect.closeTo(0.6, 9) });
    expect(warning?.message).toBe(
      'The score fell from 0.98 to 0.60 after the task was solved: the policy collapsed (see the lesson “Mode collapse”).',
    );
    // 0.15 below the plateau is noise, not a collapse; a plateau of 0.8 was never solved.
    expect(runHealth(history([...Array(100).fill(0.98), ...Array(SCORE_WINDOW).fill(0.83)]))).toBeUndefined();
    expect(runHealth(history([...Array(100).fill(0.8), ...Array(SCORE_WINDOW).fill(0.3)]))).toBeUndefined();
  });

  it(`reports entropy below ${ENTROPY_FLOOR} nats for ${FLAT_ENTROPY_UPDATES} updates in a row, and not for one fewer`, () => {
    const scores = Array(200).fill(0.5);
    const flatFor = (k: number) => (i: number) => (i >= 200 - k ? 0.01 : 0.4);
    expect(runHealth(history(scores, flatFor(FLAT_ENTROPY_UPDATES)))).toMatchObject({ kind: 'entropy', since: 151 });
    expect(runHealth(history(scores, flatFor(FLAT_ENTROPY_UPDATES - 1)))).toBeUndefined();
  });
});

// A challenge's goal (`goal=metric>=x@N` with `limit=` in a lesson link), checked from the metrics a run
// already has: live in the app and by `npm run train -- --check-goal`. One rule for both: the mean of the
// metric over the last GOAL_WINDOW updates (fewer while the run is shorter) must reach the threshold at
// some update within the budget, with every limit kept while the run trained.
import { FIELD_BY_KEY, type Config } from '../engine/config';
import type { Metrics } from '../engine/metrics';
import type { Goal, Limit } from '../share/lesson-link';

/** Updates averaged: one lucky batch does not meet a goal. The sweep's and the lessons' rule too. */
export const GOAL_WINDOW = 5;

export interface GoalStatus {
  state: 'waiting' | 'running' | 'met' | 'missed' | 'broken';
  /** Updates trained so far (at most the budget counts). */
  update: number;
  /** The windowed mean at `update` (at the meeting update once met); NaN before any update. */
  value: number;
  /** One line for people, e.g. "score 0.84 at update 63 of 100". */
  text: string;
}

/** A metric's short name in sentences: "score" for reward/score, else the metric's own name. */
export function metricLabel(metric: string): string {
  return metric === 'reward/score' ? 'score' : metric;
}

const fmt = (x: number) => (Number.isFinite(x) ? String(Number(x.toFixed(3))) : '—');
const opText = (op: string) => (op === '>=' ? '≥' : op === '<=' ? '≤' : '=');

/** "score ≥ 0.9 within 100 updates" */
export function describeGoal(goal: Goal): string {
  return `${metricLabel(goal.metric)} ${opText(goal.op)} ${goal.threshold} within ${goal.updates} updates`;
}

/** "beta ≤ 0.05" */
export function describeLimit(limit: Limit): string {
  return `${limit.key} ${opText(limit.op)} ${limit.value}`;
}

/** "score ≥ 0.9 within 100 updates, keeping beta ≤ 0.05 and algorithm = ppo" */
export function describeChallenge(goal: Goal, limits: readonly Limit[]): string {
  const kept = limits.length > 0 ? `, keeping ${limits.map(describeLimit).join(' and ')}` : '';
  return `${describeGoal(goal)}${kept}`;
}

/** The first limit these settings break, as a sentence, or undefined when all hold. */
export function brokenLimit(limits: readonly Limit[], config: Config): string | undefined {
  for (const limit of limits) {
    const field = FIELD_BY_KEY.get(limit.key);
    const value = config[limit.key];
    const held =
      limit.op === '='
        ? String(value) === limit.value
        : field?.kind === 'number' &&
          (limit.op === '<=' ? Number(value) <= Number(limit.value) : Number(value) >= Number(limit.value));
    if (!held) return `${limit.key} is ${String(value)}, but the challenge needs ${describeLimit(limit)}`;
  }
  return undefined;
}

function windowMean(history: readonly Metrics[], goal: Goal, end: number): number {
  const rows = history.slice(Math.max(0, end - GOAL_WINDOW), end);
  let sum = 0;
  for (const row of rows) sum += row[goal.metric];
  return rows.length > 0 ? sum / rows.length : Number.NaN;
}

const reached = (goal: Goal, x: number) => (goal.op === '>=' ? x >= goal.threshold : x <= goal.threshold);

/**
 * Where a run stands against the goal. `broken` (a limit the run did not keep, from `brokenLimit`) ends
 * the challenge unmet whatever the metric does.
 */
export function goalStatus(goal: Goal, history: readonly Metrics[], broken?: string): GoalStatus {
  const name = metricLabel(goal.metric);
  if (broken !== undefined) {
    const update = Math.min(history.length, goal.updates);
    return { state: 'broken', update, value: windowMean(history, goal, update), text: `Not met: ${broken}.` };
  }
  if (history.length === 0)
    return {
      state: 'waiting',
      update: 0,
      value: Number.NaN,
      text: 'Not started: the check begins with the first update.',
    };
  // Met at the first update whose window (full, or all the budget allows) reaches the threshold.
  const first = Math.min(GOAL_WINDOW, goal.updates);
  const last = Math.min(history.length, goal.updates);
  for (let u = first; u <= last; u++) {
    const value = windowMean(history, goal, u);
    if (reached(goal, value))
      return {
        state: 'met',
        update: u,
        value,
        text: `Met: ${name} ${fmt(value)} at update ${u} of ${goal.updates} (goal ${opText(goal.op)} ${goal.threshold}, mean of the last ${Math.min(GOAL_WINDOW, u)} updates).`,
      };
  }
  const value = windowMean(history, goal, last);
  if (history.length >= goal.updates)
    return {
      state: 'missed',
      update: last,
      value,
      text: `Not met: ${name} ${fmt(value)} at update ${last} of ${goal.updates}; the goal was ${opText(goal.op)} ${goal.threshold}.`,
    };
  return {
    state: 'running',
    update: last,
    value,
    text: `${name} ${fmt(value)} at update ${last} of ${goal.updates} (goal ${opText(goal.op)} ${goal.threshold}).`,
  };
}

// The task registry: every task's spec, in the order the task menu lists them. A new task is its file
// (the task and its spec) plus one line here. Free of TensorFlow.js and of runtime imports from
// config.ts (which builds the `task` setting from this list).
import { calculator } from './calculator';
import { chain } from './chain';
import { guess } from './guess';
import { preference } from './preference';
import { retry } from './retry';
import { reverse } from './reverse';
import { sort } from './sort';
import type { TaskSpec } from './spec';
import { target } from './target';

export const TASK_SPECS = { target, reverse, sort, preference, guess, calculator, retry, chain } as const;

export type TaskName = keyof typeof TASK_SPECS;

export const TASKS = Object.keys(TASK_SPECS) as readonly TaskName[];

export function taskSpec(name: TaskName): TaskSpec<TaskName> {
  return TASK_SPECS[name];
}

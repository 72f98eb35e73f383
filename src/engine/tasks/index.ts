// Building a task for a run: the registry's spec for `config.task` makes its vocabulary and the task.
import type { Config } from '../config';
import { taskSpec } from './registry';
import type { Task } from './task';

export type { Task } from './task';
export { TASKS, TASK_SPECS, taskSpec, type TaskName } from './registry';

export function createTask(config: Config): Task {
  const spec = taskSpec(config.task);
  return spec.create(spec.vocabulary(config), config);
}

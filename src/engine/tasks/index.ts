// The task registry: one constructor per task name.
import { alphabet, type Config, type TaskName } from '../config';
import { Vocabulary } from '../tokens';
import { preferenceTask } from './preference';
import { reverseTask } from './reverse';
import { sortTask } from './sort';
import { targetTask } from './target';
import type { Task, TaskSettings } from './task';

export type { Task } from './task';

const REGISTRY: Record<TaskName, (vocab: Vocabulary, settings: TaskSettings) => Task> = {
  target: targetTask,
  reverse: reverseTask,
  sort: sortTask,
  preference: preferenceTask,
};

export function createTask(config: Config): Task {
  return REGISTRY[config.task](new Vocabulary(alphabet(config.alphabetSize)), config);
}

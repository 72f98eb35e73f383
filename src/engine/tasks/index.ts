// The task registry: one constructor per task name.
import { alphabet, type Config, type TaskName } from '../config';
import { Vocabulary } from '../tokens';
import { calculatorTask, calculatorVocabulary } from './calculator';
import { guessTask, GUESS_OBSERVATIONS } from './guess';
import { preferenceTask } from './preference';
import { retryTask, retryVocabulary } from './retry';
import { reverseTask } from './reverse';
import { sortTask } from './sort';
import { targetTask } from './target';
import type { Task } from './task';

export type { Task } from './task';

const REGISTRY: Record<TaskName, (vocab: Vocabulary, settings: Config) => Task> = {
  target: targetTask,
  reverse: reverseTask,
  sort: sortTask,
  preference: preferenceTask,
  guess: guessTask,
  calculator: calculatorTask,
  retry: retryTask,
};

/** Letters, then tokens only an environment writes (calculator's letters are the digits). */
function vocabularyFor(config: Config): Vocabulary {
  const letters = alphabet(config.alphabetSize);
  if (config.task === 'guess') return new Vocabulary(letters, [...GUESS_OBSERVATIONS]);
  if (config.task === 'calculator') return calculatorVocabulary();
  if (config.task === 'retry') return retryVocabulary(letters, config.promptLength);
  return new Vocabulary(letters);
}

export function createTask(config: Config): Task {
  return REGISTRY[config.task](vocabularyFor(config), config);
}

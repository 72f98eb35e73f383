// sort: the prompt is random letters; the answer is the same letters in alphabetical order ("cab" -> "abc").
import type { TaskSpec } from './spec';
import { promptTransformTask } from './task';

export const sort: TaskSpec<'sort'> = promptTransformTask('sort', 'sort: the prompt in alphabetical order', (prompt) =>
  [...prompt].sort((a, b) => a - b),
);

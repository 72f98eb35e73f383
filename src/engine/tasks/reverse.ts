// reverse: the prompt is random letters; the answer is the prompt backwards ("abc" -> "cba").
import type { TaskSpec } from './spec';
import { promptTransformTask } from './task';

export const reverse: TaskSpec<'reverse'> = promptTransformTask('reverse', 'reverse: the prompt backwards', (prompt) =>
  [...prompt].reverse(),
);

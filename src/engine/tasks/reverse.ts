// reverse: the prompt is random letters; the answer is the prompt backwards ("abc" -> "cba").
import type { TaskSpec } from './spec';
import {
  formatDemoOfLength,
  letterVocabulary,
  randomLetters,
  scoreResponse,
  type Task,
  type TaskSettings,
  lettersAndEos,
} from './task';
import type { Vocabulary } from '../tokens';

export function reverseTask(vocab: Vocabulary, settings: TaskSettings): Task {
  return {
    name: 'reverse',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: (rng) => randomLetters(vocab, settings.promptLength, rng),
    expected: (prompt) => [...prompt].reverse(),
    score: (prompt, response) =>
      scoreResponse(response, [...prompt].reverse(), settings.scoring, settings.maxNewTokens),
    formatDemo: (prompt, rng) => formatDemoOfLength(vocab, prompt.length, rng),
  };
}

export const reverse: TaskSpec<'reverse'> = {
  name: 'reverse',
  help: 'reverse: the prompt backwards',
  usesRewardModel: false,
  hasPrompt: true,
  promptTokens: (c) => c.promptLength,
  minAnswer: (c) => c.promptLength,
  vocabulary: letterVocabulary,
  create: reverseTask,
};

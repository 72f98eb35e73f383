// sort: the prompt is random letters; the answer is the same letters in alphabetical order ("cab" -> "abc").
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

const sorted = (prompt: readonly number[]): number[] => [...prompt].sort((a, b) => a - b);

export function sortTask(vocab: Vocabulary, settings: TaskSettings): Task {
  return {
    name: 'sort',
    vocab,
    actions: lettersAndEos(vocab),
    prompt: (rng) => randomLetters(vocab, settings.promptLength, rng),
    expected: sorted,
    score: (prompt, response) => scoreResponse(response, sorted(prompt), settings.scoring, settings.maxNewTokens),
    formatDemo: (prompt, rng) => formatDemoOfLength(vocab, prompt.length, rng),
  };
}

export const sort: TaskSpec<'sort'> = {
  name: 'sort',
  help: 'sort: the prompt in alphabetical order',
  usesRewardModel: false,
  hasPrompt: true,
  promptTokens: (c) => c.promptLength,
  minAnswer: (c) => c.promptLength,
  vocabulary: letterVocabulary,
  create: sortTask,
};
